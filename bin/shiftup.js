#!/usr/bin/env node
// The shiftup command. Registers tsx so experiment files can be TypeScript, maps the `shiftup`
// specifiers to this very installation (so an experiment anywhere on disk uses the CLI's own
// copy), then runs the CLI from source in a checkout, else from the build (dist/).
import { existsSync } from "node:fs"
import module from "node:module"
import { fileURLToPath } from "node:url"
import { register } from "tsx/esm/api"

const root = new URL("../", import.meta.url)
const fromSource = existsSync(fileURLToPath(new URL("src/cli/main.ts", root)))
const file = (name) => new URL(fromSource ? `src/${name}.ts` : `dist/${name}.js`, root).href
const entries = { shiftup: file("index"), "shiftup/testing": file("testing/index") }
module.registerHooks?.({
  resolve: (specifier, context, next) => (specifier in entries ? { url: entries[specifier], shortCircuit: true } : next(specifier, context)),
})
register()
const { cli } = await import(file("cli/main"))
await cli(process.argv.slice(2))
