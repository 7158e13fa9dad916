/**
 * `npm run demo:data`: data chaos against the data lab (data-lab.ts) — a real PostgreSQL, a real
 * redis-server and a shop application using both, all on 127.0.0.1 — with the three experiments
 * of experiments/data/ run one after the other through the real CLI:
 *
 *   (a) sessions corrupted in Redis       → a finding: the app trusts the role a session says
 *   (b) a role flipped in PostgreSQL      → the audit trigger's alert, and the app fails closed
 *   (c) the orders table encrypted        → the app fails closed; the restore, timed
 *
 * Before each run the demo takes the scope's checksum (`Data.Redis.checksum`,
 * `Data.Postgres.checksum`, in an observe-only run) and hands it to the experiment, whose
 * hypothesis must see it again before the faults and after the rollback: "restored exactly" is
 * asserted by checksums and printed. Exit 0 when every experiment ended as designed (the finding
 * in (a) is the point of the demo). Every process is stopped by pid at the end, on Ctrl-C too.
 *
 * Needs PostgreSQL (Debian/Ubuntu: `apt-get install postgresql`) and redis-server (`apt-get
 * install redis-server`; or SHIFTUP_REDIS_SERVER naming its path).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type * as PostgresModule from "../data/postgres/index.ts"
import type * as RedisModule from "../data/redis/index.ts"
import type * as Journal from "../Journal.ts"
import type { Probe } from "../Probe.ts"
import { type DataLab, startDataLab } from "./data-lab.ts"
import { MissingServer } from "./servers.ts"

// shiftup itself loads while the lab starts (a failure is handled where it is awaited, below).
const modules = Promise.all([import("../cli/main.ts"), import("../data/postgres/index.ts"), import("../data/redis/index.ts"), import("../Expect.ts"), import("../Experiment.ts"), import("../Runner.ts")] as const)
modules.catch(() => undefined)

const out = (s: string) => void process.stdout.write(s)
const fail = (code: number, s: string): never => {
  process.stderr.write(`shiftup demo:data: ${s}\n`)
  process.exit(code)
}

interface Digest {
  readonly digest: string
  /** `3 keys`, `3 rows`. */
  readonly size: string
}

interface Demo {
  readonly label: string
  readonly file: string
  readonly id: string
  /** 1: the experiment is expected to find the lab's planted weakness; 0: the defence holds. */
  readonly expectedCode: 0 | 1
  /** The variable the experiment reads the baseline digest from, and its checksum probe's id. */
  readonly baselineEnv: string
  readonly checksumId: string
  readonly checksum: (lab: DataLab) => Probe<RedisModule.Checksum | PostgresModule.Checksum>
  /** The fault whose rollback is the restore path that is timed. */
  readonly restoreOf?: string
}

const controller = new AbortController()
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => controller.abort(sig))

let lab: DataLab
try {
  // Detached: a Ctrl-C at the terminal reaches the demo, which rolls back first and then stops them.
  lab = await startDataLab({ detached: true, killAfterMs: 5000 })
} catch (e) {
  if (e instanceof MissingServer) fail(4, `this demo starts a real ${e.what === "redis-server" ? "Redis" : "PostgreSQL"}: ${e.message}`)
  fail(4, `could not start the data lab: ${e instanceof Error ? e.message : String(e)}`)
  throw e
}
const [{ main }, Postgres, Redis, Expect, Experiment, { runPromise }] = await modules.catch(async (e: unknown) => {
  await lab.stop()
  throw e
})

const sessionsTarget = (lab: DataLab) => Redis.target("sessions", { url: lab.env["SHIFTUP_SESSIONS_REDIS_URL"] ?? "", passwordEnv: "SHIFTUP_SESSIONS_REDIS_PASSWORD", environment: "lab", keys: "session:*" })
const shopTarget = (lab: DataLab, table: string) => Postgres.target("shop-db", { url: lab.env["SHIFTUP_PG_URL"] ?? "", passwordEnv: "SHIFTUP_PG_PASSWORD", environment: "lab", tables: [table] })

const demos: ReadonlyArray<Demo> = [
  {
    label: "(a) session store corrupted (Redis)",
    file: "redis-session-corruption.ts",
    id: "sessions.fail-closed.store-corrupted",
    expectedCode: 1,
    baselineEnv: "SHIFTUP_SESSIONS_CHECKSUM",
    checksumId: "checksum of session:*",
    checksum: (lab) => Redis.checksum(sessionsTarget(lab)),
  },
  {
    label: "(b) role column flipped (PostgreSQL)",
    file: "postgres-role-flip.ts",
    id: "data.postgres.role-flip.detected",
    expectedCode: 0,
    baselineEnv: "SHIFTUP_PG_USERS_CHECKSUM",
    checksumId: "checksum of public.users",
    checksum: (lab) => Postgres.checksum(shopTarget(lab, "public.users"), { table: "public.users" }),
  },
  {
    label: "(c) orders table encrypted (PostgreSQL)",
    file: "postgres-orders-encrypted.ts",
    id: "data.postgres.orders-encrypted.fails-closed",
    expectedCode: 0,
    baselineEnv: "SHIFTUP_PG_ORDERS_CHECKSUM",
    checksumId: "checksum of public.orders",
    checksum: (lab) => Postgres.checksum(shopTarget(lab, "public.orders"), { table: "public.orders" }),
    restoreOf: "orders encrypted (ransomware)",
  },
]

const digestOf = (value: unknown): Digest | undefined => {
  if (typeof value !== "object" || value === null || !("digest" in value) || typeof value.digest !== "string") return undefined
  const size = "keys" in value ? `${String(value.keys)} keys` : "rows" in value ? `${String(value.rows)} rows` : "?"
  return { digest: value.digest, size }
}

/** The scope's checksum through shiftup's own probe, in an observe-only run (no ledger, no fault). */
const baselineOf = async (probe: Probe<unknown>): Promise<Digest> => {
  const observed = Experiment.make({ id: "demo.data.checksum", title: "the checksum of a data scope", targets: { store: probe.target }, hypothesis: [Expect.that(probe, Expect.predicate("any", () => true))], method: [] })
  const journal = await runPromise(observed, { journal: false })
  const digest = digestOf(journal.steps[0]?.observed)
  if (journal.exitCode !== 0 || digest === undefined) throw new Error(`could not take the checksum: ${journal.summary}`)
  return digest
}

const short = (d: Digest | undefined) => (d === undefined ? "(none)" : `${d.digest.slice(0, 16)}… over ${d.size}`)

interface Outcome {
  readonly ok: boolean
  readonly lines: ReadonlyArray<string>
}

const judge = (demo: Demo, code: number, journal: Journal.Journal | undefined, baseline: Digest): Outcome => {
  if (journal === undefined) return { ok: false, lines: [`no journal (exit ${code})`] }
  const checksumAt = (phase: Journal.Phase) => digestOf(journal.steps.find((s) => s.phase === phase && s.id.startsWith(demo.checksumId))?.observed)
  const [before, after] = [checksumAt("before"), checksumAt("after")]
  const restored = before?.digest === baseline.digest && after?.digest === baseline.digest
  const lines: Array<string> = []
  for (const f of journal.findings) lines.push(`FINDING [${f.severity}] ${f.title}${demo.expectedCode === 1 ? " (the lab's planted weakness: expected)" : ""}`)
  if (journal.status === "passed") lines.push(`PASS: ${journal.experiment.title}`)
  else if (journal.status !== "failed") lines.push(`${journal.status.toUpperCase()}: ${journal.summary}`)
  lines.push(`checksum before: ${short(before)}`, `checksum after:  ${short(after)} — ${restored ? "restored exactly" : "DIFFERENT: not restored"}`)
  const detect = journal.steps.find((s) => s.metric?.name === "time-to-detect")
  if (detect?.metric !== undefined) lines.push(`time-to-detect: ${detect.metric.ms} ms (${detect.id})`)
  const restore = demo.restoreOf === undefined ? undefined : journal.rollbacks.find((r) => r.fault === demo.restoreOf)
  const recovered = journal.steps.find((s) => s.phase === "recovery" && s.metric?.name === "time-to-recover")?.metric?.ms
  if (restore !== undefined && recovered !== undefined)
    lines.push(`time-to-restore: ${Math.round(restore.durationMs + recovered)} ms (the restore: ${Math.round(restore.durationMs)} ms, ${restore.compensation}, verified; then ${recovered} ms until the app served orders again)`)
  const rolledBack = journal.rollbacks.every((r) => r.outcome === "restored")
  return { ok: code === demo.expectedCode && restored && rolledBack, lines }
}

let allOk = true
try {
  Object.assign(process.env, lab.env)
  out(
    `shiftup demo:data — a data lab on 127.0.0.1:\n` +
      `  postgres pid ${lab.postgres.pid}, 127.0.0.1:${lab.postgres.port} (database shop: users, orders, an audit trigger)\n` +
      `  redis-server pid ${lab.redis.pid}, 127.0.0.1:${lab.redis.port}, password-protected (the sessions)\n` +
      `  shop app ${lab.app.url}: trusts the role it reads back from a session (the planted weakness); signs roles;\n` +
      `  checks order rows before serving them\n` +
      `  temp dirs: ${lab.dirs.join(" ")}\n\n`,
  )
  const stateDir = ".shiftup"
  mkdirSync(join(stateDir, "journals"), { recursive: true })
  const results: Array<readonly [Demo, Outcome]> = []
  for (const demo of demos) {
    if (controller.signal.aborted) break
    const baseline = await baselineOf(demo.checksum(lab))
    process.env[demo.baselineEnv] = baseline.digest
    out(`── ${demo.label}: experiments/data/${demo.file}\n`)
    const journalPath = join(stateDir, "journals", `demo-data-${Date.now()}-${demo.id}.json`)
    const code = await main(["run", fileURLToPath(new URL(`../../experiments/data/${demo.file}`, import.meta.url)), "--journal", journalPath], { signal: controller.signal })
    // No journal: the CLI said why above (invalid experiment, refused…); judge says "no journal".
    const journal = existsSync(journalPath) ? (JSON.parse(readFileSync(journalPath, "utf8")) as Journal.Journal) : undefined
    const outcome = judge(demo, code, journal, baseline)
    results.push([demo, outcome])
    allOk &&= outcome.ok
  }
  out(`\n══ results\n`)
  for (const [demo, outcome] of results) out(`${demo.label}: ${outcome.ok ? "as designed" : "NOT AS DESIGNED"}\n${outcome.lines.map((l) => `    ${l}\n`).join("")}`)
  if (results.length < demos.length) allOk = false
} finally {
  await lab.stop()
}

if (controller.signal.aborted) fail(130, "interrupted: the runs rolled back, the lab is stopped")
if (!allOk) fail(1, "an experiment did not end as designed (see the results above and the journals in .shiftup/journals/); if a rollback failed, run `shiftup recover`")
out(
  `\nThe data faults found the planted weakness — a session's role rewritten to "admin" in Redis made bob an admin —\n` +
    `and the defences held: the role flipped in PostgreSQL raised the audit trigger's alert and was refused (HMAC),\n` +
    `and the encrypted orders were never served; the restore brought every order back. Each scope's checksum after\n` +
    `the rollback equals the one before. Next: read experiments/data/ and docs/data.md.\n`,
)
process.exit(0)
