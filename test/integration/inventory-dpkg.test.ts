/**
 * The Debian ordering against the real oracle, `dpkg --compare-versions`. A dpkg call is a
 * process (~30-40 ms on a loaded 2-core machine), so the pairs are chosen to cover the most with
 * the fewest calls: generated versions are sorted by shiftup's ordering, dpkg checks every
 * adjacent pair (`lt` or `eq`, as shiftup says), and shiftup's answers on all other pairs are
 * checked against their positions in that chain. dpkg's order is a total preorder, so when every
 * adjacent relation agrees, all N·(N-1)/2 pairs agree. One `sh` runs all calls (one spawn from
 * here), in two halves at once.
 */
import { spawn } from "node:child_process"
import fc from "fast-check"
import { expect, it } from "vitest"
import * as Versions from "../../src/inventory/versions/index.ts"
import { debianVersion } from "../support/inventory-versions.ts"

const quote = (v: string) => `'${v}'`

/** Runs `dpkg --compare-versions a op b` for each triple in one shell; resolves with each exit status. */
const dpkg = (checks: ReadonlyArray<readonly [string, "lt" | "eq", string]>): Promise<ReadonlyArray<number>> =>
  new Promise((resolve, reject) => {
    const script = checks.map(([a, op, b]) => `dpkg --compare-versions ${quote(a)} ${op} ${quote(b)} 2>/dev/null; echo $?`).join("\n")
    const sh = spawn("sh", ["-s"], { stdio: ["pipe", "pipe", "inherit"] })
    let out = ""
    sh.stdout.on("data", (c: Buffer) => (out += c.toString()))
    sh.on("error", reject)
    sh.on("close", () => resolve(out.trim().split("\n").map(Number)))
    sh.stdin.end(script)
  })

it("agrees with dpkg --compare-versions on every pair of 700 generated versions (244,650 pairs), and on 300 random pairs directly", { timeout: 60_000 }, async () => {
  const o = Versions.ordering("Debian")
  const versions = [...new Set(fc.sample(debianVersion, { numRuns: 900, seed: 17 }))].slice(0, 700)
  expect(versions.length).toBe(700)
  const chain = [...versions].sort(o.compare)
  const adjacent = chain.slice(1).map((b, i) => {
    const a = chain[i] ?? ""
    return [a, o.compare(a, b) === 0 ? "eq" : "lt", b] as const
  })
  expect(adjacent.filter(([, op]) => op === "eq").length, "some generated versions tie (1.0 = 1.0-0 = 0:1.0)").toBeGreaterThan(0)
  // Every other pair: shiftup's answer follows from the chain (no intransitive answer hides behind the sort).
  const rank: Array<number> = []
  chain.forEach((_, i) => rank.push(i === 0 ? 0 : adjacent[i - 1]?.[1] === "eq" ? (rank[i - 1] ?? 0) : i))
  for (let i = 0; i < chain.length; i++)
    for (let j = i + 1; j < chain.length; j++) if (o.compare(chain[i] ?? "", chain[j] ?? "") !== (rank[i] === rank[j] ? 0 : -1)) expect.fail(`${chain[i]} vs ${chain[j]}`)
  // And pairs far apart in the chain, asked directly (either order).
  const random = fc.sample(fc.tuple(debianVersion, debianVersion), { numRuns: 300, seed: 18 }).map(([a, b]) => {
    const c = o.compare(a, b)
    return c === 0 ? ([a, "eq", b] as const) : c < 0 ? ([a, "lt", b] as const) : ([b, "lt", a] as const)
  })
  const checks = [...adjacent, ...random]
  const half = Math.ceil(checks.length / 2)
  const status = (await Promise.all([dpkg(checks.slice(0, half)), dpkg(checks.slice(half))])).flat()
  const disagreements = checks.filter((_, i) => status[i] !== 0).map(([a, op, b]) => `${a} ${op} ${b}`)
  expect(status.length).toBe(checks.length)
  expect(disagreements).toEqual([])
})
