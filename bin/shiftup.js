#!/usr/bin/env node
// The shiftup command. Maps the `shiftup` specifiers to this very installation (so an experiment
// anywhere on disk uses the CLI's own copy), loads the CLI (from source in a checkout, else from
// dist/), then registers tsx so experiment files can be TypeScript. tsx is registered last
// because its hooks triple the time it takes to load effect; Node ≥ 22.18 strips the types of
// shiftup's own sources natively.
import { existsSync } from "node:fs"
import module from "node:module"
import { fileURLToPath } from "node:url"
import { register } from "tsx/esm/api"

const root = new URL("../", import.meta.url)
const fromSource = existsSync(fileURLToPath(new URL("src/cli/main.ts", root)))
const file = (name) => new URL(fromSource ? `src/${name}.ts` : `dist/${name}.js`, root).href
const entries = { shiftup: file("index") }
for (const sub of ["testing", "http", "net", "vitest", "report", "docker"]) entries[`shiftup/${sub}`] = file(`${sub}/index`)
module.registerHooks?.({
  resolve: (specifier, context, next) => (specifier in entries ? { url: entries[specifier], shortCircuit: true } : next(specifier, context)),
})
const native = !fromSource || process.features.typescript !== undefined
if (!native) register()
const { cli } = await import(file("cli/main"))
if (native) register()
await cli(process.argv.slice(2))
