/**
 * The one way shiftup reaches a MySQL or MariaDB server: `mysql2`, imported at the first
 * connection (so importing `shiftup/data` loads nothing), behind a structural interface of our
 * own, so no declaration shiftup ships names a type of `mysql2`. A connection goes to the address
 * the run's egress allowlist checked, carries the run id (as the `program_name` connection
 * attribute, and as a comment on every statement, so the server's general log says which run
 * sent it: invariant 6), takes its password only from the variable the target names, and fixes
 * the session settings that decide how values print and parse — UTC, strict mode, backslash
 * escapes on — so a value read as text is written back as the very same value, here and in
 * `recover`'s fresh process. Every value is read as text (`typeCast`), never as a JavaScript
 * number or Date. One statement per call: multiple statements are off.
 */
import { Effect } from "effect"
import { RunContext } from "../../../RunContext.ts"
import { checkEgress } from "../../../internal/egress.ts"
import { describeUnknown, isShiftupError, type ShiftupError } from "../../../ShiftupError.ts"
import type { Connection, SessionOptions } from "../../internal/connection.ts"
import * as SqlSessions from "../../internal/session.ts"

/** A row as shiftup reads it: every value as text. */
export type Row = Readonly<Record<string, string | null>>

/** An open session. `query` sends one statement; `?` are values, escaped by the client. */
export interface Session {
  readonly query: (text: string, params?: ReadonlyArray<unknown>) => Promise<ReadonlyArray<Row>>
  readonly close: () => Promise<void>
}

interface Field {
  string(): string | null
}
interface MysqlConnection {
  query(options: { readonly sql: string; readonly values: Array<unknown> }): Promise<[unknown, unknown]>
  end(): Promise<void>
  destroy(): void
  on(event: "error", listener: (e: Error) => void): unknown
}
interface MysqlModule {
  readonly createConnection: (config: Readonly<Record<string, unknown>>) => Promise<MysqlConnection>
}

let loading: Promise<MysqlModule> | undefined
const loadMysql = (): Promise<MysqlModule> =>
  (loading ??= import("mysql2/promise").then(
    (m) => {
      const mod = m as unknown as MysqlModule & { readonly default?: MysqlModule }
      return typeof mod.createConnection === "function" ? mod : (mod.default as MysqlModule)
    },
    (e: unknown) => {
      loading = undefined
      throw new Error(`the MySQL client is not installed (${describeUnknown(e)}): run \`npm install mysql2\` in the project that runs shiftup`)
    },
  ))

// Values print and parse the same way in every session: a value read as text is written back identical.
const settings =
  "SET SESSION time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', group_concat_max_len = 18446744073709551615, innodb_lock_wait_timeout = 5, lock_wait_timeout = 5"

/** What went wrong, in words that say what to change; never a password (mysql2's errors hold none). */
export const describeMysql = (e: unknown, c: Connection): string => {
  const err = e as { readonly code?: string; readonly message?: string; readonly sqlMessage?: string; readonly errno?: number }
  const base = err.sqlMessage ?? err.message ?? describeUnknown(e)
  if (err.code === "ER_ACCESS_DENIED_ERROR" || err.errno === 1045)
    return `${base}: ${c.passwordEnv === undefined ? "the server wants a password; put it in an environment variable and name it in `passwordEnv`" : `check the password in $${c.passwordEnv} and the user in the URL`}`
  if (err.code === "ECONNREFUSED") return `${base}: is the server running and listening there?`
  return `${base}${typeof err.code === "string" && err.code.startsWith("ER_") ? ` [${err.code}]` : ""}`
}

/**
 * Opens a session to `c` for the current run: the host checked against the run's egress
 * allowlist (in `recover`, the crashed run's), the password read from `c.passwordEnv` now.
 */
export const open = (c: Connection, wrap: (detail: string) => ShiftupError, options: SessionOptions = {}): Effect.Effect<Session, ShiftupError> =>
  Effect.gen(function* () {
    const ctx = yield* RunContext
    const url = new URL(c.url)
    const hostname = url.hostname.replace(/^\[|\]$/g, "")
    const onCredentials = options.onCredentials
    if (c.passwordEnv !== undefined && (process.env[c.passwordEnv] ?? "") === "")
      return yield* Effect.fail(onCredentials !== undefined ? onCredentials("unset") : wrap(`the password variable $${c.passwordEnv} (passwordEnv) is not set in this process, or is empty: export it with the password, as for the run`))
    const checked = yield* checkEgress(ctx.egress, hostname).pipe(Effect.mapError((e) => wrap(e.message)))
    const tag = `/* shiftup run ${ctx.runId.replace(/[^A-Za-z0-9_.:-]/g, "_")} */ `
    return yield* Effect.tryPromise({
      try: async () => {
        const mysql = await loadMysql()
        const sslMode = (url.searchParams.get("ssl-mode") ?? url.searchParams.get("sslmode") ?? "disabled").toLowerCase()
        const ssl = sslMode === "disabled" || sslMode === "preferred" ? undefined : sslMode === "required" ? { rejectUnauthorized: false } : { servername: hostname }
        const user = decodeURIComponent(url.username)
        const database = decodeURIComponent(url.pathname.replace(/^\//, ""))
        const conn = await mysql.createConnection({
          host: checked.address,
          port: url.port === "" ? 3306 : Number(url.port),
          ...(user === "" ? {} : { user }),
          ...(database === "" ? {} : { database }),
          password: c.passwordEnv === undefined ? undefined : process.env[c.passwordEnv],
          ...(ssl === undefined ? {} : { ssl }),
          charset: "UTF8MB4_GENERAL_CI",
          multipleStatements: false,
          connectTimeout: 5000,
          connectAttributes: { program_name: `shiftup run ${ctx.runId}`.slice(0, 64) },
          typeCast: (field: Field) => field.string(),
        })
        // A server that ends an idle session emits 'error' on the connection: never crash the process for it.
        conn.on("error", () => undefined)
        const query = async (text: string, params: ReadonlyArray<unknown> = []) => {
          const [rows] = await conn.query({ sql: `${tag}${text}`, values: [...params] })
          return Array.isArray(rows) ? (rows as ReadonlyArray<Row>) : []
        }
        try {
          await query(settings)
        } catch (e) {
          conn.destroy()
          throw e
        }
        const session: Session = { query, close: () => conn.end().catch(() => conn.destroy()) }
        return session
      },
      catch: (e) => {
        if (isShiftupError(e)) return e
        const err = e as { readonly code?: string; readonly errno?: number; readonly sqlMessage?: string; readonly message?: string }
        // ER_ACCESS_DENIED_ERROR: no retry can fix a refused (or missing) password.
        if (onCredentials !== undefined && (err.code === "ER_ACCESS_DENIED_ERROR" || err.errno === 1045))
          return onCredentials(c.passwordEnv === undefined ? "required" : "refused", err.sqlMessage ?? err.message)
        return wrap(`cannot connect to ${url.host}: ${describeMysql(e, c)}`)
      },
    })
  })

// Reads see one snapshot; writes take row locks.
const sessions = SqlSessions.make<Session, SessionOptions>(open, describeMysql, { "read only": "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", "read write": "START TRANSACTION READ WRITE" })

export const { attempt, withSession, transaction } = sessions
