/**
 * A SQL target's shape, whatever the engine: one server (a URL without a password, and the
 * variable that holds the password) and the tables an experiment may touch. It is always a data
 * store for the policy, its endpoint is declared so planning checks it against the egress
 * allowlist, and resolving it contacts nothing.
 */
import { Effect } from "effect"
import type { Environment, Target } from "../../Target.ts"
import { TargetTypeId } from "../../Target.ts"
import { type Connection, endpointOf } from "./connection.ts"
import type { TableName } from "./table-name.ts"

/** What every SQL target's options say besides its tables. */
export interface SqlTargetOptions {
  readonly url: string
  /** The environment variable holding the password, read at each connection (by the run and by `recover`). */
  readonly passwordEnv?: string
  readonly environment?: Environment
  readonly labels?: Readonly<Record<string, string>>
  readonly owner?: string
}

/**
 * An SQL target from valid options: always a data store, its endpoint declared, one member
 * (`<kind>://<endpoint>/<database>`, named `name`); resolving it contacts nothing.
 */
export const sqlTarget = <K extends string>(
  id: string,
  kind: K,
  options: SqlTargetOptions,
  tables: ReadonlyArray<TableName>,
  defaultPort: number,
  databaseOf: (url: URL) => { readonly database: string; readonly name: string },
): Target & { readonly kind: K; readonly connection: Connection; readonly tables: ReadonlyArray<TableName>; readonly endpoint: string } => {
  const connection: Connection = { url: options.url, ...(options.passwordEnv === undefined ? {} : { passwordEnv: options.passwordEnv }) }
  const endpoint = endpointOf(connection, defaultPort)
  const url = new URL(options.url)
  const host = url.hostname.replace(/^\[|\]$/g, "")
  const port = url.port === "" ? defaultPort : Number(url.port)
  const { database, name } = databaseOf(url)
  return {
    [TargetTypeId]: TargetTypeId,
    id,
    kind,
    ...(options.environment === undefined ? {} : { environment: options.environment }),
    // Always a data store: nothing an experiment says can turn that off.
    dataStore: kind,
    labels: options.labels ?? {},
    ...(options.owner === undefined ? {} : { owner: options.owner }),
    connection,
    tables,
    endpoint,
    resolve: Effect.succeed({
      members: [{ id: `${kind}://${endpoint}/${database}`, name, hostnames: [host], ports: [port], labels: options.labels ?? {}, endpoints: [{ host, port, protocol: "tcp" }] }],
      population: 1,
    }),
  }
}
