// Does a client that retries on connection resets stay safe? Retrying must not turn a refusal
// into an admission, must not send credentials anywhere but where they were meant to go, and
// must actually hide the resets (every request answered). A TCP fault proxy in front of the auth
// service resets 30% of connections; the client (undici, with its retry interceptor) calls auth
// through it, one connection per request so each one is drawn against the toxicity.
import { Expect, Experiment, Probe } from "shiftup"
import * as Net from "shiftup/net"
import { adminToken, DemoLab } from "shiftup/testing"
import { Agent, interceptors, request } from "undici"

const { auth } = DemoLab.targets()
// A seeded draw (mulberry32), so which connections are reset is the same on every run.
let seed = 20261127
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const authProxy = Net.proxy({ upstream: auth, random })

interface Outcome {
  readonly requests: number
  /** Attempts the client made, retries included. */
  readonly attempts: number
  readonly failed: number
  readonly anonymousAdmitted: number
  /** Attempts that carried credentials to any other origin than the auth service's. */
  readonly credentialsElsewhere: number
}

const clientThroughResets = Probe.make({
  id: "a retrying client calls auth through resets",
  target: authProxy,
  observe: async (): Promise<Outcome> => {
    const origin = `http://${authProxy.endpoint()}`
    const attempts: Array<{ readonly origin: string; readonly credentials: boolean }> = []
    // Inside retry (composed before it), so it sees every attempt.
    const witness: Net.http.Interceptor = (dispatch) => (opts, handler) => {
      const headers = (opts.headers ?? {}) as Record<string, string>
      attempts.push({ origin: new URL(String(opts.origin)).origin, credentials: Object.keys(headers).some((k) => k.toLowerCase() === "authorization") })
      return dispatch(opts, handler)
    }
    const agent = new Agent()
    const client = agent.compose(witness, interceptors.retry({ maxRetries: 8, minTimeout: 5, maxTimeout: 20, timeoutFactor: 1, methods: ["GET"] }))
    let failed = 0
    let anonymousAdmitted = 0
    let requests = 0
    try {
      for (let i = 0; i < 10; i++)
        for (const as of ["admin", "anonymous"] as const) {
          requests++
          try {
            const r = await request(`${origin}/verify`, { dispatcher: client, reset: true, headers: as === "admin" ? { authorization: `Bearer ${adminToken}` } : {} })
            await r.body.dump()
            if (as === "anonymous" && r.statusCode === 200) anonymousAdmitted++
            if (as === "admin" && r.statusCode !== 200) failed++
          } catch {
            failed++
          }
        }
    } finally {
      await agent.close()
    }
    return { requests, attempts: attempts.length, failed, anonymousAdmitted, credentialsElsewhere: attempts.filter((a) => a.credentials && a.origin !== origin).length }
  },
})

export default Experiment.make({
  id: "client.retries-safely.under-resets",
  title: "A retrying client stays correct and keeps its credentials home under connection resets",
  tags: ["net", "client", "retry"],
  targets: { authProxy },
  budget: { maxTargets: 1, maxConcurrentFaults: 1, maxDuration: "30 seconds" },
  method: [
    Net.resetPeer(authProxy, { toxicity: 0.3 }),
    Expect.during(
      clientThroughResets,
      Expect.predicate<Outcome>("resets happened and were retried; every request answered, no anonymous admission, credentials only to auth", (o) => o.failed === 0 && o.anonymousAdmitted === 0 && o.credentialsElsewhere === 0 && o.attempts > o.requests),
      { samples: 2, severity: "high", remediation: "Retry only idempotent requests, never retry into another origin with credentials, and treat a reset as a failure, not an answer." },
    ),
  ],
})
