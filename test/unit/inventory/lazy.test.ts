/**
 * What each entry loads: importing `shiftup` (or `shiftup/report`) resolves neither semver nor the
 * PEP 440 library — only `shiftup/inventory` does; and importing `shiftup/inventory` does not load
 * dockerode (the image reader takes the engine the caller made). Checked in fresh Node processes
 * whose module resolution is watched.
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
console.log(JSON.stringify(seen.filter((s) => /^(semver|@renovatebot\\/pep440|dockerode)(\\/|$)/.test(s))))
`
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", cwd: repoRoot })
  expect(r.status, r.stderr).toBe(0)
  return [...new Set(JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "[]") as Array<string>)].sort()
}

it("importing shiftup resolves neither semver nor @renovatebot/pep440", () => expect(resolved("index.ts")).toEqual([]))
it("importing shiftup/report resolves neither", () => expect(resolved("report/index.ts")).toEqual([]))
it("importing shiftup/inventory resolves both, and not dockerode", () => expect(resolved("inventory/index.ts")).toEqual(["@renovatebot/pep440", "semver"]))
