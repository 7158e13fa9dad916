/**
 * Invariant 3: an environment nobody named counts as production. Targets carry random labels,
 * names, host names and process environment variables — even under the keys that usually hold
 * an environment — but no value that names one. Disrupting or destroying them is refused, and
 * observing them needs the production opt-in.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Expect, Experiment, Runner, Target } from "shiftup"
import { withWorld } from "../support/prop-world.ts"

/**
 * Words that could name an environment or a data store, written independently of
 * src/internal/classify.ts (a superset), so a generated value never carries a real signal.
 */
const meaningful = new Set([
  ..."production prod prd live prod1 staging stage stg preprod pre uat qa test testing development develop dev local lab sandbox chaos demo".split(" "),
  ..."postgres postgresql pg mysql mariadb mongo mongodb redis valkey memcached elasticsearch opensearch elastic cassandra scylla kafka rabbitmq nats minio etcd clickhouse cockroach cockroachdb neo4j couchdb couchbase influxdb timescaledb zookeeper dynamodb oracle mssql sqlserver db2 keydb dragonfly pulsar db database".split(" "),
  ..."dbs databases datastore datastores datastorage sql nosql rds cache caches store stores storage ledger ledgers warehouse dwh datalake lake kv mq queue queues persistence".split(" "),
  ..."mysqld mariadbd mongod mongos postmaster pgbouncer pgpool proxysql vitess tidb yugabyte solr meilisearch typesense qdrant weaviate milvus chroma arangodb rethinkdb surrealdb questdb victoriametrics hazelcast ignite aerospike riak hbase hadoop hdfs ceph seaweedfs sqlite duckdb firebird sybase scylladb yugabytedb".split(" "),
])

/** A word that names nothing: not a listed word, and no `…db` database name (`userdb`). */
const neutralWord = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/).filter((w) => !meaningful.has(w) && !meaningful.has(w.replace(/\d+$/, "")) && !(w.replace(/\d+$/, "").length > 3 && w.replace(/\d+$/, "").endsWith("db")))
const neutralName = fc.array(neutralWord, { minLength: 1, maxLength: 3 }).map((ws) => ws.join("-"))

/** The keys where environments usually live, plus arbitrary ones. */
const labelKey = fc.oneof(fc.constantFrom("shiftup.env", "environment", "env", "stage", "tier", "app.kubernetes.io/environment", "deployment.environment", "team", "app"), neutralWord)
const envVarKey = fc.oneof(fc.constantFrom("NODE_ENV", "APP_ENV", "ENVIRONMENT", "ENV", "RAILS_ENV", "RACK_ENV", "SPRING_PROFILES_ACTIVE", "ASPNETCORE_ENVIRONMENT", "DEPLOY_ENV", "HOME"), neutralWord.map((w) => w.toUpperCase()))
/** Ports that no data store is known for. */
const knownStorePorts = new Set([5432, 6432, 3306, 33060, 27017, 6379, 26379, 11211, 9200, 9300, 9042, 9092, 5672, 4222, 2379, 8123, 26257, 7687, 5984, 8086, 2181, 1521, 1433, 28015, 6380, 5433, 27018, 15672])
const port = fc.integer({ min: 1, max: 65535 }).filter((p) => !knownStorePorts.has(p))

const facts = fc.record(
  {
    name: neutralName,
    hostnames: fc.array(fc.tuple(neutralName, neutralWord).map(([a, b]) => `${a}.${b}.internal`), { maxLength: 2 }),
    labels: fc.dictionary(labelKey, neutralName, { maxKeys: 4 }),
    env: fc.dictionary(envVarKey, neutralName, { maxKeys: 4 }),
    image: neutralName.map((n) => `registry.internal/${n}:1.2`),
    process: neutralWord,
    ports: fc.array(port, { maxLength: 3 }),
  },
  { requiredKeys: [] },
)

const spec = fc.record({
  facts,
  targetLabels: fc.dictionary(labelKey, neutralName, { maxKeys: 2 }),
  safety: fc.constantFrom("observe", "disrupt", "destroy") as fc.Arbitrary<"observe" | "disrupt" | "destroy">,
  observeProduction: fc.boolean(),
})

describe("an unknown environment is production (invariant 3)", () => {
  it("refuses disrupt and destroy, and needs the opt-in to observe, when no signal names an environment", async () => {
    await fc.assert(
      fc.asyncProperty(spec, async (s) =>
        withWorld(async (w) => {
          const t = Target.make("svc", { labels: s.targetLabels, facts: s.facts })
          const step = s.safety === "observe" ? Expect.that(w.probe("look", t), true) : w.fault("poke", t, { safety: s.safety })
          const experiment = Experiment.make({
            id: "prop.unknown",
            title: "unknown is production",
            targets: { t },
            observeProduction: s.observeProduction,
            budget: { maxDestroySteps: 1 },
            method: [step],
          })
          const journal = await Runner.runPromise(experiment, w.options())
          const planned = journal.plan?.targets.find((p) => p.id === "svc")
          expect(planned?.environment).toBe("unknown")
          expect(planned?.effective).toBe("production")
          expect(planned?.dataStore.is).toBe(false)

          if (s.safety === "observe" && s.observeProduction) {
            expect(journal.status).toBe("passed")
            expect(w.of("observe")).toEqual(["look"])
            return
          }
          expect(journal.status).toBe("refused")
          expect(journal.exitCode).toBe(2)
          expect(journal.refusal?.rule).toBe(s.safety === "observe" ? "floor.production-observe-opt-in" : "floor.unknown-is-production")
          expect(w.contacts).toEqual([])
        }),
      ),
      { numRuns: 100 },
    )
  })
})
