/**
 * How a data target names its server: a URL without a password, and the environment variable
 * that holds the password. The variable's name — never its value — goes into the ledger, so
 * `shiftup recover` in a fresh process connects with the same credentials, and no journal,
 * report or ledger ever holds a password.
 */
import { CredentialsRefused, fail, InvalidExperiment, type Issue, type ShiftupError } from "../../ShiftupError.ts"

export interface ConnectionOptions {
  /** The server, without a password: `postgres://app@127.0.0.1:5432/shop`, `redis://127.0.0.1:6379/0`. */
  readonly url: string
  /**
   * The environment variable holding the password, read at each connection (by the run, and by
   * `recover` after a crash). Absent: no password.
   */
  readonly passwordEnv?: string
}

/** What a compensation records to reach the server again: no secret in it. */
export interface Connection {
  readonly url: string
  readonly passwordEnv?: string
}

/** Issues with `o` for target `id` (a password in the URL, a URL of another scheme, no host). */
export const connectionIssues = (id: string, o: ConnectionOptions, schemes: ReadonlyArray<string>): ReadonlyArray<Issue> => {
  let url: URL
  try {
    url = new URL(o.url)
  } catch {
    return [{ path: `${id}.url`, message: `"${o.url}" is not a URL (expected e.g. ${schemes[0]}://127.0.0.1:port)` }]
  }
  const issues: Array<Issue> = []
  if (!schemes.includes(url.protocol.replace(/:$/, ""))) issues.push({ path: `${id}.url`, message: `the scheme is ${url.protocol.replace(/:$/, "")}; expected ${schemes.join(" or ")}` })
  if (url.hostname === "") issues.push({ path: `${id}.url`, message: "the URL names no host" })
  if (url.password !== "") issues.push({ path: `${id}.url`, message: "the URL holds a password: put it in an environment variable and name that variable in `passwordEnv` (a password in the URL would reach the ledger)" })
  if (o.passwordEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.passwordEnv)) issues.push({ path: `${id}.passwordEnv`, message: `"${o.passwordEnv}" is not an environment variable name` })
  return issues
}

/** Throws `InvalidExperiment` when `o` has issues; the connection a compensation may record otherwise. */
export const connection = (id: string, o: ConnectionOptions, schemes: ReadonlyArray<string>): Connection => {
  const issues = connectionIssues(id, o, schemes)
  if (issues.length > 0) throw new InvalidExperiment({ source: `data target "${id}"`, issues })
  return { url: o.url, ...(o.passwordEnv === undefined ? {} : { passwordEnv: o.passwordEnv }) }
}

/** The password of `c` from this process's environment; undefined when it names none. */
export const passwordOf = (c: Connection): string | undefined => (c.passwordEnv === undefined ? undefined : process.env[c.passwordEnv])

/** `host:port` of `c`, with the engine's default port when the URL has none. */
export const endpointOf = (c: Connection, defaultPort: number): string => {
  const url = new URL(c.url)
  const host = url.hostname.startsWith("[") ? url.hostname : url.hostname.includes(":") ? `[${url.hostname}]` : url.hostname
  return `${host}:${url.port === "" ? defaultPort : url.port}`
}

/** `user@host:port` of `c` (`host:port` without a user): who a password belongs to, never the password. */
export const serverOf = (c: Connection, defaultPort: number): string => {
  const user = new URL(c.url).username
  return `${user === "" ? "" : `${decodeURIComponent(user)}@`}${endpointOf(c, defaultPort)}`
}

/** What is wrong with the credentials when that is why a connection failed: `unset`, `refused`, `required`. */
export type CredentialsProblem = "unset" | "refused" | "required"

/** Builds the error for a credentials problem (a compensation's: `CredentialsRefused`, which stops its retries). */
export type OnCredentials = (problem: CredentialsProblem, said?: string) => ShiftupError

/** How a session differs from a plain one. */
export interface SessionOptions {
  /** A credentials problem fails with this error (a compensation's `CredentialsRefused`) rather than the session's own. */
  readonly onCredentials?: OnCredentials
}

/** The `CredentialsRefused` of a compensation of `kind` for `target` on server `c`: no retry can fix it, so the restore stops at once and says what to set. */
export const credentialsRefused =
  (kind: string, target: string, c: Connection, defaultPort: number): OnCredentials =>
  (problem, said) =>
    fail(new CredentialsRefused({ fault: kind, target, server: serverOf(c, defaultPort), ...(c.passwordEnv === undefined ? {} : { passwordEnv: c.passwordEnv }), problem, ...(said === undefined ? {} : { detail: said }) }))
