/**
 * croner, prom-client and node:sqlite are loaded by `shiftup/watch` (and `shiftup watch`) only:
 * not by `shiftup`, not by `shiftup/inventory`, not by the CLI's main module — whose config type
 * has a `watch` section; pg not even by `shiftup/watch`, only when a PostgreSQL store opens.
 * Checked in fresh Node processes whose module resolution is watched.
 */
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { expect, it } from "vitest"
import { repoRoot } from "../../support/proc-cli.ts"

const resolved = (entry: string): ReadonlyArray<string> => {
  const url = pathToFileURL(join(repoRoot, "src", entry)).href
  const script = `
import { registerHooks } from "node:module"
const seen = []
registerHooks({ resolve(spec, ctx, next) { seen.push(spec); return next(spec, ctx) } })
await import(${JSON.stringify(url)})
console.log(JSON.stringify(seen.filter((s) => /^(croner|prom-client|node:sqlite|pg)(\\/|$)/.test(s))))
`
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", cwd: repoRoot })
  expect(r.status, r.stderr).toBe(0)
  return [...new Set(JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "[]") as Array<string>)].sort()
}

it.each(["index.ts", "inventory/index.ts", "cli/main.ts", "Config.ts"])("importing %s loads none of them", (entry) => expect(resolved(entry)).toEqual([]))
it("importing shiftup/watch loads all three, and no pg (loaded when a PostgreSQL store opens)", () => expect(resolved("watch/index.ts")).toEqual(["croner", "node:sqlite", "prom-client"]))
