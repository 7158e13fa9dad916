// Fails at once, with one line saying what to install, when this Node.js is older than
// package.json's `engines.node`. The CLI and every library entry import it first, before any
// dependency: undici 8 dies at import on Node 20 with a stack trace that says nothing of the
// cause. Plain JavaScript with no dependencies, so that it runs on any Node that loads ES modules.
// (Not `import … from "node:fs"`: an ES import of a built-in reads all its exports, and node:fs's
// lazy ones load its streams, promises and readline, ~5 ms at every start of the CLI.)
import { createRequire } from "node:module"

const wanted = createRequire(import.meta.url)("../package.json").engines.node
const [major, minor] = process.versions.node.split(".").map(Number)
const [needMajor, needMinor = 0] = wanted.replace(/^>=\s*/, "").split(".").map(Number)
if (major < needMajor || (major === needMajor && minor < needMinor)) {
  const message = `shiftup needs Node.js ${needMajor}.${needMinor} or newer (this is ${process.version}); install a current Node.js, e.g. 24 LTS`
  // The stack would only point here: the message is the whole story.
  throw Object.assign(new Error(message), { stack: message, code: "SHIFTUP_NODE_TOO_OLD" })
}
