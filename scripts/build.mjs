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
import { dirname, join, sep } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../", import.meta.url))
const dist = join(root, "dist")
rmSync(dist, { recursive: true, force: true })
execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", join(root, "tsconfig.build.json")], { stdio: "inherit" })

const effectDist = dirname(createRequire(join(root, "package.json")).resolve("effect"))
/**
 * `import { Effect, type Duration } from "effect"` (with or without its semicolon: tsc's output
 * or a source file) as imports of Effect's own modules, one line in, one line out, so that
 * source maps stay right.
 */
const pointAtModules = (code, file) =>
  code.replace(/^import \{([^}]*)\} from "effect";?$/gm, (_, names) =>
    names
      .split(",")
      .map((n) => n.trim())
      .filter((n) => n !== "")
      .map((n) => {
        const type = /^type\s/.test(n)
        const [name, local = name] = n.replace(/^type\s+/, "").split(/\s+as\s+/)
        if (!existsSync(join(effectDist, `${name}.js`))) throw new Error(`${file}: "${name}" is not a module of effect; import it from its module (e.g. effect/Function)`)
        return `import ${type ? "type " : ""}* as ${local} from "effect/${name}";`
      })
      .join(" "),
  )
const files = readdirSync(dist, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js"))
let rewritten = 0
for (const file of files) {
  const path = join(dist, file)
  const code = readFileSync(path, "utf8")
  const out = pointAtModules(code, file)
  if (out !== code) {
    rewritten++
    writeFileSync(path, out)
  }
}
if (/from "effect";/.test(files.map((f) => readFileSync(join(dist, f), "utf8")).join("\n"))) throw new Error("an import of the effect barrel is left in dist/ (a form this script does not rewrite)")
console.log(`dist/: ${files.length} modules, ${rewritten} pointed at Effect's own modules`)

const entries = ["cli/start", "index", "advanced/index", "http/index", "net/index", "docker/index", "data/index", "ctk/index", "inventory/index", "watch/index", "report/index", "testing/index", "vitest/index"]
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
  // What Node's own bundle of undici defines: the HTTP/1 parser is llhttp only, without the
  // experimental Milo parser and its WebAssembly (~150 KiB read at every start).
  define: { esbuildDetection: "true" },
  // Loaded only where needed, from the user's install: Docker, tsx for experiment files Node
  // cannot strip, fast-check for fuzzing, vitest for shiftup/vitest, the data stores' clients
  // (optional peers) for shiftup/data, yaml for Chaos Toolkit experiments in YAML, croner and
  // prom-client for shiftup/watch (`shiftup watch`).
  external: ["dockerode", "tsx", "tsx/*", "fast-check", "vitest", "pg", "mysql2", "mysql2/*", "redis", "@redis/*", "yaml", "croner", "prom-client"],
  // No source maps: Effect's sources would not resolve from an installed package.
  minifySyntax: true,
  minifyWhitespace: true,
  // undici is CommonJS: its `require("node:…")` calls need a require inside an ES module.
  banner: { js: 'import { createRequire as __shiftupRequire } from "node:module"; const __shiftupNodeRequire = __shiftupRequire(import.meta.url), require = __shiftupNodeRequire;' },
  plugins: [
    {
      // The same rewrite as dist/'s. Through the barrel each of Effect's modules is one object
      // holding every export, so nothing of Effect could be left out: ~700 KiB of it loaded at
      // every start of the CLI, not ~170 KiB.
      name: "effect-modules",
      setup: (b) => void b.onLoad({ filter: /\/src\/.*\.ts$/ }, (args) => ({ contents: pointAtModules(readFileSync(args.path, "utf8"), args.path), loader: "ts" })),
    },
    {
      name: "lean-undici",
      setup: (b) => {
        b.onResolve({ filter: /^undici$/ }, () => ({ path: join(root, "scripts", "undici-lean.cjs") }))
        b.onResolve({ filter: /^\.\/client-h2\.js$/ }, (args) => (args.importer.endsWith(join("undici", "lib", "dispatcher", "client.js")) ? { path: join(root, "scripts", "undici-lean-h2.cjs") } : undefined))
        const inUndici = (path) => path.includes(`${sep}undici${sep}lib${sep}`)
        b.onResolve({ filter: /^node:assert$/ }, (args) => (inUndici(args.importer) ? { path: join(root, "scripts", "undici-lean-assert.cjs") } : undefined))
        b.onLoad({ filter: /\.js$/ }, (args) => {
          if (inUndici(args.path) && /\bassert\.\w/.test(readFileSync(args.path, "utf8"))) throw new Error(`${args.path} calls a method of node:assert: scripts/undici-lean-assert.cjs has only assert(value, message)`)
          return undefined
        })
      },
    },
    {
      // Node's built-ins load when first used, not when the bundle loads: a run over plain HTTP
      // never needs node:tls (~15 ms), node:crypto, the approval prompt's node:readline or the
      // file compensations' node:fs/promises. An ES `import` of a built-in would also make Node
      // read every export of it, and many are lazy getters that load more (node:http's loads
      // Node's own copy of undici, node:fs's its streams and readline, node:util's
      // worker_threads). So each import of a built-in becomes an object of getters, one per
      // export, that requires the built-in on the first read of any of them — except for the
      // built-ins every run needs at once, which become ES modules exporting their values (no
      // object of getters copied into every module that imports them): only the getters listed
      // for them are read, the rest are left out (importing one then fails the build).
      name: "node-builtins-on-first-use",
      setup: (b) => {
        const atOnce = { "node:fs": [], "node:path": [], "node:url": [], "node:os": [], "node:net": ["BlockList", "SocketAddress"] }
        const required = (path) => `__shiftupNodeRequire(${JSON.stringify(path)})`
        b.onResolve({ filter: /^node:/ }, (args) => (args.kind === "import-statement" ? { path: args.path, namespace: "builtin" } : undefined))
        b.onLoad({ filter: /.*/, namespace: "builtin" }, (args) => {
          const exported = process.getBuiltinModule(args.path)
          // A module that is itself a function (node:events, node:module) is called, not read.
          if (typeof exported === "function") return { contents: `module.exports = ${required(args.path)}`, loader: "js" }
          const names = Object.keys(exported).filter((n) => n !== "default")
          const getters = atOnce[args.path]
          if (getters !== undefined) {
            const values = names.filter((n) => Object.getOwnPropertyDescriptor(exported, n)?.get === undefined || getters.includes(n))
            return { contents: `const m = ${required(args.path)}; export default m; ${values.map((n) => `export const ${n} = m.${n};`).join(" ")}`, loader: "js" }
          }
          return {
            contents: `let m; const load = () => (m ??= ${required(args.path)});
module.exports = Object.defineProperties({}, Object.fromEntries(${JSON.stringify(names)}.map((n) => [n, { get: () => load()[n], enumerable: true }])))`,
            loader: "js",
          }
        })
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
// `META=<file> npm run build`: esbuild's account of which module went into which file, and how big.
if (process.env.META) writeFileSync(process.env.META, JSON.stringify(result.metafile))
