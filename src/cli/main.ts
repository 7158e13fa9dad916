/**
 * The `shiftup` command: run, plan, recover. Exit codes are the contract of DESIGN.md:
 * 0 passed · 1 finding · 2 refused · 3 aborted · 4 invalid input · 5 rollback incomplete.
 * What needs no library (`--version`, `--help`, argument errors) is answered by `./start.ts`
 * before this module loads; here, what only some commands need (report renderers, the
 * watchdog, Docker) is imported when that command runs.
 */
import { existsSync, statSync } from "node:fs"
import { resolve } from "node:path"
import { Effect } from "effect"
import type { Config } from "../Config.ts"
import type { Experiment } from "../Experiment.ts"
import * as Journal from "../Journal.ts"
import * as Ledger from "../Ledger.ts"
import { loadModule } from "./adapters.ts"
import { incomplete, recover } from "../Recover.ts"
import { consoleReporter } from "../report/console.ts"
import { asking, checkApprovals, controlCommand, openControlDir, selectSteps, withGameDay } from "./gameday.ts"
import type { RunOptions } from "../internal/runner.ts"
import { resolveProfile } from "../misconfig/profiles.ts"
import { fail, InvalidArguments, isShiftupError } from "../ShiftupError.ts"
import { expand, loadConfig, loadFile } from "./load.ts"
import type { Property } from "../Property.ts"
import { first, type Args } from "./start.ts"

export { help } from "./start.ts"

export interface CliIo {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
  readonly tty: boolean
}

const defaultIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), tty: process.stdout.isTTY === true }

/** Runs the CLI; resolves with the exit code. `signal` aborts the current run (with rollback). */
export const main = async (argv: ReadonlyArray<string>, options: { readonly io?: CliIo; readonly signal?: AbortSignal } = {}): Promise<number> => {
  const io = options.io ?? defaultIo
  try {
    const answer = first(argv)
    if (answer._tag === "Answer") {
      if (answer.out !== undefined) io.out(answer.out)
      if (answer.err !== undefined) io.err(answer.err)
      return answer.code
    }
    const { command, rest, args } = answer
    const stateDir = args.values["state-dir"]
    if (command === "init") {
      const lines = (await import("./init.ts")).init({
        dir: process.cwd(),
        force: args.values.force === true,
        ...(args.values.url === undefined ? {} : { url: args.values.url }),
        ...(args.values.container === undefined ? {} : { container: args.values.container }),
        ...(args.values.environment === undefined ? {} : { environment: args.values.environment }),
      })
      io.out(`${lines.join("\n")}\n`)
      return 0
    }
    if (command === "lab") return await labCommand(io, options.signal)
    if (command === "import") return await (await import("../ctk/import.ts")).importCommand(rest, { out: args.values.out, environment: args.values.environment }, io)
    if (command === "inventory") return await inventory(rest, args, io)
    if (command === "misconfig" || command === "profiles") {
      const cli = await import("../misconfig/cli.ts")
      const config = await loadConfig(args.values.config)
      if (rest.length > 0) throw fail(new InvalidArguments({ detail: `\`shiftup ${command}\` takes no files (a snapshot is --snapshot <file>)` }))
      if (command === "profiles") return cli.profilesCommand(config, io)
      const v = args.values
      return await cli.misconfigCommand({ snapshot: v.snapshot, docker: v.docker === true, profile: v.profile, format: v.format ?? [], out: v.out, failOn: v["fail-on"], report: v.report }, config, io)
    }
    if (command === "recover") return await recoverCommand(rest, { ...(stateDir === undefined ? {} : { stateDir }), force: args.values.force === true, config: args.values.config }, io)
    if (command === "vulns")
      return await (await import("./vulns.ts")).vulnsCommand(
        { osv: args.values.osv, images: args.values.image ?? [], sboms: args.values.sbom ?? [], format: args.values.format ?? [], out: args.values.out, failOn: args.values["fail-on"] },
        io,
      )
    if (command === "watch") return await (await import("../watch/cli.ts")).watchCommand({ config: args.values.config, stateDir, log: args.values.log }, io, options.signal)
    if (command === "findings") return await (await import("../watch/cli.ts")).findingsCommand({ rest, config: args.values.config, stateDir, format: args.values.format ?? [], until: args.values.until, out: args.values.out }, io)
    if (command === "feedback")
      return await (await import("../watch/feedback/command.ts")).feedbackCommand(
        { rest, config: args.values.config, stateDir, newSince: args.values["new-since"], out: args.values.out, vitest: args.values.vitest === true, force: args.values.force === true },
        io,
      )
    if (command === "promote")
      return await (await import("../watch/feedback/command.ts")).promoteCommand(
        { rest, config: args.values.config, stateDir, every: args.values.every, cron: args.values.cron, name: args.values.name, force: args.values.force === true },
        io,
      )
    if (command === "report") return (await import("../report/cli.ts")).reportCommand(rest, { formats: args.values.format ?? [], out: args.values.out }, io)
    if (command === "halt" || command === "pause" || command === "resume")
      return controlCommand(command, rest, args.values.clear === true, (await loadConfig(args.values.config)).controlDir, io)
    if (command === "reap") return await reapCommand({ runId: args.values.run, all: args.values.all === true, force: args.values.force === true, stateDir, config: args.values.config }, io)
    if (command === "watchdog") {
      const pid = Number(args.values.pid)
      if (!Number.isInteger(pid) || pid <= 0) throw fail(new InvalidArguments({ detail: "`shiftup watchdog` needs --pid <runner pid> (it is started by `shiftup run --watchdog`)" }))
      const report = await (await import("./watchdog.ts")).watch(pid, stateDir ?? ".shiftup", (line) => io.out(`${line}\n`))
      return incomplete(report) ? Journal.exitCodes["rollback-incomplete"] : 0
    }
    if (command !== "run" && command !== "plan") throw fail(new InvalidArguments({ detail: `unknown command "${command}"` }))
    // The renderers load only when reports are asked for.
    const reportCli = args.values.report === undefined && args.values.out === undefined ? undefined : await import("../report/cli.ts")
    const reports = reportCli?.reportTarget(args.values.report, args.values.out)
    const config = await loadConfig(args.values.config)
    // An unknown profile is bad input (exit 4), named before any experiment loads.
    const profile = args.values.profile
    if (profile !== undefined) resolveProfile(profile, config.misconfig?.profiles ?? {}, "--profile")
    const files = expand(rest)
    const experiments: Array<{ readonly file: string; readonly experiment: Experiment }> = []
    const properties: Array<{ readonly file: string; readonly property: Property }> = []
    for (const file of files) {
      const loaded = await loadFile(file, io.err, args.values.environment === undefined ? {} : { environment: args.values.environment })
      for (const experiment of loaded.experiments) experiments.push({ file, experiment })
      // A plan of a property is the plan of its runs: its targets, their environments, the decisions.
      for (const property of loaded.properties) {
        if (command === "plan") experiments.push({ file, experiment: property.experimentOf([]) })
        else properties.push({ file, property })
      }
    }
    const tags = args.values.tag ?? []
    const hasTag = (own: ReadonlyArray<string>) => tags.length === 0 || own.some((t) => tags.includes(t))
    const tagged = experiments.filter((x) => hasTag(x.experiment.tags))
    const selected = args.values.step === undefined ? tagged : selectSteps(tagged, args.values.step)
    const selectedProperties = properties.filter((x) => hasTag(x.property.tags))
    if (selected.length === 0 && selectedProperties.length === 0) throw fail(new InvalidArguments({ detail: `no experiment has tag ${tags.map((t) => `"${t}"`).join(" or ")}` }))
    checkApprovals(selected, args.values.approve ?? [])
    // Checked (and created, owner-only) before anything starts, so nobody else can make it later.
    const control = command === "run" ? openControlDir(config.controlDir) : undefined
    if (args.values.watchdog === true && command === "run") {
      const w = await (await import("./watchdog.ts")).startWatchdog(stateDir ?? config.stateDir ?? ".shiftup")
      io.out(`watchdog ${w.pid} is watching this run (pid ${process.pid}); its log: ${w.log}\n`)
    }
    const controls = { signal: options.signal, io, tty: io.tty, approve: args.values.approve ?? [], yes: args.values.yes === true, control }
    const ran =
      selected.length === 0
        ? 0
        : await withGameDay(controls, (signal, beforeStep) =>
            runAll(selected, { command, config, profile, journal: args.values.journal, stateDir, signal, beforeStep, reports: (journals) => reportCli?.writeRunReports(journals, selected, reports, stateDir ?? config.stateDir, io) }, io),
          )
    if (selectedProperties.length === 0) return ran
    const { runProperties } = await import("./property.ts")
    const checked = await runProperties(selectedProperties, { config, profile, stateDir, signal: options.signal, seed: args.values.seed, replay: args.values.replay }, io)
    return Math.max(ran, checked)
  } catch (e) {
    if (isShiftupError(e)) {
      io.err(`shiftup: ${e.message}\n`)
      return Journal.exitCodes.invalid
    }
    io.err(`shiftup: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    return Journal.exitCodes.invalid
  }
}

/** `shiftup inventory [diff]`: its module loads only for this command. */
const inventory = async (rest: ReadonlyArray<string>, args: Args, io: CliIo): Promise<number> => {
  const cli = await import("../inventory/cli/command.ts")
  const config = await loadConfig(args.values.config)
  if (rest[0] === "diff") return cli.diffCommand(rest.slice(1), args.values.json === true, config, io)
  if (rest.length > 0) throw fail(new InvalidArguments({ detail: `\`shiftup inventory\` takes no files (did you mean \`shiftup inventory diff ${rest.join(" ")}\`?)` }))
  const v = args.values
  if (v.report !== undefined && v.check !== true) throw fail(new InvalidArguments({ detail: "`shiftup inventory --report` needs --check: the reports are of the misconfiguration rules' findings" }))
  return cli.inventoryCommand(
    {
      docker: v.docker === true,
      endpoints: v.endpoints ?? [],
      ports: v.ports,
      out: v.out,
      json: v.json === true,
      observeProduction: v["observe-production"] === true,
      previous: v.previous,
      packages: v.packages === true,
      osv: v.osv,
      failOn: v["fail-on"],
      ...(v.check === true ? { check: { profile: v.profile, format: v.format ?? [], failOn: v["fail-on"], report: v.report } } : {}),
    },
    config,
    io,
  )
}

const runAll = async (
  selected: ReadonlyArray<{ readonly file: string; readonly experiment: Experiment }>,
  opts: { readonly command: "run" | "plan"; readonly config: Config; readonly profile: string | undefined; readonly journal: string | undefined; readonly stateDir: string | undefined; readonly signal: AbortSignal | undefined; readonly beforeStep?: RunOptions["beforeStep"]; readonly reports?: (journals: ReadonlyArray<Journal.Journal>) => void },
  io: CliIo,
): Promise<number> => {
  // Here, not at the top: `recover`, `report` and `halt` never load the runner (nor undici, which it brings).
  const { run: runEngine, newRunId } = await import("../internal/runner.ts")
  const reporter = consoleReporter({ write: io.out, tty: io.tty, hold: asking })
  const results: Array<Journal.Journal> = []
  try {
    for (const [i, { experiment }] of selected.entries()) {
      if (opts.signal?.aborted === true) break
      const runId = newRunId()
      const journal =
        opts.journal === undefined ? undefined : selected.length === 1 ? opts.journal : `${opts.journal.replace(/\.json$/, "")}-${experiment.id}.json`
      const j = await Effect.runPromise(
        runEngine(experiment, {
          runId,
          config: opts.config,
          dryRun: opts.command === "plan",
          onEvent: (e) => {
            reporter.onEvent(e)
            if (opts.command === "plan" && e._tag === "Planned") printPlan(e.plan, io)
          },
          ...(journal === undefined ? {} : { journal }),
          ...(opts.profile === undefined ? {} : { profile: opts.profile }),
          ...(opts.stateDir === undefined ? {} : { stateDir: opts.stateDir }),
          ...(opts.signal === undefined ? {} : { signal: opts.signal }),
          ...(opts.beforeStep === undefined ? {} : { beforeStep: opts.beforeStep }),
        }),
      )
      results.push(j)
      if (i < selected.length - 1) io.out("\n")
    }
  } finally {
    reporter.stop()
  }
  if (results.length > 1) {
    io.out(`\n${results.length} experiments: ${(["passed", "failed", "refused", "aborted", "invalid", "rollback-incomplete"] as const).map((s) => [s, results.filter((r) => r.status === s).length] as const).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(", ")}\n`)
  }
  opts.reports?.(results)
  return Math.max(0, ...results.map((r) => r.exitCode))
}

const perSecond = (r: number | null | undefined) => (r === null ? "unpaced" : `${r}/s`)
const rates = (b: Journal.Plan["budget"]) =>
  b.probeRates === undefined ? `${b.maxProbeRate}/s` : `${perSecond(b.probeRates.production)} in production, ${perSecond(b.probeRates.staging)} in staging, ${perSecond(b.probeRates.development)} in development, ${perSecond(b.probeRates.lab)} in lab`

const printPlan = (plan: Journal.Plan, io: CliIo) => {
  const lines = ["  plan (dry run — nothing will be touched)"]
  for (const t of plan.targets) {
    lines.push(`    target ${t.key} = ${t.id} [${t.kind}] environment ${t.environment}${t.environment === "unknown" ? " (treated as production)" : ""}; ${t.members.length} of ${t.population} member(s)`)
    const on = (s: { readonly member?: string }) => (s.member === undefined ? "" : ` (member ${s.member})`)
    for (const s of t.environmentSignals) lines.push(`      environment signal: ${s.source} ${s.key}=${s.value} → ${s.means}${on(s)}`)
    if (t.conflict !== undefined) lines.push(`      environment CONFLICT: ${t.conflict}`)
    lines.push(`      data store: ${t.dataStore.is ? `yes${t.dataStore.engine === undefined ? "" : ` (${t.dataStore.engine})`}` : "no"}${t.dataStore.checkedBy === undefined ? "" : ` — decided by ${t.dataStore.checkedBy}`}`)
    for (const s of t.dataStore.signals) lines.push(`      data store signal: ${s.source} ${s.key}=${s.value} → ${s.means}${on(s)}`)
    if (t.profile !== undefined) lines.push(`      profile: ${t.profile.name} — chosen by ${t.profile.why}; fault classes ${t.profile.faultClasses.join(", ") || "none"}`)
    if (t.probeRate !== undefined) lines.push(`      probe rate: ${perSecond(t.probeRate.perSecond)} — ${t.probeRate.from}`)
    for (const c of (plan.contacts ?? []).filter((c) => c.target === t.id))
      lines.push(`      contact (plan time): ${c.address} ${c.handshake}: sent ${c.sent}; received ${c.received} → ${c.engine ?? "no data store"} (${c.ms} ms)`)
  }
  for (const f of plan.faults) lines.push(`    fault ${f.id} on ${f.target} [${f.safety}] — compensation: ${f.compensation}`)
  for (const d of plan.decisions) lines.push(`    decision ${d.allowed ? "allow" : "REFUSE"} ${d.safety} "${d.step}" on ${d.target}: ${d.rule} — ${d.reason}`)
  const b = plan.budget
  lines.push(
    `    budget use: targets ${plan.use.targets}/${b.maxTargets}, concurrent faults ${plan.use.faults}/${b.maxConcurrentFaults}, destroy steps ${plan.use.destroySteps}/${b.maxDestroySteps}, population ${plan.use.maxPercent.toFixed(0)}%/${b.maxPercent}%, fault time ≤ ${b.maxFaultTimeMs} ms, method ≤ ${b.maxDurationMs} ms, probes per target ≤ ${rates(b)}`,
  )
  io.out(`${lines.join("\n")}\n`)
}

const recoverCommand = async (ledgers: ReadonlyArray<string>, opts: { readonly stateDir?: string; readonly force: boolean; readonly config: string | undefined }, io: CliIo): Promise<number> => {
  const config = await loadConfig(opts.config)
  const stateDir = opts.stateDir ?? config.stateDir ?? ".shiftup"
  // A mistyped directory is not "nothing to recover": say where we looked.
  if (ledgers.length === 0) {
    if (stateDir === "") throw fail(new InvalidArguments({ detail: "--state-dir is empty; give the state directory of the runs to recover (default .shiftup)" }))
    if (!existsSync(stateDir) || !statSync(stateDir).isDirectory())
      throw fail(new InvalidArguments({ detail: `the state directory ${resolve(stateDir)} does not exist${existsSync(stateDir) ? " (it is not a directory)" : ""}, so no ledger was searched; check --state-dir (or the config's stateDir)` }))
  }
  const missing = ledgers.filter((l) => !existsSync(l))
  if (missing.length > 0) throw fail(new InvalidArguments({ detail: `no such ledger file: ${missing.join(", ")}` }))
  const report = await Effect.runPromise(
    recover({
      ...(ledgers.length === 0 ? { stateDir } : { ledgers }),
      ...(config.compensators === undefined ? {} : { compensators: config.compensators }),
      load: loadModule,
      force: opts.force,
      skipCorruptLines: opts.force,
    }),
  )
  for (const s of report.skipped) io.out(`skipped ${s.ledger}: run ${s.runId} is still running (pid ${s.pid}); stop it (it rolls back itself) or pass --force\n`)
  for (const w of report.waited) io.out(`waited for ${w.by.purpose} (pid ${w.by.pid}), which was replaying ${w.ledger}\n`)
  for (const l of report.locked) io.out(`skipped ${l.ledger}: ${l.by.purpose} (pid ${l.by.pid}, since ${l.by.at}) is replaying it; run \`shiftup recover\` again once it has finished\n`)
  for (const t of report.torn) io.out(`note: ${t.ledger} line ${t.line} is torn (an append cut short by a crash or a full disk); it was never acted upon and is skipped\n`)
  for (const f of report.forced) io.err(`--force: skipped ${f.ledger} line ${f.line}: ${f.reason}\n`)
  for (const b of report.bad) io.err(`NOT RECOVERED: ${b.error}\n`)
  for (const i of report.items)
    io.out(`${i.outcome === "restored" ? "restored" : i.outcome === "incomplete" ? "INCOMPLETE" : "FAILED  "} ${i.fault} on ${i.target} (run ${i.runId}): ${i.compensation}${i.error === undefined ? "" : ` — ${i.error}`}\n`)
  for (const u of report.unrecorded) io.err(`cannot record the outcome of intent ${u.seq} in ${u.ledger}: ${u.error}; the ledger still lists it as pending (free space or fix permissions, then run recover again)\n`)
  const restored = report.items.filter((i) => i.outcome === "restored").length
  if (!incomplete(report) && report.items.length === 0) io.out("nothing to recover: no compensation is pending\n")
  else
    io.out(
      `recover: ${restored} restored, ${report.items.length - restored} not restored, ${report.skipped.length + report.locked.length} ledger(s) skipped, ${report.bad.length} ledger(s) not recovered${report.unrecorded.length === 0 ? "" : `, ${report.unrecorded.length} outcome(s) not recorded`}\n`,
    )
  // Anything skipped, unreadable or unrecorded may still have faults in place: not "all clear".
  return incomplete(report) ? Journal.exitCodes["rollback-incomplete"] : 0
}

const reapCommand = async (opts: { readonly runId: string | undefined; readonly all: boolean; readonly force: boolean; readonly stateDir: string | undefined; readonly config: string | undefined }, io: CliIo): Promise<number> => {
  const config = await loadConfig(opts.config)
  const stateDir = opts.stateDir ?? config.stateDir ?? ".shiftup"
  const runs = Ledger.list(stateDir).flatMap((path) => {
    try {
      const o = Ledger.owner(Ledger.read(path))
      return o === undefined ? [] : [o]
    } catch {
      return []
    }
  })
  const liveRuns = runs.filter((o) => o.alive).map((o) => o.runId)
  // By default only the runs this state directory knows are over: other projects' and other
  // users' runs on the same engine are not ours to remove (`--all` takes every labelled object).
  const runIds = opts.runId !== undefined ? [opts.runId] : opts.all ? undefined : runs.map((o) => o.runId)
  const Docker = await import("../docker/index.ts")
  const reaped = await Effect.runPromise(Docker.reap({ ...(runIds === undefined ? {} : { runIds }), liveRuns, force: opts.force || opts.runId !== undefined }))
  for (const r of reaped) io.out(`${r.outcome === "failed" ? "FAILED " : r.outcome.padEnd(7)} ${r.kind} ${r.name} (${r.id.replace(/^sha256:/, "").slice(0, 12)}) of run ${r.runId}${r.error === undefined ? "" : ` — ${r.error}`}\n`)
  const failed = reaped.filter((r) => r.outcome === "failed").length
  const removed = reaped.filter((r) => r.outcome === "removed").length
  const scope = opts.runId !== undefined ? `labelled shiftup.run=${opts.runId}` : opts.all ? "labelled shiftup.run" : `of the ${runs.length} run(s) in ${stateDir} (use --all for every labelled object)`
  io.out(reaped.length === 0 ? `nothing to reap: no object ${scope}\n` : `reap: ${removed} removed, ${reaped.length - removed - failed} kept, ${failed} failed\n`)
  return failed > 0 ? Journal.exitCodes["rollback-incomplete"] : 0
}

/** Process entry: signals abort the run (rolling back); a second signal does not skip rollback. */
export const cli = async (argv: ReadonlyArray<string>): Promise<never> => {
  const controller = new AbortController()
  // `lab` and `watch` inject nothing: a signal stops them (watch writes its own shutdown lines).
  const stops = argv[0] === "lab" || argv[0] === "watch"
  const onSignal = (sig: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      if (stops) process.stderr.write(`\nshiftup: ${sig} received — stopping\n`)
      else process.stderr.write(`\nshiftup: ${sig} received — aborting and rolling back every fault (a second signal will not skip the rollback)\n`)
      controller.abort(sig)
    } else process.stderr.write(`\nshiftup: ${sig} received again — still rolling back; each rollback has its own timeout\n`)
  }
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, onSignal)
  const code = await main(argv, { signal: controller.signal })
  // A signal ends `shiftup lab` and `shiftup watch` normally; anything else it aborted reports exit 3.
  process.exit(controller.signal.aborted && code < 3 && !stops ? 3 : code)
}

/** `shiftup lab`: the embedded demo lab until a signal (the CLI's abort) ends it. */
const labCommand = async (io: CliIo, signal: AbortSignal | undefined): Promise<number> => {
  const { startLab } = await import("../testing/lab.ts")
  const lab = await startLab()
  io.out(`demo lab up (staging, loopback only):\n  gateway ${lab.urls.gateway}\n  auth    ${lab.urls.auth}\n  alerts  ${lab.urls.alerts}\n  faults  ${lab.urls.control}/faults\nCtrl-C to stop.\n`)
  await new Promise<void>((resolve) => (signal === undefined ? undefined : signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })))
  await lab.close()
  return 0
}
