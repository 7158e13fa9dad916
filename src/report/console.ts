/**
 * The console reporter: live progress of a run (which phase and step, which faults are active
 * and for how long) and a summary a tired engineer can act on. On a TTY a status line is redrawn
 * in place; otherwise plain lines only, for CI logs.
 */
import type { RunEvent } from "../internal/runner.ts"
import type { Journal, StepRecord } from "../Journal.ts"
import { samplesLine, statusWord } from "./shared.ts"
import { referencesText, ruleFindingsOf } from "./rules.ts"

export interface ConsoleOptions {
  readonly write?: (text: string) => void
  readonly tty?: boolean
  readonly color?: boolean
  /** While this returns true the live line is not redrawn (e.g. a question is open on the terminal). */
  readonly hold?: () => boolean
}

const paint = (on: boolean) => {
  const c = (code: string) => (s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s)
  return { red: c("31"), green: c("32"), yellow: c("33"), cyan: c("36"), dim: c("2"), bold: c("1") }
}

const value = (u: unknown) => {
  const s = typeof u === "string" ? u : JSON.stringify(u)
  return s === undefined ? "" : s.length > 120 ? `${s.slice(0, 117)}…` : s
}

/** What to do next, per status. */
export const nextStep: Record<Journal["status"], string> = {
  passed: "nothing to do",
  failed: "a defence did not hold: read the findings above and fix the system (not the experiment)",
  refused: "nothing was touched; read the rule above — retarget, declare the target's real environment, or change the budget",
  aborted: "the run stopped early and rolled back; read the abort reason",
  invalid: "fix the input named above and run again",
  "rollback-incomplete": "SOMETHING MAY STILL BE INJECTED: run `shiftup recover` now, then check the targets named above",
}

/** Returns an `onEvent` handler and a `stop` that clears the live line. */
export const consoleReporter = (options: ConsoleOptions = {}) => {
  const write = options.write ?? ((t: string) => process.stdout.write(t))
  const tty = options.tty ?? process.stdout.isTTY === true
  const p = paint(options.color ?? tty)
  const active = new Map<number, { readonly fault: string; readonly since: number }>()
  let phase = ""
  let step = ""
  let stepSince = 0
  // `eventually`/`recovers`/`detects` windows by check id, for the countdown on the live line.
  let windows = new Map<string, number>()
  let live = false
  const clear = () => {
    if (live) write("\r\u001b[2K")
    live = false
  }
  const line = (s: string) => {
    clear()
    write(`${s}\n`)
  }
  const redraw = () => {
    if (!tty || phase === "" || options.hold?.() === true) return
    const now = Date.now()
    const faults = [...active.values()].map((a) => `${a.fault} ${((now - a.since) / 1000).toFixed(1)}s`).join(", ")
    const within = step === "" ? undefined : windows.get(step)
    const left = within === undefined ? "" : p.yellow(` (${Math.max(0, (within - (now - stepSince)) / 1000).toFixed(1)}s left)`)
    const text = `  ${p.cyan("…")} ${phase}${step === "" ? "" : ` · ${step} ${((now - stepSince) / 1000).toFixed(1)}s${left}`}${faults === "" ? "" : ` · active: ${p.yellow(faults)}`}`
    write(`\r\u001b[2K${text.slice(0, (process.stdout.columns ?? 120) + 20)}`)
    live = true
  }
  const timer = tty ? setInterval(redraw, 200) : undefined
  timer?.unref()

  const stepLine = (r: StepRecord) => {
    const mark = r.outcome === "held" || r.outcome === "ok" ? p.green("✓") : r.outcome === "violated" ? p.red("✗") : p.red("!")
    const kind = r.kind === "fault" ? p.yellow("⚡ injected ") : ""
    const metric = r.metric === undefined ? "" : p.dim(` ${r.metric.name} ${r.metric.ms} ms`)
    const samples = r.outcome === "violated" ? samplesLine(r) : undefined
    const detail =
      r.outcome === "violated"
        ? `\n        ${p.red(`expected ${r.expected ?? "?"}, observed ${value(r.observed)}`)}${r.message === undefined ? "" : ` (${r.message})`}${samples === undefined ? "" : `\n        ${samples}`}`
        : r.outcome === "error"
          ? `\n        ${p.red(r.message ?? "error")}`
          : ""
    return `  ${r.phase.padEnd(8)} ${mark} ${kind}${r.id} ${p.dim(`(${r.durationMs} ms${r.samples !== undefined && r.samples > 1 ? `, ${r.samples} samples` : ""})`)}${metric}${detail}`
  }

  const onEvent = (e: RunEvent): void => {
    switch (e._tag) {
      case "Planned": {
        const x = e.experiment
        const checks = [...x.hypothesis, ...x.recovery, ...(x.body._tag === "Steps" ? x.body.steps.filter((st) => st._tag === "Check") : [])]
        windows = new Map(checks.flatMap((c) => (c.mode._tag === "eventually" ? [[c.id, c.mode.withinMs] as const] : [])))
        line(`${p.bold(`▶ ${e.experiment.id}`)} — ${e.experiment.title} ${p.dim(`run ${e.runId}`)}`)
        for (const t of e.plan.targets)
          line(
            `  ${"target".padEnd(8)} ${t.id} ${p.dim(`${t.environment}${t.environment === "unknown" ? " → production" : ""} (${t.environmentSignals.map((s) => `${s.source}`).join(", ")})${t.dataStore.is ? `, data store ${t.dataStore.engine ?? ""}` : ""}, ${t.members.length}/${t.population}`)}`,
          )
        for (const t of e.plan.targets)
          if (t.profile !== undefined)
            line(`  ${"profile".padEnd(8)} ${t.profile.name} on ${t.id} ${p.dim(`(chosen by ${t.profile.why})${t.probeRate === undefined ? "" : `; probes ${t.probeRate.perSecond === null ? "unpaced" : `≤ ${t.probeRate.perSecond}/s`}: ${t.probeRate.from}`}`)}`)
        const refused = e.plan.decisions.filter((d) => !d.allowed)
        for (const d of refused) line(`  ${"policy".padEnd(8)} ${p.red("⛔")} ${d.step} on ${d.target}: ${p.red(d.rule)} — ${d.reason}`)
        return
      }
      case "Phase":
        phase = e.phase
        step = ""
        redraw()
        return
      case "StepStarted":
        step = e.id
        stepSince = Date.now()
        redraw()
        return
      case "StepEnded":
        step = ""
        line(stepLine(e.record))
        return
      case "FaultActive":
        active.set(e.seq, { fault: e.fault, since: Date.now() })
        return
      case "RolledBack": {
        active.delete(e.record.seq)
        const ok = e.record.outcome === "restored"
        line(`  ${"rollback".padEnd(8)} ${ok ? p.green("↺") : p.red("✗")} ${e.record.fault} on ${e.record.target}: ${ok ? "restored" : p.red(`${e.record.outcome}: ${e.record.error ?? ""}`)} ${p.dim(`(${e.record.durationMs} ms; ${e.record.compensation})`)}`)
        return
      }
      case "Aborting":
        line(`  ${p.yellow("■ aborting")} (${e.cause}): ${e.detail} — rolling back`)
        return
      case "Finished": {
        phase = ""
        clear()
        const j = e.journal
        const color = j.status === "passed" ? p.green : j.status === "failed" || j.status === "refused" ? p.red : p.yellow
        line(`  ${color(p.bold(statusWord[j.status]))} ${j.summary}`)
        for (const f of j.findings) {
          line(`    ${p.red(`finding [${f.severity}]`)} ${f.title}`)
          line(`      expected ${f.expected}; observed ${value(f.observed)}`)
          if (f.evidence !== undefined) line(`      ${f.evidence}`)
          if (f.remediation !== undefined) line(`      fix: ${f.remediation}`)
          // A noMisconfiguration finding: each rule finding with its own fix and references.
          for (const r of ruleFindingsOf(f)) {
            line(`      ${r.severity.toUpperCase()} ${r.rule}: ${r.title} — ${r.asset}`)
            for (const x of r.evidence) line(`        ${x}`)
            line(`        fix: ${r.remediation}`)
            line(`        refs: ${referencesText(r.references)}`)
          }
        }
        if (j.status !== "passed") line(`    ${p.dim("next:")} ${nextStep[j.status]}`)
        if (e.path !== undefined) line(`    ${p.dim(`journal: ${e.path}`)}`)
        // The run's only record is this output then: say so, loudly.
        for (const x of j.errors.filter((x) => x.tag === "JournalWriteFailed")) line(`    ${p.red(p.bold("journal NOT written"))}: ${x.message}; this output is the run's only record`)
        return
      }
    }
  }
  return { onEvent, stop: () => (timer === undefined ? undefined : clearInterval(timer)) }
}
