// shiftup is published as ES modules only: `require("shiftup")` (or any of its subpaths) lands
// here and says what to write instead, rather than failing somewhere inside a dependency.
const message =
  'shiftup is an ES module package and cannot be loaded with require(): write `import { Experiment } from "shiftup"` in an ES module (a .mts file, or a package.json with "type": "module"), or `const { Experiment } = await import("shiftup")` in CommonJS'
throw Object.assign(new Error(message), { code: "ERR_REQUIRE_ESM" })
