// `npm run build` (and `npm pack`, through prepack) makes two things:
//
// - dist/: the library as users import it, one module per source file, with declarations,
//   declaration maps and source maps (their sources, src/, ship in the package). Each
//   `import { Effect, Schema } from "effect"` is pointed at Effect's own modules (`effect/Effect`,
//   `effect/Schema`): the barrel loads every module of Effect. Same module instances either way,
//   so a user's `import { Effect } from "effect"` mixes with shiftup's as one copy.
// - dist/bundle/: what the `shiftup` command runs, the same entries bundled by esbuild with
//   Effect and undici tree-shaken inside. Loading ~100 of shiftup's files and ~300 of Effect's
//   one by one is most of a CLI run's start-up (a 1-probe run: ~0.86 s of CPU from dist/, ~0.43 s
//   bundled, `npm run bench -- cli`). Experiment files the CLI loads get this copy of shiftup
//   (bin/shiftup.js maps the specifiers); Effect values they build with their own `effect` run
//   on the bundle's, as Effect 4 keys its types by strings, not by module identity.
import { build } from "esbuild"
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../", import.meta.url))
const dist = join(root, "dist")
rmSync(dist, { recursive: true, force: true })
execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", join(root, "tsconfig.build.json")], { stdio: "inherit" })

const effectDist = dirname(createRequire(join(root, "package.json")).resolve("effect"))
const barrel = /^import \{([^}]*)\} from "effect";$/gm
const files = readdirSync(dist, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js"))
let rewritten = 0
for (const file of files) {
  const path = join(dist, file)
  const code = readFileSync(path, "utf8")
  // One line in, one line out: the source maps stay right.
  const out = code.replace(barrel, (_, names) =>
    names
      .split(",")
      .map((n) => n.trim())
      .filter((n) => n !== "")
      .map((n) => {
        const [name, local = name] = n.split(/\s+as\s+/)
        if (!existsSync(join(effectDist, `${name}.js`))) throw new Error(`${file}: "${name}" is not a module of effect; import it from its module (e.g. effect/Function)`)
        return `import * as ${local} from "effect/${name}";`
      })
      .join(" "),
  )
  if (out !== code) {
    rewritten++
    writeFileSync(path, out)
  }
}
if (/from "effect";/.test(files.map((f) => readFileSync(join(dist, f), "utf8")).join("\n"))) throw new Error("an import of the effect barrel is left in dist/ (a form this script does not rewrite)")
console.log(`dist/: ${files.length} modules, ${rewritten} pointed at Effect's own modules`)

const entries = ["cli/start", "index", "advanced/index", "http/index", "net/index", "docker/index", "report/index", "testing/index", "vitest/index"]
const result = await build({
  absWorkingDir: root,
  entryPoints: entries.map((e) => `src/${e}.ts`),
  outdir: "dist/bundle",
  outbase: "src",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  // Loaded only where needed, from the user's install: Docker, tsx for experiment files Node
  // cannot strip, fast-check for fuzzing, vitest for shiftup/vitest.
  external: ["dockerode", "tsx", "tsx/*", "fast-check", "vitest"],
  // No source maps: Effect's sources would not resolve from an installed package.
  minifySyntax: true,
  minifyWhitespace: true,
  // undici is CommonJS: its `require("node:…")` calls need a require inside an ES module.
  banner: { js: 'import { createRequire as __shiftupRequire } from "node:module"; const __shiftupNodeRequire = __shiftupRequire(import.meta.url), require = __shiftupNodeRequire;' },
  plugins: [
    {
      name: "lean-undici",
      setup: (b) => void b.onResolve({ filter: /^undici$/ }, () => ({ path: join(root, "scripts", "undici-lean.cjs") })),
    },
    {
      // `import * as http from "node:http"` makes Node read every export of node:http, and one
      // of them loads Node's own copy of undici (~25 ms); through require they stay lazy.
      name: "node-http-by-require",
      setup: (b) => {
        b.onResolve({ filter: /^node:http$/ }, (args) => (args.kind === "import-statement" ? { path: "node:http", namespace: "required" } : undefined))
        b.onLoad({ filter: /.*/, namespace: "required" }, (args) => ({ contents: `module.exports = __shiftupNodeRequire(${JSON.stringify(args.path)})`, loader: "js" }))
      },
    },
    {
      // The bin checks the Node version before it loads the bundle; the check's own path
      // (bin/, next to package.json) does not hold from dist/bundle/.
      name: "node-version-checked-by-bin",
      setup: (b) => {
        b.onResolve({ filter: /\/bin\/assert-node\.js$/ }, () => ({ path: "assert-node", namespace: "checked" }))
        b.onLoad({ filter: /.*/, namespace: "checked" }, () => ({ contents: "", loader: "js" }))
      },
    },
  ],
  logLevel: "warning",
  metafile: true,
})
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0)
console.log(`dist/bundle/: ${entries.length} entries, ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024).toFixed(0)} KiB`)
