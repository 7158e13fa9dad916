#!/usr/bin/env node
// The shiftup command. In order: the Node version (one line, no stack trace, when it is too
// old); Node's compile cache (later starts skip compiling Effect and shiftup again); the
// answers that need no library (`--version`, `--help`, argument errors: cli/start loads
// nothing else); then the `shiftup` specifiers mapped to this very installation, so that an
// experiment anywhere on disk uses the CLI's own copy. A checkout runs from source (Node strips
// the types), an installed package from dist/bundle/ (scripts/build.mjs says why a bundle).
// Experiment files are loaded by cli/load: with Node's own type stripping when it suffices,
// with tsx only when not.
import module from "node:module"

try {
  await import("./assert-node.js")
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(4)
}
module.enableCompileCache?.()

// By require: an ES import of node:fs would load its streams, promises and readline (assert-node.js).
const { existsSync } = module.createRequire(import.meta.url)("node:fs")
const root = new URL("../", import.meta.url)
const fromSource = existsSync(new URL("tsconfig.json", root)) && existsSync(new URL("src/cli/start.ts", root))
const file = (name) => new URL(fromSource ? `src/${name}.ts` : `dist/bundle/${name}.js`, root).href
// Started with types stripping turned off: shiftup's own sources need tsx then.
if (fromSource && process.features.typescript === undefined) (await import("tsx/esm/api")).register()
const entries = { shiftup: file("index") }
for (const sub of ["advanced", "testing", "http", "net", "vitest", "report", "docker", "data", "ctk", "inventory", "watch"]) entries[`shiftup/${sub}`] = file(`${sub}/index`)
module.registerHooks({
  resolve: (specifier, context, next) => (specifier in entries ? { url: entries[specifier], shortCircuit: true } : next(specifier, context)),
})
const { start } = await import(file("cli/start"))
await start(process.argv.slice(2))
