/**
 * The environment profile governs runs, against real loopback servers: a disrupt fault under a
 * profile that allows only observe in staging is refused at plan time — by `shiftup plan`,
 * `shiftup run` and the library — with not one connection to the server; `--profile` chooses the
 * profile that judges but cannot widen the config's limits, an unknown one is exit 4; and a chosen profile's maxProbeRate paces a burst
 * that the budget alone would send unpaced (requests timed at the server).
 */
import * as http from "node:http"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Expect, Experiment, Runner } from "shiftup"
import * as Http from "shiftup/http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { main } from "../../src/cli/main.ts"
import type { Config } from "../../src/Config.ts"
import { countingServer, type CountingServer } from "../support/proc-lab.ts"

const fixture = (name: string) => join(import.meta.dirname, "../fixtures", name)
const dirs: Array<string> = []
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), "shiftup-profile-"))
  dirs.push(d)
  return d
}

let server: CountingServer
beforeAll(async () => {
  server = await countingServer()
  process.env["SHIFTUP_FIXTURE_PORT"] = String(server.port)
})
afterAll(async () => {
  await server?.close()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const cli = async (args: ReadonlyArray<string>) => {
  let out = ""
  let err = ""
  const code = await main(args, { io: { out: (t) => void (out += t), err: (t) => void (err += t), tty: false } })
  return { code, out, err }
}

describe("a fault class the profile does not allow: refused at plan time, nothing contacted", () => {
  it("`shiftup plan`: exit 2, the plan names the profile and why; the decision names the profile, the fault, its class and what to change", async () => {
    const r = await cli(["plan", fixture("profile-run.ts"), "--config", fixture("profile-run.config.ts"), "--state-dir", temp()])
    expect(r.code, r.out + r.err).toBe(2)
    expect(r.out).toContain("profile: observe-only — chosen by misconfig.environments.staging (the target classifies as staging); fault classes observe")
    expect(r.out).toContain("probe rate: 5/s — the maxProbeRate of profile observe-only (5/s), lower than the budget's 1000/s staging rate")
    expect(r.out).toContain('decision REFUSE disrupt "break-records" on records-api: profile.fault-class — profile observe-only (chosen by misconfig.environments.staging (the target classifies as staging)) allows only [observe] in staging, not disrupt; remove the disrupt step')
    expect(server.connections(), "the refused target was contacted").toBe(0)
  })

  it("`shiftup run`: exit 2, journal refused with rule profile.fault-class, no ledger, zero connections", async () => {
    const state = temp()
    const journal = join(state, "run.json")
    const r = await cli(["run", fixture("profile-run.ts"), "--config", fixture("profile-run.config.ts"), "--state-dir", state, "--journal", journal])
    expect(r.code, r.out + r.err).toBe(2)
    expect(r.out).toContain("profile  observe-only on records-api (chosen by misconfig.environments.staging (the target classifies as staging)); probes ≤ 5/s: the maxProbeRate of profile observe-only (5/s)")
    const j = JSON.parse(readFileSync(journal, "utf8"))
    expect([j.status, j.refusal.rule, j.refusal.step, j.refusal.target]).toEqual(["refused", "profile.fault-class", "break-records", "records-api"])
    expect(j.plan.targets[0].profile).toMatchObject({ name: "observe-only", faultClasses: ["observe"] })
    expect(j.steps).toEqual([])
    expect(existsSync(join(state, "ledgers")) ? readdirSync(join(state, "ledgers")) : []).toEqual([])
    expect(server.connections(), "the refused target was contacted").toBe(0)
  })

  it("--profile cannot widen the config's profile: under --profile web the config's observe-only limits stay, still refused, nothing contacted", async () => {
    const r = await cli(["plan", fixture("profile-run.ts"), "--config", fixture("profile-run.config.ts"), "--profile", "web", "--state-dir", temp()])
    expect(r.code, r.out + r.err).toBe(2)
    expect(r.out).toContain("profile: web — chosen by --profile web, within observe-only's limits")
    expect(r.out).toContain('decision REFUSE disrupt "break-records" on records-api: profile.fault-class')
    expect(server.connections()).toBe(0)
  })

  it("--profile without a config profile: the flag's profile governs (web allows disrupt in staging; still a dry run)", async () => {
    const r = await cli(["plan", fixture("profile-run.ts"), "--profile", "web", "--state-dir", temp()])
    expect(r.code, r.out + r.err).toBe(0)
    expect(r.out).toContain("profile: web — chosen by --profile web; fault classes observe, disrupt, destroy")
    expect(r.out).toContain('decision allow disrupt "break-records" on records-api')
    expect(server.connections()).toBe(0)
  })

  it("an unknown --profile: exit 4 naming the known profiles, the config's included", async () => {
    const r = await cli(["plan", fixture("profile-run.ts"), "--config", fixture("profile-run.config.ts"), "--profile", "hospital", "--state-dir", temp()])
    expect(r.code).toBe(4)
    expect(r.err).toContain('no profile "hospital": the built-in ones are web, healthcare, payments, internal, the config\'s observe-only')
    expect(server.connections()).toBe(0)
  })
})

/** A server that stamps each request's arrival. */
const stampingServer = async () => {
  const stamps: Array<number> = []
  const s = http.createServer((_req, res) => {
    stamps.push(performance.now())
    res.writeHead(200, { "content-type": "text/plain" }).end("ok")
  })
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    take: () => stamps.splice(0),
    close: () => new Promise<void>((resolve) => (s.closeAllConnections(), s.close(() => resolve()))),
  }
}

/** The most requests in any window of `ms`. */
const densest = (stamps: ReadonlyArray<number>, ms: number) => Math.max(0, ...stamps.map((t) => stamps.filter((u) => u >= t && u < t + ms).length))

describe("a chosen profile's maxProbeRate paces the run's probes", () => {
  it("a burst of 12 at concurrency 4 on a lab target: unpaced by the budget alone, at most 10 per second under payments", async () => {
    const s = await stampingServer()
    try {
      const api = Http.target("shop-api", { url: s.url, environment: "lab" })
      const e = Experiment.make({
        id: "profile.rate",
        title: "a burst under a profile",
        targets: { api },
        hypothesis: [],
        method: [Expect.that(Http.RateLimit.probe(api, { path: "/", burst: 12, limit: 5, concurrency: 4 }), Expect.predicate("answered", () => true))],
      })
      const run = async (config: Config) => {
        const j = await Runner.runPromise(e, { journal: false, stateDir: temp(), config })
        expect(j.status, j.summary).toBe("passed")
        return { stamps: s.take(), rate: j.plan?.targets[0]?.probeRate }
      }
      const free = await run({})
      expect(free.rate).toEqual({ perSecond: null, from: "the default in lab (unpaced)" })
      expect(free.stamps).toHaveLength(12)
      expect(free.stamps.at(-1)! - free.stamps[0]!, "unpaced, the burst takes far less than a second").toBeLessThan(500)

      const capped = await run({ misconfig: { environments: { lab: "payments" } } })
      expect(capped.rate?.perSecond).toBe(10)
      expect(capped.stamps).toHaveLength(12)
      // 10 per second: 100 ms apart, so 12 requests span at least 1.1 s, and no second holds more than 10 (+1 at its edge).
      expect(capped.stamps.at(-1)! - capped.stamps[0]!).toBeGreaterThanOrEqual(1050)
      expect(densest(capped.stamps, 1000)).toBeLessThanOrEqual(11)
    } finally {
      await s.close()
    }
  })
})
