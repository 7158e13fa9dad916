/**
 * The one way shiftup reaches a PostgreSQL server: `pg`, imported at the first connection (so
 * importing `shiftup/data` loads nothing), behind a structural interface of our own, so no
 * declaration shiftup ships names a type of `pg`. A connection goes to the address the run's
 * egress allowlist checked (the name is resolved once, then that address is used), carries the
 * run id in `application_name` (invariant 6), takes its password only from the variable the
 * target names, and fixes the session settings that decide how values print — so a value read
 * as text is written back as the very same value, here and in `recover`'s fresh process.
 */
import { Effect } from "effect"
import { RunContext } from "../../../RunContext.ts"
import { checkEgress } from "../../../internal/egress.ts"
import { describeUnknown, isShiftupError, type ShiftupError } from "../../../ShiftupError.ts"
import type { Connection, CredentialsProblem, SessionOptions } from "../../internal/connection.ts"
import * as SqlSessions from "../../internal/session.ts"

/** A row as shiftup reads it: every value selected as text (or a number for counts). */
export type Row = Readonly<Record<string, string | number | boolean | null>>

/** An open session. `query` always uses the extended protocol: one statement, values as parameters. */
export interface Session {
  readonly query: (text: string, params?: ReadonlyArray<unknown>) => Promise<ReadonlyArray<Row>>
  readonly close: () => Promise<void>
}

interface PgClient {
  connect(): Promise<unknown>
  query(config: { readonly text: string; readonly values: Array<unknown>; readonly queryMode: "extended" }): Promise<{ readonly rows: Array<Row> }>
  end(): Promise<void>
  on(event: "error", listener: (e: Error) => void): unknown
}
interface PgModule {
  readonly Client: new (config: Readonly<Record<string, unknown>>) => PgClient
}

let loading: Promise<PgModule> | undefined
const loadPg = (): Promise<PgModule> =>
  (loading ??= import("pg").then(
    (m) => {
      const mod = m as unknown as PgModule & { readonly default?: PgModule }
      return mod.default ?? mod
    },
    (e: unknown) => {
      loading = undefined
      throw new Error(`the PostgreSQL client is not installed (${describeUnknown(e)}): run \`npm install pg\` in the project that runs shiftup`)
    },
  ))

// Values print the same way in every session: a value read as text is written back identical.
const settings = ["DateStyle=ISO,YMD", "TimeZone=UTC", "IntervalStyle=postgres", "extra_float_digits=3", "bytea_output=hex", "lock_timeout=5000", "statement_timeout=30000", "idle_in_transaction_session_timeout=60000"]

/** The `application_name` of a run's sessions: the run id (invariant 6), within PostgreSQL's 63 bytes. */
export const applicationName = (runId: string): string => `shiftup run ${runId}`.slice(0, 63)

/** What went wrong, in words that say what to change; never a password (pg's errors hold none). */
export const describePg = (e: unknown, c: Connection): string => {
  const err = e as { readonly code?: string; readonly message?: string; readonly detail?: string }
  const code = typeof err.code === "string" ? err.code : undefined
  const base = err.message ?? describeUnknown(e)
  if (code === "28P01" || code === "28000")
    return `${base}: ${c.passwordEnv === undefined ? "the server wants a password; put it in an environment variable and name it in `passwordEnv`" : `check the password in $${c.passwordEnv} and the user in the URL`}`
  if (/password must be a string|client password must be/i.test(base)) return "the server asks for a password, but the target names no `passwordEnv`: put the password in an environment variable and name it there"
  if (code === "ECONNREFUSED") return `${base}: is the server running and listening there?`
  return `${base}${typeof err.detail === "string" ? ` (${err.detail})` : ""}${code === undefined || /^[A-Z]+$/.test(code) ? "" : ` [SQLSTATE ${code}]`}`
}

const credentialsProblem = (e: unknown, c: Connection): { readonly problem: CredentialsProblem; readonly said: string } | undefined => {
  const err = e as { readonly code?: string; readonly message?: string }
  const said = err.message ?? describeUnknown(e)
  if (err.code === "28P01" || err.code === "28000") return { problem: c.passwordEnv === undefined ? "required" : "refused", said }
  if (/password must be a string|client password must be/i.test(said)) return { problem: "required", said }
  return undefined
}

/** How a session differs from a plain one: a session a fault holds is named by its marker, and may outlive the default timeouts. */
export interface PgSessionOptions extends SessionOptions {
  /** `application_name` instead of `shiftup run <run id>` (at most 63 bytes). */
  readonly name?: string
  /** Settings after the fixed ones (a later `-c` wins): `idle_in_transaction_session_timeout=600000`. */
  readonly settings?: ReadonlyArray<string>
}

/**
 * Opens a session to `c` for the current run: the host checked against the run's egress
 * allowlist (in `recover`, the crashed run's), the password read from `c.passwordEnv` now.
 */
export const open = (c: Connection, wrap: (detail: string) => ShiftupError, options: PgSessionOptions = {}): Effect.Effect<Session, ShiftupError> =>
  Effect.gen(function* () {
    const onCredentials = options.onCredentials
    const ctx = yield* RunContext
    const url = new URL(c.url)
    const hostname = url.hostname.replace(/^\[|\]$/g, "")
    if (c.passwordEnv !== undefined && (process.env[c.passwordEnv] ?? "") === "")
      return yield* Effect.fail(onCredentials !== undefined ? onCredentials("unset") : wrap(`the password variable $${c.passwordEnv} (passwordEnv) is not set in this process, or is empty: export it with the password, as for the run`))
    const checked = yield* checkEgress(ctx.egress, hostname).pipe(Effect.mapError((e) => wrap(e.message)))
    return yield* Effect.tryPromise({
      try: async () => {
        const pg = await loadPg()
        const password = c.passwordEnv === undefined ? undefined : process.env[c.passwordEnv]
        const sslmode = url.searchParams.get("sslmode")
        const ssl = sslmode === null || sslmode === "disable" || sslmode === "prefer" || sslmode === "allow" ? false : sslmode === "require" ? { rejectUnauthorized: false } : { servername: hostname }
        const user = decodeURIComponent(url.username)
        const client = new pg.Client({
          host: checked.address,
          port: url.port === "" ? 5432 : Number(url.port),
          ...(user === "" ? {} : { user }),
          database: decodeURIComponent(url.pathname.replace(/^\//, "")) || user || "postgres",
          // A function, so pg never falls back to PGPASSWORD or ~/.pgpass: the password comes only from passwordEnv.
          password: () => password ?? "",
          ssl,
          application_name: (options.name ?? applicationName(ctx.runId)).slice(0, 63),
          options: [...settings, ...(options.settings ?? [])].map((s) => `-c ${s}`).join(" "),
          connectionTimeoutMillis: 5000,
        })
        // A server that ends an idle session emits 'error' on the client: never crash the process for it.
        client.on("error", () => undefined)
        try {
          await client.connect()
        } catch (e) {
          await client.end().catch(() => undefined)
          throw e
        }
        const session: Session = {
          query: async (text, params = []) => (await client.query({ text, values: [...params], queryMode: "extended" })).rows,
          close: () => client.end().catch(() => undefined),
        }
        return session
      },
      catch: (e) => {
        if (isShiftupError(e)) return e
        const credentials = onCredentials === undefined ? undefined : credentialsProblem(e, c)
        return credentials !== undefined && onCredentials !== undefined ? onCredentials(credentials.problem, credentials.said) : wrap(`cannot connect to ${url.host}: ${describePg(e, c)}`)
      },
    })
  })

// Reads see one snapshot; writes take row locks in the default READ COMMITTED.
const sessions = SqlSessions.make<Session, PgSessionOptions>(open, describePg, { "read only": "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "read write": "BEGIN READ WRITE" })

export const { attempt, withSession, transaction } = sessions
