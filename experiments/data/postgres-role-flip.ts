// Does the application notice when a user's role is flipped to 'admin' behind its back? (It
// should: rows carry an HMAC of id:role, so a role written outside the application fails closed
// with 409, never 200.) The role column is corrupted in the database itself — with a write-ahead
// before-image — and restored exactly after; the checksum of the table proves it.
//
// Runs against the servers the environment names: SHIFTUP_PG_URL (postgres://user@host:port/db,
// no password; default postgres://app@127.0.0.1:5432/accounts), SHIFTUP_PG_PASSWORD_ENV (the
// name of the variable that holds the password, if the server wants one), SHIFTUP_APP_URL (the
// application; default http://127.0.0.1:8081). Loading the file contacts nothing: a directory
// run (`shiftup run experiments --tag demo`) loads it and leaves it out by its tags.
// test/integration/data-postgres-experiment.test.ts starts both and runs this file.
import { Expect, Experiment, Http, Probe } from "shiftup"
import * as Data from "shiftup/data"

const env = (name: string, fallback: string): string => process.env[name] || fallback

const passwordEnv = process.env["SHIFTUP_PG_PASSWORD_ENV"]
const db = Data.Postgres.target("accounts-db", { url: env("SHIFTUP_PG_URL", "postgres://app@127.0.0.1:5432/accounts"), ...(passwordEnv === undefined ? {} : { passwordEnv }), environment: "lab", tables: ["public.users"] })
const app = Http.target("accounts-app", { url: env("SHIFTUP_APP_URL", "http://127.0.0.1:8081"), environment: "lab" })

/** What user 2 (a plain user) gets on the admin page. */
const adminPage = Probe.status(app, "/admin?user=2", { id: "user 2 on /admin" })

export default Experiment.make({
  id: "data.postgres.role-flip.fails-closed",
  title: "A role flipped to 'admin' in the database does not grant admin: the application fails closed",
  tags: ["data", "postgres", "integrity", "fail-closed"],
  targets: { db, app },
  budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "60 seconds" },
  hypothesis: [Expect.that(adminPage, 403)],
  method: [
    Data.Postgres.corrupt(db, { table: "public.users", column: "role", mode: "set", value: "admin", where: "id = 2" }),
    Expect.that(Data.Postgres.checksum(db, { table: "public.users" }), Expect.predicate("the role really changed", (c: Data.Postgres.Checksum) => c.rows > 0)),
    Expect.during(adminPage, Expect.never(200), {
      samples: 5,
      severity: "critical",
      remediation: "Sign the role (HMAC of id:role with a key the database does not hold) and refuse rows whose signature does not match.",
    }),
  ],
  recovery: [Expect.eventually(adminPage, 403, { within: "5 seconds" })],
})
