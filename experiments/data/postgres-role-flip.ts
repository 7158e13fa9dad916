// A user's role flipped to 'admin' in the database, behind the application's back: the database's
// audit trigger must raise an integrity alert within 3 seconds, and the application must not
// grant admin — its rows carry an HMAC of id:role, so a role written outside it fails closed
// (409), never 200. The role column is corrupted in the database itself, with a write-ahead
// before-image, and restored exactly after: the table's checksum is taken before and after the
// fault (in the hypothesis) and, when SHIFTUP_PG_USERS_CHECKSUM names the digest taken before the
// run, must equal it both times.
//
// Runs against the data lab (`npm run demo:data`, src/demo/data-lab.ts) or any servers named by:
//   SHIFTUP_PG_URL       the database, without a password (default postgres://app@127.0.0.1:5432/shop)
//   SHIFTUP_PG_PASSWORD  its password, if it wants one (named through passwordEnv, never ledgered)
//   SHIFTUP_APP_URL      the application (default http://127.0.0.1:8081): GET /staff?user=N, and
//                        GET /integrity/alerts?run=<run id> listing the alerts the run caused
// Loading the file contacts nothing.
import { Expect, Experiment, Http, Probe } from "shiftup"
import * as Data from "shiftup/data"

const env = (name: string, fallback: string): string => process.env[name] || fallback

const db = Data.Postgres.target("shop-db", {
  url: env("SHIFTUP_PG_URL", "postgres://app@127.0.0.1:5432/shop"),
  ...(process.env["SHIFTUP_PG_PASSWORD"] === undefined ? {} : { passwordEnv: "SHIFTUP_PG_PASSWORD" }),
  environment: "lab",
  tables: ["public.users"],
})
const app = Http.target("shop-app", { url: env("SHIFTUP_APP_URL", "http://127.0.0.1:8081"), environment: "lab" })

/** What user 2 (a plain user) gets on the staff page. */
const staffPage = Probe.status(app, "/staff?user=2", { id: "user 2 on /staff" })

/** The integrity alerts this run caused (the trigger records the writer's application_name, which names the run). */
const alertsOfThisRun = Probe.make({
  id: "integrity alerts raised by this run",
  target: app,
  observe: async ({ runId, request }) => (JSON.parse((await request(app, { path: `/integrity/alerts?run=${encodeURIComponent(runId)}` })).body) as ReadonlyArray<unknown>).length,
})

const baseline = process.env["SHIFTUP_PG_USERS_CHECKSUM"]
const users = Data.Postgres.checksum(db, { table: "public.users", id: "checksum of public.users" })

export default Experiment.make({
  id: "data.postgres.role-flip.detected",
  title: "A role flipped to 'admin' in the database raises an integrity alert within 3 s and does not grant admin",
  tags: ["data", "postgres", "integrity", "detection", "fail-closed"],
  targets: { db, app },
  budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "60 seconds" },
  hypothesis: [
    Expect.that(staffPage, 403),
    Expect.that(users, Expect.predicate(baseline === undefined ? "taken" : `digest ${baseline}`, (c: Data.Postgres.Checksum) => baseline === undefined || c.digest === baseline)),
  ],
  method: [
    Expect.that(alertsOfThisRun, 0),
    Data.Postgres.corrupt(db, { table: "public.users", column: "role", mode: "set", value: "admin", where: "id = 2" }),
    Expect.that(users, Expect.predicate("the role really changed", (c: Data.Postgres.Checksum) => baseline === undefined || c.digest !== baseline)),
    Expect.detects(alertsOfThisRun, Expect.predicate("at least one alert", (n: number) => n > 0), {
      within: "3 seconds",
      every: "50 millis",
      severity: "high",
      remediation: "Audit role changes in the database (a trigger the application's role cannot alter) and alert on any escalation to admin.",
    }),
    Expect.during(staffPage, Expect.never(200), {
      samples: 5,
      severity: "critical",
      remediation: "Sign the role (HMAC of id:role with a key the database does not hold) and refuse rows whose signature does not match.",
    }),
  ],
  recovery: [Expect.eventually(staffPage, 403, { within: "5 seconds" })],
})
