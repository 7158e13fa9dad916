/**
 * `shiftup/watch`: continuous observe-only checking. `shiftup watch` runs the config's `watch`
 * jobs (experiments whose every step is observe-class, inventory snapshots with drift,
 * misconfiguration rules, OSV vulnerability matching; one probe budget shared by all) on
 * intervals or cron expressions; every finding goes into a store with a lifecycle — a stable
 * fingerprint (rule + asset + location), first and last seen, occurrences, new / open /
 * resolved / regressed / accepted-risk (an expired acceptance reopens) — served as Prometheus
 * metrics and signed webhooks. This entry is the store (SQLite, or PostgreSQL for several
 * watchers) and the watcher as a library. docs/watch.md documents it.
 *
 * @example
 * import * as Watch from "shiftup/watch"
 * const store = Watch.openSqlite(".shiftup/watch.sqlite")
 * for (const f of await store.open()) console.log(f.severity, f.rule, f.asset, f.state)
 */
import "../../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails
export { FindingStoreError, UnmappedTarget } from "../ShiftupError.ts"
export { renderOpen, type Format as FindingsFormat } from "./findings.ts"
export { notObserveOnly } from "./jobs.ts"
export { logger, type Level, type LogFormat, type Logger } from "./log.ts"
export { fromDrift, fromJournal, fromMisconfig, fromVulns } from "./observations.ts"
export type { ExperimentJob, FactSource, InventoryJob, MisconfigJob, ProbeSettings, VulnsJob, WatchJob, WatchSettings, WebhookSettings } from "./settings.ts"
export type { ContainerSide, EnvironmentMapping, FeedbackSettings, MappingSide } from "./feedback/settings.ts"
export { allJobs, jobsFileOf, jobsFileSchema, readJobsFile, type JobsFile } from "./jobs-file.ts"
export { fingerprint } from "./store/fingerprint.ts"
export { migrate, migrations, openSqlite, schemaVersion } from "./store/sqlite.ts"
export { openPostgres, pgMigrations, type PostgresStoreOptions } from "./store/postgres.ts"
export { openStore } from "./store/open.ts"
export type { Delivery, FeedbackLink, FindingStore, NewDelivery, Observation, RecordOptions, Settlement, Severity, State, StoredFinding, Transition } from "./store/Store.ts"
export { eventSchema, sign, type WatchEvent } from "./webhook.ts"
export { startWatch, stateFileOf, stateSchema, type JobState, type Watcher, type WatchOptions, type WatchState } from "./watch.ts"
