// Does the API stay safe when its session store is corrupted? Sessions live in Redis as JSON
// blobs. Two faults on the store, held together: first a session's `role` is rewritten to
// "admin" in place (an attacker with write access to the cache, or a bug), then every session is
// garbled into unparsable bytes. The API must deny — 401 or 403 —, never crash (no 5xx) and
// never treat a tampered or garbled session as admin. Rollback restores every session exactly
// from its before-image: the store's checksum is taken before and after the faults (in the
// hypothesis) and, when SHIFTUP_SESSIONS_CHECKSUM names the digest taken before the run, must
// equal it both times.
//
// Runs against the servers the environment names (a lab: shiftup/data refuses production and
// unknown data stores for every step):
//   SHIFTUP_SESSIONS_REDIS_URL       the session store, without a password (default redis://127.0.0.1:6379)
//   SHIFTUP_SESSIONS_REDIS_PASSWORD  its password, if it has one (named through passwordEnv, never ledgered)
//   SHIFTUP_SESSIONS_APP_URL         the API (default http://127.0.0.1:8080): GET /admin with cookie sid=<session id>
//   SHIFTUP_SESSIONS_ADMIN, SHIFTUP_SESSIONS_USER   the ids of an admin's and a user's sessions (default alice, bob)
// The data lab (`npm run demo:data`, src/demo/data-lab.ts) sets them all. Loading the file contacts nothing.
import { Expect, Experiment, Probe } from "shiftup"
import * as Data from "shiftup/data"
import * as Http from "shiftup/http"

const env = (name: string, fallback: string): string => process.env[name] ?? fallback

const sessions = Data.Redis.target("sessions", {
  url: env("SHIFTUP_SESSIONS_REDIS_URL", "redis://127.0.0.1:6379"),
  ...(process.env["SHIFTUP_SESSIONS_REDIS_PASSWORD"] === undefined ? {} : { passwordEnv: "SHIFTUP_SESSIONS_REDIS_PASSWORD" }),
  environment: "lab",
  keys: "session:*",
})
const api = Http.target("api", { url: env("SHIFTUP_SESSIONS_APP_URL", "http://127.0.0.1:8080"), environment: "lab" })

const admin = env("SHIFTUP_SESSIONS_ADMIN", "alice")
const user = env("SHIFTUP_SESSIONS_USER", "bob")
const adminStatus = (sid: string) => Probe.status(api, "/admin", { id: `GET /admin as ${sid}`, headers: { cookie: `sid=${sid}` } })
const baseline = process.env["SHIFTUP_SESSIONS_CHECKSUM"]
const checksum = Expect.that(
  Data.Redis.checksum(sessions, { id: "checksum of session:*" }),
  Expect.predicate(baseline === undefined ? "taken" : `digest ${baseline}`, (c: Data.Redis.Checksum) => baseline === undefined || c.digest === baseline),
)
const denied = Expect.predicate("401 or 403: denied, not crashed", (s: number) => s === 401 || s === 403)

export default Experiment.make({
  id: "sessions.fail-closed.store-corrupted",
  title: "The API denies, and never crashes, when its session store is tampered with or garbled",
  tags: ["data", "redis", "sessions", "fail-closed"],
  targets: { sessions, api },
  budget: { maxTargets: 2, maxConcurrentFaults: 2, maxDuration: "1 minute" },
  hypothesis: [Expect.that(adminStatus(admin), 200), Expect.that(adminStatus(user), 403), checksum],
  method: [
    Data.Redis.corrupt(sessions, { id: "role set to admin in the store", mode: "set", field: "role", value: "admin" }),
    Expect.during(adminStatus(user), denied, {
      samples: 3,
      severity: "critical",
      cwe: "CWE-565",
      remediation: "Sign or MAC session data (or keep the role server-side, keyed by the session): never trust a role read back from a shared cache as is.",
    }),
    Data.Redis.corrupt(sessions, { id: "sessions garbled", mode: "garble-json" }),
    Expect.during(adminStatus(admin), denied, {
      samples: 3,
      severity: "high",
      cwe: "CWE-755",
      remediation: "Treat a session that does not parse as no session: answer 401, never 500, never a default role.",
    }),
  ],
  recovery: [Expect.eventually(adminStatus(admin), 200, { within: "5 seconds" })],
})
