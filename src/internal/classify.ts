/**
 * Environment resolution and data store classification (DESIGN.md). Pure: works on the facts an
 * adapter discovered. Every result carries the signals that decided it, for the journal and `plan`.
 */
import type { Environment, Facts, Target } from "../Target.ts"

export interface Signal {
  readonly source: "explicit" | "label" | "name" | "hostname" | "env-var" | "image" | "process" | "port" | "fingerprint" | "default"
  readonly key: string
  readonly value: string
  readonly means: string
}

export interface Classification {
  /** The environment the signals point to (`unknown` when none does). */
  readonly environment: Environment
  /** What the safety floor applies: `unknown` counts as `production`. */
  readonly effective: Exclude<Environment, "unknown">
  readonly environmentSignals: ReadonlyArray<Signal>
  readonly dataStore: { readonly is: boolean; readonly engine?: string; readonly signals: ReadonlyArray<Signal> }
}

/** Most protected first. */
const protection: Record<Environment, number> = { production: 4, unknown: 4, staging: 3, development: 2, lab: 1 }

export const mostProtected = (envs: ReadonlyArray<Environment>): Environment =>
  envs.reduce<Environment | undefined>((a, b) => (a === undefined || protection[b] > protection[a] || (protection[b] === protection[a] && b === "production") ? b : a), undefined) ?? "unknown"

const environmentWords: ReadonlyArray<readonly [Environment, ReadonlyArray<string>]> = [
  ["production", ["production", "prod", "prd", "live"]],
  ["staging", ["staging", "stage", "stg", "preprod", "uat", "qa"]],
  ["development", ["development", "develop", "dev", "local"]],
  ["lab", ["lab", "sandbox", "chaos"]],
]

const wordToEnvironment = (word: string): Environment | undefined => {
  const w = word.toLowerCase()
  for (const [env, words] of environmentWords) if (words.includes(w)) return env
  return undefined
}

/** Whole-value match first ("Production"), then any token of a name ("orders-prd-1"). */
const environmentOf = (value: string, tokens: boolean): Environment | undefined => {
  const whole = wordToEnvironment(value.trim())
  if (whole !== undefined || !tokens) return whole
  const found = value.split(/[^A-Za-z0-9]+/).map(wordToEnvironment).filter((e): e is Environment => e !== undefined)
  return found.length === 0 ? undefined : mostProtected(found)
}

export const environmentLabelKeys = ["shiftup.env", "shiftup.environment", "environment", "env", "stage", "tier", "app.kubernetes.io/environment", "deployment.environment"]
export const environmentVariables = ["NODE_ENV", "APP_ENV", "ENVIRONMENT", "ENV", "RAILS_ENV", "RACK_ENV", "SPRING_PROFILES_ACTIVE", "ASPNETCORE_ENVIRONMENT", "DJANGO_ENV", "FLASK_ENV", "MIX_ENV", "STAGE", "DEPLOY_ENV"]

const signal = (source: Signal["source"], key: string, value: string, means: string): Signal => ({ source, key, value, means })

/** The tiers of DESIGN.md in order; the first tier with a signal wins, conflicts inside it go to the most protected. */
const environmentTiers = (target: Target, facts: Facts): ReadonlyArray<ReadonlyArray<Signal>> => {
  const labels = { ...target.labels, ...facts.labels }
  const fromLabels = environmentLabelKeys.flatMap((key) => {
    const value = labels[key]
    const env = value === undefined ? undefined : environmentOf(value, true)
    return env === undefined || value === undefined ? [] : [signal("label", key, value, env)]
  })
  const names = [
    ...(facts.name === undefined ? [] : [signal("name", "name", facts.name, "")]),
    ...(facts.hostnames ?? []).map((h) => signal("hostname", "hostname", h, "")),
  ].flatMap((s) => {
    const env = environmentOf(s.value, true)
    return env === undefined ? [] : [{ ...s, means: env }]
  })
  const fromEnv = environmentVariables.flatMap((key) => {
    const value = facts.env?.[key]
    const env = value === undefined ? undefined : environmentOf(value, true)
    return env === undefined || value === undefined ? [] : [signal("env-var", key, value, env)]
  })
  return [fromLabels, names, fromEnv]
}

const dataStoreEngines = [
  "postgres", "postgresql", "mysql", "mariadb", "mongo", "mongodb", "redis", "valkey", "memcached", "elasticsearch", "opensearch",
  "cassandra", "scylla", "kafka", "rabbitmq", "nats", "minio", "etcd", "clickhouse", "cockroach", "cockroachdb", "neo4j", "couchdb",
  "couchbase", "influxdb", "timescaledb", "zookeeper", "dynamodb", "oracle", "mssql", "sqlserver", "db2", "keydb", "dragonfly", "pulsar",
]

const canonicalEngine = (w: string): string =>
  ({ postgresql: "postgres", mongodb: "mongo", cockroachdb: "cockroach", sqlserver: "mssql" } as Record<string, string>)[w] ?? w

export const dataStorePorts: Readonly<Record<number, string>> = {
  5432: "postgres", 3306: "mysql", 27017: "mongo", 6379: "redis", 11211: "memcached", 9200: "elasticsearch", 9300: "elasticsearch",
  9042: "cassandra", 9092: "kafka", 5672: "rabbitmq", 4222: "nats", 2379: "etcd", 8123: "clickhouse", 26257: "cockroach", 7687: "neo4j",
  5984: "couchdb", 8086: "influxdb", 2181: "zookeeper", 1521: "oracle", 1433: "mssql",
}

const engineIn = (value: string): string | undefined => {
  const tokens = value.toLowerCase().split(/[^a-z0-9]+/)
  const hit = dataStoreEngines.find((e) => tokens.includes(e))
  return hit === undefined ? undefined : canonicalEngine(hit)
}

const dataStoreSignals = (target: Target, facts: Facts): ReadonlyArray<Signal> => {
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
    const engine = value === undefined ? undefined : engineIn(value)
    if (engine !== undefined && value !== undefined) signals.push(signal(source, source, value, engine))
  }
  for (const port of facts.ports ?? []) {
    const engine = dataStorePorts[port]
    if (engine !== undefined) signals.push(signal("port", "port", String(port), engine))
  }
  if (facts.fingerprint !== undefined) signals.push(signal("fingerprint", "handshake", facts.fingerprint, canonicalEngine(facts.fingerprint)))
  return signals
}

/** Classifies one member of a target. */
export const classifyMember = (target: Target, facts: Facts): Classification => {
  let environment: Environment = "unknown"
  let environmentSignals: ReadonlyArray<Signal> = [signal("default", "none", "no signal", "unknown")]
  if (target.environment !== undefined) {
    environment = target.environment
    environmentSignals = [signal("explicit", "environment", target.environment, target.environment)]
  } else {
    const tier = environmentTiers(target, facts).find((t) => t.length > 0)
    if (tier !== undefined) {
      environment = mostProtected(tier.map((s) => s.means as Environment))
      environmentSignals = tier
    }
  }
  // "Any match counts" (DESIGN.md): `dataStore: false` adds no signal but cannot hide evidence,
  // or it would be a flag that lowers the floor for a production database.
  const dsSignals = dataStoreSignals(target, facts)
  const engine = dsSignals.find((s) => s.means !== "data store")?.means
  return {
    environment,
    effective: environment === "unknown" ? "production" : environment,
    environmentSignals,
    dataStore: { is: dsSignals.length > 0, ...(engine === undefined ? {} : { engine }), signals: dsSignals },
  }
}

/** Classifies a whole target: the most protected of its members, a data store if any member is. */
export const classify = (target: Target, members: ReadonlyArray<Facts>): Classification => {
  const each = members.map((m) => classifyMember(target, m))
  if (each.length === 0) return classifyMember(target, { id: target.id })
  const environment = mostProtected(each.map((c) => c.environment))
  const decisive = each.filter((c) => c.environment === environment)
  const stores = each.filter((c) => c.dataStore.is)
  const engine = stores.find((c) => c.dataStore.engine !== undefined)?.dataStore.engine
  return {
    environment,
    effective: environment === "unknown" ? "production" : environment,
    environmentSignals: dedupe(decisive.flatMap((c) => c.environmentSignals)),
    dataStore: { is: stores.length > 0, ...(engine === undefined ? {} : { engine }), signals: dedupe(stores.flatMap((c) => c.dataStore.signals)) },
  }
}

const dedupe = (signals: ReadonlyArray<Signal>): ReadonlyArray<Signal> => {
  const seen = new Set<string>()
  return signals.filter((s) => {
    const k = `${s.source}|${s.key}|${s.value}`
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}
