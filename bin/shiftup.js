#!/usr/bin/env node
// The shiftup command. Registers tsx so experiment files can be TypeScript, then runs the CLI
// from the build (dist/) when present, else from source (a checkout).
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { register } from "tsx/esm/api"

const root = new URL("../", import.meta.url)
const built = new URL("dist/cli/main.js", root)
const fromSource = !existsSync(fileURLToPath(built))
register(fromSource ? { tsconfig: fileURLToPath(new URL("tsconfig.json", root)) } : {})
const { cli } = await import(fromSource ? new URL("src/cli/main.ts", root).href : built.href)
await cli(process.argv.slice(2))
