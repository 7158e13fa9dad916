/**
 * Importing `shiftup/data` — and building a Redis target and faults — loads no Redis client: the
 * `redis` package is imported at the first connection only. Checked in a fresh Node process
 * whose module resolution is watched.
 */
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { expect, it } from "vitest"
import { repoRoot } from "../../support/proc-cli.ts"

it("importing shiftup/data and declaring a Redis experiment resolves neither redis nor @redis/*", () => {
  const entry = pathToFileURL(join(repoRoot, "src", "data", "index.ts")).href
  const script = `
import { registerHooks } from "node:module"
const seen = []
registerHooks({ resolve(spec, ctx, next) { seen.push(spec); return next(spec, ctx) } })
const data = await import(${JSON.stringify(entry)})
const t = data.Redis.target("s", { url: "redis://127.0.0.1:6390", environment: "lab", keys: "a:*" })
data.Redis.corrupt(t, { mode: "truncate" }); data.Redis.encrypt(t); data.Redis.checksum(t)
console.log(JSON.stringify({ ok: true, clients: seen.filter((s) => /^(redis|@redis\\/)/.test(s)) }))
`
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", cwd: repoRoot })
  expect(r.status, r.stderr).toBe(0)
  expect(JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}")).toEqual({ ok: true, clients: [] })
})
