/**
 * The HTML report: one self-contained file (inline CSS and SVG, no script, no external
 * resource; a Content-Security-Policy forbids any network access) that people look at instead
 * of reading logs. Per run: the verdict, the findings with their evidence, an SVG timeline
 * (phases, steps per target, fault windows, rollbacks, the abort), probe values over time
 * (plots.ts), the policy decisions with their reasons, rollbacks, errors and the steps. A game
 * day (several journals) opens on an overview — the tally, time-to-detect and time-to-recover
 * across runs, the runs that did not pass — and shows failures first, passing runs collapsed. A
 * pure function of the journals.
 */
import type { Journal } from "../Journal.ts"
import { version } from "../RunContext.ts"
import { chartsOf } from "./plots.ts"
import { ruleFindingsOf, type RuleResults } from "./rules.ts"
import { ruleFindingsHtml, rulesSection } from "./rules-html.ts"
import { acrossRuns, escapeXml as e, runProblem, show, statusRank, statusWord, stepOf, timing, timingText, type Timing } from "./shared.ts"
import { faultWindows, timelineSvg } from "./timeline.ts"

export interface HtmlOptions {
  /** Page title; default from the experiments. */
  readonly title?: string
  /** Most step rows listed per run (violations and errors are always listed); default 500. */
  readonly maxStepRows?: number
  /** Vulnerable components to list in their own section (`Osv.match`'s findings from shiftup/inventory). */
  readonly vulnerabilities?: ReadonlyArray<Vulnerability>
  /** Misconfiguration rule results to show in their own section (`shiftup misconfig --report`). */
  readonly misconfig?: RuleResults
}

/** A vulnerable component as the report lists it: what shiftup/inventory's `Osv.match` finds. */
export interface Vulnerability {
  readonly advisory: string
  readonly aliases: ReadonlyArray<string>
  readonly summary?: string
  readonly severity: { readonly level: string; readonly score?: number; readonly vector?: string }
  readonly package: { readonly ecosystem: string; readonly name: string; readonly version: string }
  readonly fixed: ReadonlyArray<string>
  readonly location: { readonly image?: string; readonly path: string }
}

const css = `
:root{--ok:#2e7d32;--bad:#c62828;--warn:#ef6c00;--info:#1565c0;--muted:#666;--line:#e3e3e3}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:20px}h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:0}h3{font-size:15px;margin:22px 0 8px;color:#333}
.run{background:#fff;border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin:18px 0;box-shadow:0 1px 2px rgba(0,0,0,.04)}
.badge{display:inline-block;padding:2px 9px;border-radius:99px;font-weight:700;font-size:12px;color:#fff;vertical-align:middle;margin-right:8px}
.badge.passed{background:var(--ok)}.badge.failed,.badge.refused{background:var(--bad)}.badge.aborted,.badge.invalid{background:var(--warn)}.badge.rollback-incomplete{background:#6a1b9a}
.meta{color:var(--muted);font-size:12.5px;margin-top:4px}.summary{margin:10px 0 0;font-size:14.5px}.problem{margin-top:8px;padding:8px 12px;border-left:4px solid var(--warn);background:#fff8ee}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}th{background:#fafafa;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.yes{color:var(--ok);font-weight:600}.no{color:var(--bad);font-weight:700}
.finding{border:1px solid #f3c4c4;border-left:5px solid var(--bad);border-radius:6px;padding:10px 14px;margin:8px 0;background:#fffafa}
.finding.medium{border-left-color:var(--warn)}.finding.low{border-left-color:#999}.finding.info{border-left-color:var(--info)}.finding ul{margin:2px 0;padding-left:18px}.profiles{margin-top:6px}.sev{font-weight:700;text-transform:uppercase;font-size:11px;letter-spacing:.04em;color:var(--bad)}
.finding dl{display:grid;grid-template-columns:110px 1fr;gap:2px 10px;margin:6px 0 0}.finding dt{color:var(--muted)}.finding dd{margin:0}
.plots{display:flex;flex-wrap:wrap;gap:10px}.plotbox{border:1px solid var(--line);border-radius:6px;padding:6px 8px;background:#fff}.plotbox .cap{font-size:12px;max-width:310px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:var(--muted);margin:4px 0}.sw{display:inline-block;width:12px;height:10px;border-radius:2px;margin-right:4px;vertical-align:middle}
svg text{font:11px system-ui,sans-serif;fill:#444}svg .lane.b{font-weight:600}svg .tick{fill:#888;font-size:10px}svg .grid{stroke:#eee}
svg .s.h,.sw.h{fill:var(--ok);background:var(--ok)}svg .s.v,.sw.v{fill:var(--bad);background:var(--bad)}svg .s.x,.sw.x{fill:var(--warn);background:var(--warn)}svg .s.o,.sw.o{fill:var(--info);background:var(--info)}svg .s.f{fill:#f0ad4e}svg .s.w,.sw.w{fill:#bbb;background:#bbb}
svg .ph{fill:#e8eef7}svg .ph.method{fill:#fde7c8}svg .ph.rollback{fill:#e6d9f2}svg .ph.recovery{fill:#dcefdc}svg .ph.after{fill:#e3f0e3}svg .phl{font-size:10.5px;fill:#555}
svg .fw{stroke:#f0ad4e;stroke-width:1}.sw.fw{background:repeating-linear-gradient(45deg,#f0ad4e 0 3px,#fff3cd 3px 6px)}svg .rb.ok,.sw.rb{fill:#7b1fa2;background:#7b1fa2}svg .rb.bad{fill:#000}
svg .mk{stroke-width:1.5;stroke-dasharray:4 3}svg .mk.rbk{stroke:#7b1fa2}svg .mk.abt{stroke:var(--warn);stroke-width:2}svg .mkl{font-size:11px;fill:#7b1fa2}svg .mkl.abt{fill:var(--warn);font-weight:600}
svg .pf{fill:#fbfbfb;stroke:#eee}svg .pl{fill:none;stroke:#90a4ae;stroke-width:1}svg .pt{stroke-width:5;stroke-linecap:round;fill:none}svg .pt.h{stroke:var(--ok)}svg .pt.v{stroke:var(--bad)}svg .pt.x{stroke:var(--warn)}svg .pt.o,svg .pt.f{stroke:var(--info)}
.family{border:1px solid var(--line);border-radius:6px;padding:6px 8px;background:#fff;margin:0 0 10px}.family .cap{font-size:12px}svg .lane.bad,svg .val.bad{fill:var(--bad);font-weight:600}svg .val{font-size:10.5px;fill:#555}svg circle.pt{stroke:none}svg circle.pt.h{fill:var(--ok)}svg circle.pt.v{fill:var(--bad)}svg circle.pt.x{fill:var(--warn)}svg circle.pt.o,svg circle.pt.f{fill:var(--info)}svg circle.pt.w{fill:#bbb}svg .pt.w{stroke:#bbb}
.evidence{font-weight:600}details.run>summary{list-style:none;margin:0}details.run>summary::-webkit-details-marker{display:none}details.run>summary h2::after{content:" ▸ show";font-size:12px;font-weight:400;color:var(--muted)}details.run[open]>summary h2::after{content:" ▾ hide"}
.overview td,.overview th{padding:2px 8px}.overview .badge{font-size:11px;padding:1px 7px}.overview{margin:8px 0 4px}.kpi{display:flex;flex-wrap:wrap;gap:8px 24px;margin:10px 0 0;font-size:13.5px}.kpi b{font-variant-numeric:tabular-nums}
details summary{cursor:pointer;color:#333;margin:6px 0}.muted{color:var(--muted)}nav ul{margin:6px 0 0;padding-left:18px}footer{color:var(--muted);font-size:12px;text-align:center;margin:24px 0}
`

const when = (iso: string) => iso.replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC")
const dur = (msv: number) => (msv >= 1000 ? `${(msv / 1000).toFixed(msv >= 10_000 ? 0 : 1)} s` : `${msv} ms`)
const pre = (u: unknown) => `<code>${e(show(u, 2000))}</code>`

const legend = `<div class="legend"><span><i class="sw h"></i>check held</span><span><i class="sw v"></i>check violated</span><span><i class="sw x"></i>error</span><span><i class="sw o"></i>probe</span><span><i class="sw w"></i>wait</span><span><i class="sw fw"></i>fault active</span><span><i class="sw rb"></i>rollback</span></div>`

const findingsOf = (j: Journal): string => {
  const out: Array<string> = [`<h3>Findings (${j.findings.length})</h3>`]
  if (j.findings.length === 0) out.push(`<p class="muted">${j.status === "passed" ? "Every check held." : "No check was violated."}</p>`)
  for (const f of j.findings) {
    const step = stepOf(j, f)
    out.push(
      `<div class="finding ${e(f.severity)}"><span class="sev">${e(f.severity)}</span> <strong>${e(f.title)}</strong><dl>` +
        (f.evidence === undefined ? "" : `<dt>samples</dt><dd class="evidence">${e(f.evidence)}</dd>`) +
        `<dt>phase</dt><dd>${e(f.phase)}</dd>${f.cwe === undefined ? "" : `<dt>weakness</dt><dd>${e(f.cwe)}</dd>`}<dt>target</dt><dd><code>${e(f.target)}</code></dd><dt>expected</dt><dd><code>${e(f.expected)}</code></dd><dt>observed</dt><dd>${pre(f.observed)}</dd>` +
        (step === undefined ? "" : `<dt>evidence</dt><dd>${step.samples ?? 1} sample(s) over ${dur(step.durationMs)}, ${e(when(step.startedAt))} → ${e(when(step.endedAt))}${step.message === undefined ? "" : `<br>${e(step.message)}`}</dd>`) +
        (f.remediation === undefined ? "" : `<dt>fix</dt><dd>${e(f.remediation)}</dd>`) +
        `</dl>${ruleFindingsHtml(ruleFindingsOf(f))}</div>`,
    )
  }
  return out.join("\n")
}

const chartsSection = (j: Journal): string => {
  const charts = chartsOf(j)
  if (charts.length === 0) return `<h3>Probe values over time</h3><p class="muted">Nothing was observed in this run.</p>`
  const plots = charts.filter((c) => c.kind === "plot")
  const families = charts.filter((c) => c.kind === "family")
  const box = (c: (typeof charts)[number]) =>
    c.kind === "plot"
      ? `<div class="plotbox"><div class="cap" title="${e(c.caption)}">${e(c.caption)} <span class="muted">(${c.points})</span></div>${c.svg}</div>`
      : `<div class="family"><div class="cap">${e(c.caption)}</div>${c.svg}</div>`
  return `<h3>Probe values over time</h3>${plots.length === 0 ? "" : `<div class="plots">${plots.map(box).join("")}</div>`}${families.map(box).join("")}`
}

/** One run. In a game day a passing run is collapsed to its heading (a `<details>`, no script). */
const section = (j: Journal, i: number, options: HtmlOptions, collapse: boolean): string => {
  const out: Array<string> = []
  const problem = runProblem(j)
  const heading = `<h2><span class="badge ${e(j.status)}">${e(statusWord[j.status])}</span>${e(j.experiment.id)}</h2>`
  if (collapse) out.push(`<details class="run" id="run-${i}" data-status="${e(j.status)}"><summary>${heading}<div>${e(j.experiment.title)} <span class="muted">— ${e(j.summary)}</span></div></summary>`)
  else out.push(`<section class="run" id="run-${i}" data-status="${e(j.status)}">`, heading, `<div>${e(j.experiment.title)}</div>`)
  if (j.experiment.description !== "") out.push(`<div class="muted">${e(j.experiment.description)}</div>`)
  out.push(
    `<div class="meta">run <code>${e(j.runId)}</code> · ${e(when(j.startedAt))} · ${dur(j.durationMs)} · exit code ${j.exitCode}${j.dryRun ? " · dry run" : ""}${j.experiment.tags.length === 0 ? "" : ` · tags ${j.experiment.tags.map((t) => `<code>${e(t)}</code>`).join(" ")}`}</div>`,
  )
  if (!collapse) out.push(`<p class="summary">${e(j.summary)}</p>`)
  if (problem !== undefined) out.push(`<div class="problem">${e(problem)}</div>`)

  // what failed comes before how the run went
  out.push(findingsOf(j))
  out.push(`<h3>Timeline</h3>`, legend, timelineSvg(j, String(i)))
  out.push(chartsSection(j))

  // metrics
  const metrics = j.steps.filter((s) => s.metric !== undefined)
  if (metrics.length > 0) {
    out.push(`<h3>Detection and recovery times</h3><table><tr><th>check</th><th>phase</th><th>metric</th><th class="num">ms</th></tr>`)
    for (const s of metrics.slice(0, 200)) out.push(`<tr><td>${e(s.id)}</td><td>${e(s.phase)}</td><td>${e(s.metric?.name ?? "")}</td><td class="num">${s.metric?.ms ?? ""}</td></tr>`)
    out.push(`</table>`)
  }

  // policy
  out.push(`<h3>Policy decisions</h3>`)
  if (j.refusal !== undefined) out.push(`<div class="problem"><strong>Refused</strong> by rule <code>${e(j.refusal.rule)}</code>: step “${e(j.refusal.step)}” on <code>${e(j.refusal.target)}</code> — ${e(j.refusal.reason)}</div>`)
  if (j.plan === undefined) out.push(`<p class="muted">No plan: planning itself failed.</p>`)
  else {
    const p = j.plan
    out.push(`<table><tr><th>decision</th><th>step</th><th>target</th><th>safety</th><th>rule</th><th>reason</th></tr>`)
    for (const d of p.decisions.slice(0, 1000))
      out.push(`<tr><td class="${d.allowed ? "yes" : "no"}">${d.allowed ? "allow" : "REFUSE"}</td><td>${e(d.step)}</td><td><code>${e(d.target)}</code></td><td>${e(d.safety)}</td><td><code>${e(d.rule)}</code></td><td>${e(d.reason)}</td></tr>`)
    out.push(`</table>`)
    if (p.decisions.length > 1000) out.push(`<p class="muted">… ${p.decisions.length - 1000} more decisions in the journal.</p>`)
    out.push(`<h3>Targets</h3><table><tr><th>target</th><th>kind</th><th>environment</th><th>signals</th><th>data store</th><th class="num">members</th></tr>`)
    for (const t of p.targets)
      out.push(
        `<tr><td><code>${e(t.id)}</code>${t.owner === undefined ? "" : ` <span class="muted">(${e(t.owner)})</span>`}</td><td>${e(t.kind)}</td><td>${e(t.environment)}${t.environment === t.effective ? "" : ` → <strong>${e(t.effective)}</strong>`}</td><td>${t.environmentSignals.map((s) => `${e(s.source)} ${e(s.key)}=${e(s.value)} → ${e(s.means)}`).join("<br>") || "—"}</td><td>${t.dataStore.is ? `<span class="no">yes</span>${t.dataStore.engine === undefined ? "" : ` (${e(t.dataStore.engine)})`}` : "no"}</td><td class="num">${t.members.length}/${t.population}</td></tr>`,
      )
    out.push(`</table>`)
    const b = p.budget
    out.push(
      `<p class="meta">Budget use: targets ${p.use.targets}/${b.maxTargets} · concurrent faults ${p.use.faults}/${b.maxConcurrentFaults} · destroy steps ${p.use.destroySteps}/${b.maxDestroySteps} · population ${p.use.maxPercent.toFixed(0)}%/${b.maxPercent}% · fault time ≤ ${dur(b.maxFaultTimeMs)} · method ≤ ${dur(b.maxDurationMs)} · probes ≤ ${b.maxProbeRate}/s per target</p>`,
    )
  }

  // rollbacks
  out.push(`<h3>Rollbacks (${j.rollbacks.length})</h3>`)
  const windows = faultWindows(j)
  if (j.rollbacks.length === 0) out.push(`<p class="muted">Nothing was injected, so nothing was rolled back.</p>`)
  else {
    out.push(`<table><tr><th>#</th><th>fault</th><th>target</th><th>outcome</th><th class="num">active</th><th class="num">took</th><th>compensation</th></tr>`)
    for (const r of j.rollbacks.slice(0, 500)) {
      const w = windows.find((x) => x.rollback === r)
      const active = w === undefined ? "" : dur(Date.parse(r.endedAt) - Date.parse(w.step.startedAt))
      out.push(
        `<tr><td class="num">${r.seq}</td><td>${e(r.fault)}</td><td><code>${e(r.target)}</code></td><td class="${r.outcome === "restored" ? "yes" : "no"}">${e(r.outcome)}${r.error === undefined ? "" : `: ${e(r.error)}`}</td><td class="num">${active}</td><td class="num">${dur(r.durationMs)}</td><td><code>${e(r.compensation)}</code></td></tr>`,
      )
    }
    out.push(`</table>`)
  }

  if (j.errors.length > 0) {
    out.push(`<h3>Errors (${j.errors.length})</h3><table><tr><th>tag</th><th>message</th></tr>`)
    for (const x of j.errors.slice(0, 200)) out.push(`<tr><td><code>${e(x.tag)}</code></td><td>${e(x.message)}</td></tr>`)
    out.push(`</table>`)
  }

  // steps
  const max = options.maxStepRows ?? 500
  const rows = j.steps.filter((s, k) => k < max || s.outcome === "violated" || s.outcome === "error")
  out.push(`<details${j.steps.length <= 60 ? " open" : ""}><summary>Steps (${j.steps.length})</summary><table><tr><th>phase</th><th>kind</th><th>step</th><th>target</th><th>outcome</th><th>expected</th><th>observed</th><th class="num">ms</th></tr>`)
  for (const s of rows)
    out.push(
      `<tr><td>${e(s.phase)}</td><td>${e(s.kind)}</td><td>${e(s.id)}</td><td>${s.target === undefined ? "" : `<code>${e(s.target)}</code>`}</td><td class="${s.outcome === "violated" || s.outcome === "error" ? "no" : "yes"}">${e(s.outcome)}</td><td>${e(s.expected ?? "")}</td><td>${s.observed === undefined ? "" : `<code>${e(show(s.observed, 160))}</code>`}</td><td class="num">${s.durationMs}</td></tr>`,
    )
  out.push(`</table>${rows.length < j.steps.length ? `<p class="muted">… ${j.steps.length - rows.length} more steps that held are in the journal.</p>` : ""}</details>`)
  out.push(collapse ? `</details>` : `</section>`)
  return out.join("\n")
}

const timingCell = (t: Timing | undefined) => `<td class="num${t !== undefined && (t.missed > 0 || t.late > 0) ? " no" : ""}">${e(timingText(t))}</td>`

/** A game day at a glance: the tally, time-to-detect and time-to-recover across runs, one row per run. */
const overview = (runs: ReadonlyArray<Journal>): string => {
  const tally = (["rollback-incomplete", "failed", "aborted", "refused", "invalid", "passed"] as const)
    .map((st) => [st, runs.filter((j) => j.status === st).length] as const)
    .filter(([, n]) => n > 0)
    .map(([st, n]) => `<span class="badge ${st}">${n} ${e(statusWord[st])}</span>`)
    .join("")
  const findings = runs.reduce((n, j) => n + j.findings.length, 0)
  const kpi = (["time-to-detect", "time-to-recover"] as const).flatMap((name) => {
    const line = acrossRuns(runs, name)
    return line === undefined ? [] : [`<div><b>${name}</b> ${e(line)}</div>`]
  })
  const row = (j: Journal, i: number) =>
    `<tr><td><a href="#run-${i}"><span class="badge ${e(j.status)}">${e(statusWord[j.status])}</span></a></td><td><a href="#run-${i}">${e(j.experiment.id)}</a></td><td class="num">${j.findings.length}</td>${timingCell(timing(j, "time-to-detect"))}${timingCell(timing(j, "time-to-recover"))}<td class="num">${dur(j.durationMs)}</td></tr>`
  const head = `<tr><th></th><th>experiment</th><th class="num">findings</th><th class="num">time to detect</th><th class="num">time to recover</th><th class="num">duration</th></tr>`
  // `runs` is sorted failures first: the passing ones are the tail, listed behind a disclosure.
  const firstPassed = runs.findIndex((j) => j.status === "passed")
  const cut = firstPassed < 0 ? runs.length : firstPassed
  const failing = runs.slice(0, cut).map((j, i) => row(j, i))
  const passing = runs.slice(cut).map((j, i) => row(j, cut + i))
  return (
    `<div class="overview-head">${tally} <span class="muted">${runs.length} runs · ${findings} finding${findings === 1 ? "" : "s"}</span></div>${kpi.length === 0 ? "" : `<div class="kpi">${kpi.join("")}</div>`}` +
    (failing.length === 0 ? "" : `<table class="overview">${head}${failing.join("")}</table>`) +
    (passing.length === 0 ? "" : `<details class="passed"><summary>${passing.length} passed run${passing.length === 1 ? "" : "s"}</summary><table class="overview">${head}${passing.join("")}</table></details>`)
  )
}

const levelRank: Readonly<Record<string, number>> = { critical: 0, high: 1, medium: 2, low: 3, none: 4, unknown: 5 }

/** The vulnerable components, worst first: one row per package and advisory. */
const vulnerabilitiesOf = (vs: ReadonlyArray<Vulnerability>): string => {
  const rows = [...vs]
    .sort((a, b) => (levelRank[a.severity.level] ?? 9) - (levelRank[b.severity.level] ?? 9) || (b.severity.score ?? 0) - (a.severity.score ?? 0) || a.advisory.localeCompare(b.advisory))
    .map((v) => {
      const sev = `<span class="sev">${e(v.severity.level)}</span>${v.severity.score === undefined ? "" : ` ${v.severity.score.toFixed(1)}`}`
      const where = `${v.location.image === undefined ? "" : `${e(v.location.image)} `}<code>${e(v.location.path)}</code>`
      return `<tr><td>${sev}</td><td><b>${e(v.advisory)}</b>${v.aliases.length === 0 ? "" : `<div class="muted">${e(v.aliases.join(", "))}</div>`}${v.summary === undefined ? "" : `<div>${e(v.summary)}</div>`}</td><td>${e(v.package.ecosystem)} <b>${e(v.package.name)}</b> ${e(v.package.version)}</td><td>${v.fixed.length === 0 ? '<span class="muted">no fix known</span>' : e(v.fixed.join(", "))}</td><td>${where}</td></tr>`
    })
  return `<section class="run" id="vulnerabilities"><h2>Vulnerable components (${vs.length})</h2>${
    vs.length === 0 ? '<p class="muted">No installed package matched an advisory.</p>' : `<table><tr><th>severity</th><th>advisory</th><th>package</th><th>fixed in</th><th>where</th></tr>${rows.join("")}</table>`
  }</section>`
}

/**
 * Renders journals as one self-contained HTML page.
 *
 * @example
 * writeFileSync("shiftup.html", html([journal]))
 */
export const html = (journals: ReadonlyArray<Journal>, options: HtmlOptions = {}): string => {
  const title =
    options.title ??
    (journals.length === 1 && journals[0] !== undefined
      ? `shiftup: ${journals[0].experiment.id} — ${statusWord[journals[0].status]}`
      : journals.length === 0 && options.misconfig !== undefined
        ? `shiftup: misconfigurations (${options.misconfig.findings.length})`
        : journals.length === 0 && options.vulnerabilities !== undefined
        ? "shiftup: vulnerable components"
        : `shiftup: ${journals.length} experiments`)
  // A game day reads from what went wrong: failures first, passing runs collapsed.
  const runs = journals.length > 1 ? [...journals].sort((a, b) => statusRank[a.status] - statusRank[b.status]) : journals
  const gameDay = journals.length > 1
  return page(
    title,
    `${gameDay ? overview(runs) : ""}
${options.misconfig === undefined ? "" : rulesSection(options.misconfig)}
${runs.map((j, i) => section(j, i, options, gameDay && j.status === "passed")).join("\n")}
${options.vulnerabilities === undefined ? "" : vulnerabilitiesOf(options.vulnerabilities)}`,
    `generated from ${journals.length === 0 ? "the findings" : `the run journal${journals.length === 1 ? "" : "s"} (shiftup.journal/v1)`}`,
  )
}

/**
 * A self-contained page in the report's styles (no script, no network: the same
 * Content-Security-Policy) around `body` — HTML the caller escaped. Also `shiftup findings --format html`.
 */
export const page = (title: string, body: string, source: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title><style>${css}</style></head>
<body><main><h1>${e(title)}</h1>${body}
<footer>shiftup ${e(version)} · ${e(source)}</footer></main></body></html>
`
