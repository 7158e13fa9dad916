/**
 * Environment resolution and data store classification (DESIGN.md). Pure: works on the facts an
 * adapter discovered. Every signal from every source is collected and kept (for the journal and
 * `shiftup plan`), and the most restrictive one wins: production > staging > development > lab,
 * no signal at all = `unknown` = production. An experiment's explicit `environment` is one signal
 * among the others — it decides alone only where nothing else is known, and never loosens
 * evidence. A data store is recognised by any match: engine names in images, processes, names
 * and host names; data-store words in names; data-tier labels; well-known ports; a protocol
 * fingerprint; or the experiment saying so. Nothing here can turn evidence of a data store off.
 */
import type { Environment, Facts, Target } from "../Target.ts"

export interface Signal {
  readonly source: "explicit" | "label" | "name" | "hostname" | "env-var" | "image" | "process" | "port" | "fingerprint" | "exception" | "default"
  readonly key: string
  readonly value: string
  readonly means: string
  /** The member the signal was found on (multi-member targets). */
  readonly member?: string
}

export interface Classification {
  /** The environment the signals point to (`unknown` when none does). */
  readonly environment: Environment
  /** What the safety floor applies: `unknown` counts as `production`. */
  readonly effective: Exclude<Environment, "unknown">
  /** Every environment signal found, the decisive ones first. */
  readonly environmentSignals: ReadonlyArray<Signal>
  /** When signals disagree: one line naming them, shown in the plan. */
  readonly conflict?: string
  readonly dataStore: { readonly is: boolean; readonly engine?: string; readonly signals: ReadonlyArray<Signal> }
}

/** A named, journaled override of the evidence for one mislabelled member (config `exceptions`). */
export interface Exception {
  /** Shown in the plan and the journal, e.g. `orders-1 is staging despite its prod name (TICKET-42)`. */
  readonly name: string
  /** The member's id (a container id or name, a URL origin, host:port). */
  readonly member: string
  /** The environment the evidence resolves to, and the one step down it may move to. */
  readonly from: Exclude<Environment, "unknown" | "lab">
  readonly to: Exclude<Environment, "unknown" | "production">
}

/** Most protected first. */
const protection: Record<Environment, number> = { production: 4, unknown: 4, staging: 3, development: 2, lab: 1 }

export const mostProtected = (envs: ReadonlyArray<Environment>): Environment =>
  envs.reduce<Environment | undefined>((a, b) => (a === undefined || protection[b] > protection[a] || (protection[b] === protection[a] && b === "production") ? b : a), undefined) ?? "unknown"

/** The one step down from each environment an exception may move a member. */
export const stepDown: Readonly<Record<Exception["from"], Exception["to"]>> = { production: "staging", staging: "development", development: "lab" }

const environmentWords: ReadonlyArray<readonly [Environment, ReadonlyArray<string>]> = [
  ["production", ["production", "prod", "prd", "live"]],
  ["staging", ["staging", "stage", "stg", "preprod", "uat", "qa"]],
  ["development", ["development", "develop", "dev", "local"]],
  ["lab", ["lab", "sandbox", "chaos"]],
]

const wordToEnvironment = (word: string): Environment | undefined => {
  for (const [env, words] of environmentWords) if (words.includes(word)) return env
  return undefined
}

/**
 * The words of a name, lower case: split on anything not a letter or digit and on camelCase
 * humps, trailing digits dropped (`ordersDb2` → orders, db; `orders-prd-1` → orders, prd, 1).
 * Whole tokens only, so `sandbox` is not `and`, `dbt-docs` is not `db`.
 */
export const tokens = (value: string): ReadonlyArray<string> =>
  value
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .map((t) => (/^[a-z]+\d+$/.test(t) ? t.replace(/\d+$/, "") : t))
    .filter((t) => t !== "")

/** Whole-value match first ("Production"), then any token of a name ("orders-prd-1"). */
const environmentOf = (value: string): Environment | undefined => {
  const whole = wordToEnvironment(value.trim().toLowerCase())
  if (whole !== undefined) return whole
  const found = tokens(value).map(wordToEnvironment).filter((e): e is Environment => e !== undefined)
  return found.length === 0 ? undefined : mostProtected(found)
}

export const environmentLabelKeys = ["shiftup.env", "shiftup.environment", "environment", "env", "stage", "tier", "app.kubernetes.io/environment", "deployment.environment"]
export const environmentVariables = ["NODE_ENV", "APP_ENV", "ENVIRONMENT", "ENV", "RAILS_ENV", "RACK_ENV", "SPRING_PROFILES_ACTIVE", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT", "DJANGO_ENV", "FLASK_ENV", "MIX_ENV", "STAGE", "DEPLOY_ENV", "APP_STAGE", "GO_ENV", "APPLICATION_ENV"]

const signal = (source: Signal["source"], key: string, value: string, means: string, member?: string): Signal => ({ source, key, value, means, ...(member === undefined ? {} : { member }) })

/** Every environment signal of one member, from every source. */
const environmentSignalsOf = (target: Target, facts: Facts): ReadonlyArray<Signal> => {
  const found: Array<Signal> = []
  if (target.environment !== undefined) found.push(signal("explicit", "environment", target.environment, target.environment))
  // Label keys match whatever their case (`ENV`, `Environment`); each label counts once.
  for (const [key, value] of Object.entries({ ...target.labels, ...facts.labels })) {
    if (!environmentLabelKeys.includes(key.toLowerCase())) continue
    const env = environmentOf(value)
    if (env !== undefined) found.push(signal("label", key, value, env))
  }
  for (const [source, value] of [["name", facts.name], ...(facts.hostnames ?? []).map((h) => ["hostname", h] as const)] as const) {
    const env = value === undefined ? undefined : environmentOf(value)
    if (env !== undefined && value !== undefined) found.push(signal(source, source, value, env))
  }
  for (const key of environmentVariables) {
    const value = facts.env?.[key]
    const env = value === undefined ? undefined : environmentOf(value)
    if (env !== undefined && value !== undefined) found.push(signal("env-var", key, value, env))
  }
  return found
}

export const dataStoreEngines = [
  "postgres", "postgresql", "mysql", "mariadb", "mongo", "mongodb", "redis", "valkey", "memcached", "elasticsearch", "opensearch",
  "cassandra", "scylla", "scylladb", "kafka", "rabbitmq", "nats", "minio", "etcd", "clickhouse", "cockroach", "cockroachdb", "neo4j", "couchdb",
  "couchbase", "influxdb", "timescaledb", "zookeeper", "dynamodb", "oracle", "mssql", "sqlserver", "db2", "keydb", "dragonfly", "pulsar",
  "mysqld", "mariadbd", "mongod", "mongos", "postmaster", "pgbouncer", "pgpool", "proxysql", "vitess", "tidb", "yugabyte", "yugabytedb",
  "solr", "meilisearch", "typesense", "qdrant", "weaviate", "milvus", "chroma", "arangodb", "rethinkdb", "surrealdb", "questdb", "victoriametrics",
  "hazelcast", "ignite", "aerospike", "riak", "hbase", "hadoop", "hdfs", "ceph", "seaweedfs", "sqlite", "duckdb", "firebird", "sybase",
]

/** Words (whole tokens of a name) that say "this holds data". Documented in docs/safety.md. */
export const dataStoreWords = [
  "db", "dbs", "database", "databases", "datastore", "datastores", "datastorage", "sql", "nosql", "pg", "rds",
  "cache", "caches", "store", "stores", "storage", "ledger", "ledgers", "warehouse", "dwh", "datalake", "lake", "kv", "mq", "queue", "queues", "persistence",
]

/** Label keys that name a service's tier or role; their values are matched like names. */
export const dataTierLabelKeys = ["tier", "role", "component", "layer", "type", "app.kubernetes.io/component", "app.kubernetes.io/part-of", "shiftup.datastore", "shiftup.data-store", "datastore", "data-store"]

const aliases: Readonly<Record<string, string>> = {
  postgresql: "postgres", pg: "postgres", postmaster: "postgres", pgbouncer: "postgres", pgpool: "postgres", mongodb: "mongo", mongod: "mongo", mongos: "mongo",
  cockroachdb: "cockroach", sqlserver: "mssql", mysqld: "mysql", mariadbd: "mariadb", scylladb: "scylla", yugabytedb: "yugabyte", proxysql: "mysql",
}
const canonicalEngine = (w: string): string => aliases[w] ?? w

export const dataStorePorts: Readonly<Record<number, string>> = {
  5432: "postgres", 3306: "mysql", 33060: "mysql", 27017: "mongo", 6379: "redis", 11211: "memcached", 9200: "elasticsearch", 9300: "elasticsearch",
  9042: "cassandra", 9092: "kafka", 5672: "rabbitmq", 4222: "nats", 2379: "etcd", 8123: "clickhouse", 26257: "cockroach", 7687: "neo4j",
  5984: "couchdb", 8086: "influxdb", 2181: "zookeeper", 1521: "oracle", 1433: "mssql", 6432: "postgres", 26379: "redis", 28015: "rethinkdb",
}

/** The engine a text names (image, process, name), or `data store` for a data-store word. */
const storeIn = (value: string): string | undefined => {
  const words = tokens(value)
  const engine = words.find((w) => dataStoreEngines.includes(w))
  if (engine !== undefined) return canonicalEngine(engine)
  // `userdb`, `ordersdb`: a word ending in "db" is a database's name (`dbt` is not).
  if (words.some((w) => dataStoreWords.includes(w) || (w.length > 3 && w.endsWith("db")))) return "data store"
  return undefined
}

const dataStoreSignalsOf = (target: Target, facts: Facts): ReadonlyArray<Signal> => {
  const signals: Array<Signal> = []
  if (target.dataStore !== undefined && target.dataStore !== false)
    signals.push(signal("explicit", "dataStore", String(target.dataStore), target.dataStore === true ? "data store" : canonicalEngine(String(target.dataStore))))
  const text: ReadonlyArray<readonly [Signal["source"], string | undefined]> = [
    ["image", facts.image],
    ["process", facts.process],
    ["name", facts.name],
    ...(facts.hostnames ?? []).map((h) => ["hostname", h] as const),
  ]
  for (const [source, value] of text) {
    const store = value === undefined ? undefined : storeIn(value)
    if (store !== undefined && value !== undefined) signals.push(signal(source, source, value, store))
  }
  for (const [key, value] of Object.entries({ ...target.labels, ...facts.labels })) {
    if (!dataTierLabelKeys.includes(key.toLowerCase())) continue
    const store = /^(true|yes|1)$/i.test(value) && key.toLowerCase().includes("store") ? "data store" : storeIn(value)
    if (store !== undefined) signals.push(signal("label", key, value, store))
  }
  for (const port of new Set([...(facts.ports ?? []), ...(facts.endpoints ?? []).map((e) => e.port)])) {
    const engine = dataStorePorts[port]
    if (engine !== undefined && engine !== "") signals.push(signal("port", "port", String(port), engine))
  }
  if (facts.fingerprint !== undefined) signals.push(signal("fingerprint", "handshake", facts.fingerprint, canonicalEngine(facts.fingerprint)))
  return signals
}

/** Classifies one member of a target, applying at most one exception of the config. */
export const classifyMember = (target: Target, facts: Facts, exceptions: ReadonlyArray<Exception> = []): Classification => {
  const envSignals = environmentSignalsOf(target, facts)
  let environment: Environment = envSignals.length === 0 ? "unknown" : mostProtected(envSignals.map((s) => s.means as Environment))
  // "Any match counts" (DESIGN.md): `dataStore: false` adds no signal but cannot hide evidence.
  const dsSignals = dataStoreSignalsOf(target, facts)
  const isStore = dsSignals.length > 0
  const exception = exceptions.find((x) => (x.member === facts.id || x.member === facts.name) && x.from === environment && stepDown[x.from] === x.to)
  // Never out of production for a data store; never more than one step.
  const applied = exception !== undefined && !(isStore && exception.from === "production") ? exception : undefined
  if (applied !== undefined) environment = applied.to
  const signals = [
    ...(applied === undefined ? [] : [signal("exception", applied.name, `${applied.from} → ${applied.to}`, applied.to)]),
    ...[...envSignals].sort((a, b) => protection[b.means as Environment] - protection[a.means as Environment]),
  ]
  const distinct = [...new Set(envSignals.map((s) => s.means))]
  const engine = dsSignals.find((s) => s.means !== "data store")?.means
  return {
    environment,
    effective: environment === "unknown" ? "production" : environment,
    environmentSignals: signals.length === 0 ? [signal("default", "none", "no signal", "unknown")] : signals,
    ...(distinct.length > 1 ? { conflict: `signals disagree (${distinct.join(", ")}); the most restrictive wins: ${mostProtected(distinct as Array<Environment>)}` } : {}),
    dataStore: { is: isStore, ...(engine === undefined ? {} : { engine }), signals: dsSignals },
  }
}

/** Classifies a whole target: the most protected of its members, a data store if any member is. */
export const classify = (target: Target, members: ReadonlyArray<Facts>, exceptions: ReadonlyArray<Exception> = []): Classification => {
  if (members.length === 0) return classifyMember(target, { id: target.id }, exceptions)
  const each = members.map((m) => ({ member: m.id, c: classifyMember(target, m, exceptions) }))
  if (each.length === 1 && each[0] !== undefined) return each[0].c
  const environment = mostProtected(each.map((x) => x.c.environment))
  const stores = each.filter((x) => x.c.dataStore.is)
  const engine = stores.find((x) => x.c.dataStore.engine !== undefined)?.c.dataStore.engine
  const tag = (member: string) => (s: Signal): Signal => (s.source === "explicit" || s.source === "default" ? s : { ...s, member })
  const conflicts = each.filter((x) => x.c.conflict !== undefined).map((x) => `${x.member}: ${x.c.conflict}`)
  const memberEnvs = [...new Set(each.map((x) => x.c.environment))]
  if (memberEnvs.length > 1) conflicts.push(`members disagree (${memberEnvs.join(", ")}); the most restrictive wins: ${environment}`)
  return {
    environment,
    effective: environment === "unknown" ? "production" : environment,
    environmentSignals: dedupe([...each.filter((x) => x.c.environment === environment), ...each.filter((x) => x.c.environment !== environment)].flatMap((x) => x.c.environmentSignals.map(tag(x.member)))),
    ...(conflicts.length === 0 ? {} : { conflict: conflicts.join("; ") }),
    dataStore: { is: stores.length > 0, ...(engine === undefined ? {} : { engine }), signals: dedupe(stores.flatMap((x) => x.c.dataStore.signals.map(tag(x.member)))) },
  }
}

const dedupe = (signals: ReadonlyArray<Signal>): ReadonlyArray<Signal> => {
  const seen = new Set<string>()
  return signals.filter((s) => {
    const k = `${s.source}|${s.key}|${s.value}|${s.member ?? ""}`
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}
