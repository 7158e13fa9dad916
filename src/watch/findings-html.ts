/**
 * `shiftup findings --format html`: the open set of the finding store as one self-contained page
 * in the report's styles (no script, no network): the profiles in force, a tally, then one group
 * per severity — each finding with its state, rule, asset and location, what the last scan saw,
 * first and last seen, occurrences, an accepted risk's expiry and reason, and its fingerprint.
 * Every value from the store is escaped: a finding's evidence is text, whatever it holds.
 */
import { page } from "../report/html.ts"
import { escapeXml as e } from "../report/shared.ts"
import { describeLoop, type Loop } from "./feedback/loop.ts"
import type { Severity, StoredFinding } from "./store/Store.ts"

export interface HtmlContext {
  /** The misconfiguration profiles in force, as a line (the config's `misconfig` choices). */
  readonly profiles?: string
  /** When the page was made; default now. */
  readonly at?: Date
  /** The feedback loop of findings that have a regression experiment (found / reproduced / fixed). */
  readonly loops?: ReadonlyMap<string, Loop>
}

const order: ReadonlyArray<Severity> = ["critical", "high", "medium", "low"]
const when = (iso: string) => iso.replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC")
const stateClass = (s: StoredFinding["state"]) => (s === "regressed" || s === "new" ? "failed" : s === "accepted-risk" ? "aborted" : "refused")

const row = (loops: ReadonlyMap<string, Loop>) => (f: StoredFinding) =>
  `<div class="finding ${e(f.severity)}"><span class="badge ${stateClass(f.state)}">${e(f.state)}</span><strong>${e(f.title)}</strong><dl>` +
  `<dt>rule</dt><dd><code>${e(f.rule)}</code></dd><dt>asset</dt><dd><code>${e(f.asset)}</code>${f.location === "" ? "" : ` <span class="muted">at</span> <code>${e(f.location)}</code>`}</dd>` +
  `<dt>last seen as</dt><dd class="evidence">${e(f.detail)}</dd>` +
  `<dt>first seen</dt><dd>${e(when(f.firstSeen))}</dd><dt>last seen</dt><dd>${e(when(f.lastSeen))}</dd><dt>occurrences</dt><dd>${f.occurrences}</dd>` +
  (f.acceptedUntil === undefined ? "" : `<dt>accepted</dt><dd>until ${e(when(f.acceptedUntil))}: ${e(f.acceptedReason ?? "")}</dd>`) +
  (loops.has(f.fingerprint) ? `<dt>feedback</dt><dd>${e(describeLoop(f.firstSeen, loops.get(f.fingerprint) as Loop))}</dd>` : "") +
  `<dt>job</dt><dd>${e(f.scope)}</dd><dt>fingerprint</dt><dd><code>${e(f.fingerprint)}</code></dd></dl></div>`

/** The open findings as an HTML page. */
export const renderHtml = (findings: ReadonlyArray<StoredFinding>, context: HtmlContext = {}): string => {
  const groups = order.map((s) => [s, findings.filter((f) => f.severity === s)] as const).filter(([, list]) => list.length > 0)
  const tally = order.map((s) => `<span>${s} <b>${findings.filter((f) => f.severity === s).length}</b></span>`).join("")
  const body =
    `<p class="meta">${findings.length} open finding(s) · generated ${e(when((context.at ?? new Date()).toISOString()))}${context.profiles === undefined ? "" : ` · profiles: ${e(context.profiles)}`}</p><div class="kpi">${tally}</div>` +
    (findings.length === 0 ? `<section class="run"><p class="muted">No open findings.</p></section>` : groups.map(([s, list]) => `<section class="run" id="${s}"><h2>${s[0]?.toUpperCase()}${s.slice(1)} (${list.length})</h2>${list.map(row(context.loops ?? new Map())).join("")}</section>`).join("\n"))
  return page("shiftup: open findings", body, "the open set of the watch finding store (shiftup findings)")
}
