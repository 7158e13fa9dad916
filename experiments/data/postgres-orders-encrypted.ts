// Ransomware on the orders table: every order's item and status encrypted in place (AES-256-GCM,
// the key held only in the run's ledger). The application must fail closed — no 200 serving
// ciphertext as orders, no 500, no stack trace or ciphertext in its answer — and the restore path
// must bring the orders back: the rollback decrypts every row from the ledger and verifies each
// value against its recorded digest, and the journal records how long that took (the rollback's
// duration) and how long until the application served orders again (time-to-recover). The
// table's checksum is taken before and after (in the hypothesis) and, when
// SHIFTUP_PG_ORDERS_CHECKSUM names the digest taken before the run, must equal it both times.
//
// `encrypt` is a destroy-class fault: shiftup runs it on `lab` targets only, and only within
// `budget.maxDestroySteps`. Runs against the data lab (`npm run demo:data`, src/demo/data-lab.ts)
// or any servers named by:
//   SHIFTUP_PG_URL       the database, without a password (default postgres://app@127.0.0.1:5432/shop)
//   SHIFTUP_PG_PASSWORD  its password, if it wants one (named through passwordEnv, never ledgered)
//   SHIFTUP_APP_URL      the application (default http://127.0.0.1:8081): GET /orders with cookie sid=<session id>
//   SHIFTUP_ORDERS_USER  whose orders are read (default bob)
// Loading the file contacts nothing.
import { Expect, Experiment, Http, Probe } from "shiftup"
import * as Data from "shiftup/data"

const env = (name: string, fallback: string): string => process.env[name] || fallback

const db = Data.Postgres.target("shop-db", {
  url: env("SHIFTUP_PG_URL", "postgres://app@127.0.0.1:5432/shop"),
  ...(process.env["SHIFTUP_PG_PASSWORD"] === undefined ? {} : { passwordEnv: "SHIFTUP_PG_PASSWORD" }),
  environment: "lab",
  tables: ["public.orders"],
})
const app = Http.target("shop-app", { url: env("SHIFTUP_APP_URL", "http://127.0.0.1:8081"), environment: "lab" })
const user = env("SHIFTUP_ORDERS_USER", "bob")

const ordersPage = Probe.http(app, "/orders", { id: `GET /orders as ${user}`, headers: { cookie: `sid=${user}` } })
const ordersStatus = Probe.map(ordersPage, (r) => r.status, `status of GET /orders as ${user}`)

/** A stack frame (`at f (file:1:2)`), an error's name, or a run of base64 as long as a ciphertext. */
const leak = /\bat \S+ \(|\bat \/|\w*Error\b|[A-Za-z0-9+/]{40,}={0,2}/
const failsClosed = Expect.predicate("503, with no ciphertext, stack trace or error name in the body", (r: { readonly status: number; readonly body: string }) => r.status === 503 && !leak.test(r.body))

const baseline = process.env["SHIFTUP_PG_ORDERS_CHECKSUM"]
const orders = Data.Postgres.checksum(db, { table: "public.orders", id: "checksum of public.orders" })

export default Experiment.make({
  id: "data.postgres.orders-encrypted.fails-closed",
  title: "With the orders table encrypted by ransomware, the application fails closed and the restore brings every order back",
  tags: ["data", "postgres", "ransomware", "fail-closed", "restore"],
  targets: { db, app },
  budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDestroySteps: 1, maxDuration: "2 minutes" },
  hypothesis: [
    Expect.that(ordersStatus, 200),
    Expect.that(orders, Expect.predicate(baseline === undefined ? "taken" : `digest ${baseline}`, (c: Data.Postgres.Checksum) => baseline === undefined || c.digest === baseline)),
  ],
  method: [
    Data.Postgres.encrypt(db, { table: "public.orders", columns: ["item", "status"], id: "orders encrypted (ransomware)" }),
    Expect.that(orders, Expect.predicate("the rows really changed", (c: Data.Postgres.Checksum) => baseline === undefined || c.digest !== baseline)),
    Expect.during(ordersPage, failsClosed, {
      samples: 5,
      severity: "critical",
      cwe: "CWE-754",
      remediation: "Validate rows read from the database (shape, a MAC or checksum) and fail closed on data that does not pass: never serve it, never echo it, never answer with a stack trace.",
    }),
  ],
  recovery: [Expect.recovers(ordersStatus, 200, { within: "15 seconds", every: "50 millis" })],
})
