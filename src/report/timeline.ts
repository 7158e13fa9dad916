/**
 * The SVG pieces of the HTML report: the run's timeline (phases, steps per target, fault
 * windows, rollbacks, the abort). Element counts are bounded whatever the journal's size: steps
 * narrower than a pixel are merged per pixel column (the worst outcome wins).
 */
import type { Journal, StepRecord } from "../Journal.ts"
import { escapeXml as e, ms, show } from "./shared.ts"

export const W = 1000
const LEFT = 170
const RIGHT = 16
const ROW = 22
export const f1 = (n: number) => (Math.round(n * 10) / 10).toString()

const worse: Readonly<Record<StepRecord["outcome"], number>> = { ok: 0, held: 1, error: 2, violated: 3 }
export const outcomeClass = (s: StepRecord) => (s.kind === "wait" ? "w" : s.outcome === "held" ? "h" : s.outcome === "violated" ? "v" : s.outcome === "error" ? "x" : s.kind === "fault" ? "f" : "o")

export interface Domain {
  readonly t0: number
  readonly t1: number
  readonly x: (t: number) => number
}

export const domainOf = (j: Journal): Domain => {
  let t0 = ms(j.startedAt)
  let t1 = ms(j.endedAt)
  for (const s of j.steps) {
    t0 = Math.min(t0, ms(s.startedAt))
    t1 = Math.max(t1, ms(s.endedAt))
  }
  for (const r of j.rollbacks) t1 = Math.max(t1, ms(r.endedAt))
  if (!(t1 > t0)) t1 = t0 + 1
  const span = t1 - t0
  return { t0, t1, x: (t) => LEFT + ((t - t0) / span) * (W - LEFT - RIGHT) }
}

const niceStep = (span: number) => {
  const raw = span / 8
  const p = 10 ** Math.floor(Math.log10(raw))
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p
}
export const label = (msv: number) => (msv >= 10_000 ? `${(msv / 1000).toFixed(0)} s` : msv >= 1000 ? `${(msv / 1000).toFixed(1)} s` : `${msv.toFixed(0)} ms`)

const axis = (d: Domain, y: number, height: number) => {
  const span = d.t1 - d.t0
  const step = niceStep(span)
  const out: Array<string> = []
  for (let t = 0; t <= span + 1e-9; t += step) {
    const x = f1(d.x(d.t0 + t))
    out.push(`<line class="grid" x1="${x}" x2="${x}" y1="${y}" y2="${y + height}"/><text class="tick" x="${x}" y="${y + height + 12}" text-anchor="middle">${label(t)}</text>`)
  }
  return out.join("")
}

interface Span {
  readonly a: number
  readonly b: number
}

const phaseSpans = (j: Journal): ReadonlyArray<{ readonly name: string; readonly span: Span }> => {
  const spans = new Map<string, { a: number; b: number }>()
  const add = (name: string, a: number, b: number) => {
    const s = spans.get(name)
    if (s === undefined) spans.set(name, { a, b })
    else {
      s.a = Math.min(s.a, a)
      s.b = Math.max(s.b, b)
    }
  }
  for (const s of j.steps) add(s.phase, ms(s.startedAt), ms(s.endedAt))
  for (const r of j.rollbacks) add("rollback", ms(r.startedAt), ms(r.endedAt))
  const order = ["before", "method", "rollback", "recovery", "after", "guard"]
  return order.flatMap((name) => {
    const span = spans.get(name)
    return span === undefined ? [] : [{ name, span }]
  })
}

/** Matches each injected fault with the rollback that undid it (by fault id and target, in order). */
export const faultWindows = (j: Journal) => {
  const used = new Set<number>()
  return j.steps
    .filter((s) => s.kind === "fault")
    .map((s) => {
      const i = j.rollbacks.findIndex((r, k) => !used.has(k) && r.fault === s.id && r.target === s.target)
      if (i >= 0) used.add(i)
      return { step: s, rollback: i >= 0 ? j.rollbacks[i] : undefined }
    })
}

/** Step rectangles of one lane, merged per pixel column below 1.5 px of width. */
const laneRects = (d: Domain, steps: ReadonlyArray<StepRecord>, y: number) => {
  const out: Array<string> = []
  const columns = new Map<number, { cls: string; rank: number; n: number }>()
  for (const s of steps) {
    const a = d.x(ms(s.startedAt))
    const b = d.x(ms(s.endedAt))
    if (b - a >= 1.5) {
      const title = `${s.phase} · ${s.id}${s.target === undefined ? "" : ` @ ${s.target}`} · ${s.outcome} · ${s.durationMs} ms${s.expected === undefined ? "" : ` · expected ${s.expected}`}${s.observed === undefined ? "" : ` · observed ${show(s.observed, 80)}`}`
      out.push(`<rect class="s ${outcomeClass(s)}" x="${f1(a)}" y="${y + 3}" width="${f1(b - a)}" height="${ROW - 6}"><title>${e(title)}</title></rect>`)
    } else {
      const col = Math.floor(a)
      const rank = worse[s.outcome]
      const c = columns.get(col)
      if (c === undefined) columns.set(col, { cls: outcomeClass(s), rank, n: 1 })
      else {
        c.n++
        if (rank > c.rank) {
          c.rank = rank
          c.cls = outcomeClass(s)
        }
      }
    }
  }
  for (const [col, c] of columns) out.push(`<rect class="s ${c.cls}" x="${col}" y="${y + 3}" width="1.5" height="${ROW - 6}">${c.n > 1 ? `<title>${c.n} steps</title>` : ""}</rect>`)
  return out.join("")
}

/** Where a marker's label sits so it stays inside the drawing. */
const anchor = (x: number) => (x > W - 90 ? "end" : x < LEFT + 60 ? "start" : "middle")

/** The timeline of one run as an inline SVG element. `uid` keeps pattern ids unique in the page. */
export const timelineSvg = (j: Journal, uid: string): string => {
  const d = domainOf(j)
  const rows: Array<string> = []
  let y = 8
  const rowLabel = (text: string, cls = "lane") => `<text class="${cls}" x="${LEFT - 8}" y="${y + ROW / 2 + 4}" text-anchor="end">${e(text.length > 26 ? `${text.slice(0, 25)}…` : text)}</text>`

  // phases
  rows.push(rowLabel("phases", "lane b"))
  for (const p of phaseSpans(j)) {
    const a = d.x(p.span.a)
    const w = Math.max(2, d.x(p.span.b) - a)
    rows.push(`<rect class="ph ${p.name}" x="${f1(a)}" y="${y + 2}" width="${f1(w)}" height="${ROW - 4}"><title>${e(`${p.name}: ${label(p.span.b - p.span.a)}`)}</title></rect>`)
    if (w > p.name.length * 6.2 + 8) rows.push(`<text class="phl" x="${f1(a + 4)}" y="${y + ROW / 2 + 4}">${e(p.name)}</text>`)
  }
  y += ROW

  // fault windows: injection → rollback end
  const windows = faultWindows(j)
  const shown = windows.slice(0, 20)
  for (const w of shown) {
    rows.push(rowLabel(`⚡ ${w.step.id}`))
    const a = d.x(ms(w.step.startedAt))
    const end = w.rollback === undefined ? d.t1 : ms(w.rollback.startedAt)
    const b = d.x(end)
    rows.push(
      `<rect class="fw" x="${f1(a)}" y="${y + 3}" width="${f1(Math.max(2, b - a))}" height="${ROW - 6}" fill="url(#hatch-${uid})"><title>${e(`fault ${w.step.id} on ${w.step.target ?? "?"} active ${label(end - ms(w.step.startedAt))}`)}</title></rect>`,
    )
    if (w.rollback !== undefined) {
      const r = w.rollback
      const ra = d.x(ms(r.startedAt))
      rows.push(
        `<rect class="rb ${r.outcome === "restored" ? "ok" : "bad"}" x="${f1(ra)}" y="${y + 3}" width="${f1(Math.max(3, d.x(ms(r.endedAt)) - ra))}" height="${ROW - 6}"><title>${e(`rollback ${r.fault}: ${r.outcome} in ${r.durationMs} ms (${r.compensation})${r.error === undefined ? "" : ` — ${r.error}`}`)}</title></rect>`,
      )
    }
    y += ROW
  }
  if (windows.length > shown.length) {
    rows.push(rowLabel(`+${windows.length - shown.length} more faults`))
    y += ROW
  }

  // steps per target (checks, probes), waits in their own lane
  const lanes = new Map<string, Array<StepRecord>>()
  for (const s of j.steps) {
    if (s.kind === "fault") continue
    const key = s.kind === "wait" ? "(waits)" : (s.target ?? "(no target)")
    let lane = lanes.get(key)
    if (lane === undefined) lanes.set(key, (lane = []))
    lane.push(s)
  }
  for (const [key, steps] of lanes) {
    rows.push(rowLabel(key === "(waits)" ? "waits" : `◉ ${key}`))
    rows.push(laneRects(d, steps, y))
    y += ROW
  }
  if (lanes.size === 0 && windows.length === 0) {
    rows.push(`<text class="lane" x="${LEFT + 8}" y="${y + ROW / 2 + 4}">${e(j.status === "refused" ? "refused before any side effect: nothing ran" : "no steps ran")}</text>`)
    y += ROW
  }

  // the abort, and the start of rollback
  const markers: Array<string> = []
  const firstRollback = j.rollbacks.length === 0 ? undefined : Math.min(...j.rollbacks.map((r) => ms(r.startedAt)))
  if (firstRollback !== undefined) {
    const x = f1(d.x(firstRollback))
    markers.push(`<line class="mk rbk" x1="${x}" x2="${x}" y1="4" y2="${y + 2}"/><text class="mkl" x="${x}" y="${y + 26}" text-anchor="${anchor(d.x(firstRollback))}">↺ rollback</text>`)
  }
  if (j.abort !== undefined) {
    const at = firstRollback ?? Math.max(d.t0, ...j.steps.map((s) => ms(s.endedAt)))
    const x = f1(d.x(at))
    markers.push(
      `<line class="mk abt" x1="${x}" x2="${x}" y1="4" y2="${y + 2}"><title>${e(`aborted (${j.abort.cause}): ${j.abort.detail}`)}</title></line><text class="mkl abt" x="${x}" y="${y + 38}" text-anchor="${anchor(d.x(at))}">■ ${e(j.abort.cause === "guard" ? "stop condition" : `abort: ${j.abort.cause}`)}</text>`,
    )
  }
  const height = y + 46
  return `<svg class="timeline" role="img" aria-label="timeline of run ${e(j.runId)}" viewBox="0 0 ${W} ${height}" width="100%" preserveAspectRatio="xMinYMin meet"><defs><pattern id="hatch-${uid}" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff3cd"/><line x1="0" y1="0" x2="0" y2="6" stroke="#f0ad4e" stroke-width="3"/></pattern></defs>${axis(d, 4, y - 4)}${rows.join("")}${markers.join("")}</svg>`
}
