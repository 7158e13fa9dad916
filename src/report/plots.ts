/**
 * Probe values over time, for the HTML report. A series is a check's or probe's id across the
 * run; its points are every sample a repeated check kept (`sampling`), or one observation per
 * step. A series with a few points or more gets its own value plot; the others — one
 * observation per rule, as header and TLS checks make — are grouped per family (the rule's
 * prefix, `headers`, `tls`…, else the target) into one strip chart with a row per check, so a
 * run of 29 rules draws 2 charts, not 29 near-empty ones. Failing charts come first. Element
 * counts are bounded whatever the journal's size.
 */
import type { Journal, StepRecord } from "../Journal.ts"
import { escapeXml as e, ms, show } from "./shared.ts"
import { type Domain, domainOf, f1, label, outcomeClass, W } from "./timeline.ts"

interface Point {
  readonly t: number
  readonly v: unknown
  /** h held, v violated, x error, w not matched yet (a poll of an `eventually` that held), o probe. */
  readonly cls: string
}

interface Series {
  readonly id: string
  readonly target: string | undefined
  readonly points: Array<Point>
}

export interface Chart {
  readonly kind: "plot" | "family"
  readonly caption: string
  readonly svg: string
  /** Observations it shows. */
  readonly points: number
  readonly violated: boolean
}

const sampleClass = (step: StepRecord, held: boolean, error: boolean) => (held ? "h" : error ? "x" : step.outcome === "held" ? "w" : "v")

const seriesOf = (j: Journal): ReadonlyArray<Series> => {
  const series = new Map<string, Series>()
  for (const s of j.steps) {
    if (s.kind !== "check" && s.kind !== "probe") continue
    if (s.sampling === undefined && s.observed === undefined) continue
    let x = series.get(s.id)
    if (x === undefined) series.set(s.id, (x = { id: s.id, target: s.target, points: [] }))
    if (s.sampling === undefined || s.sampling.kept.length === 0) x.points.push({ t: ms(s.endedAt), v: s.observed, cls: outcomeClass(s) })
    else {
      const t0 = ms(s.startedAt)
      for (const p of s.sampling.kept) x.points.push({ t: t0 + p.atMs, v: p.error === undefined ? p.value : `error: ${p.error}`, cls: sampleClass(s, p.held, p.error !== undefined) })
    }
  }
  return [...series.values()]
}

const isViolated = (points: ReadonlyArray<Point>) => points.some((p) => p.cls === "v" || p.cls === "x")

// ── one series, its own plot ──

const PW = 310
const PH = 96
const PL = 44

const plot = (d: Domain, s: Series, maxPoints: number): Chart => {
  const all = s.points
  // Downsample evenly, keeping every violation and error.
  const stride = Math.max(1, Math.ceil(all.length / maxPoints))
  const pts = all.filter((p, i) => i % stride === 0 || p.cls === "v" || p.cls === "x")
  const numeric = pts.every((p) => typeof p.v === "number" || typeof p.v === "boolean")
  const px = (t: number) => PL + ((t - d.t0) / (d.t1 - d.t0)) * (PW - PL - 8)
  let py: (v: unknown) => number
  let yLabels: Array<{ readonly y: number; readonly text: string }>
  if (numeric) {
    let lo = Number.POSITIVE_INFINITY
    let hi = Number.NEGATIVE_INFINITY
    for (const p of pts) {
      lo = Math.min(lo, Number(p.v))
      hi = Math.max(hi, Number(p.v))
    }
    const [min, max] = [lo, hi]
    if (lo === hi) {
      lo -= 1
      hi += 1
    }
    py = (v) => 8 + (1 - (Number(v) - lo) / (hi - lo)) * (PH - 28)
    yLabels = [{ y: py(max), text: show(max, 8) }, ...(min === max ? [] : [{ y: py(min), text: show(min, 8) }])]
  } else {
    const cats = [...new Set(pts.map((p) => show(p.v, 40)))].slice(0, 6)
    const at = (v: unknown) => {
      const i = cats.indexOf(show(v, 40))
      return i < 0 ? cats.length : i
    }
    const n = Math.max(1, cats.length - (cats.length > 1 ? 1 : 0))
    py = (v) => 8 + (at(v) / n) * (PH - 28)
    yLabels = cats.map((c) => ({ y: py(c), text: c.length > 7 ? `${c.slice(0, 6)}…` : c }))
  }
  const byClass = new Map<string, Array<string>>()
  for (const p of pts) {
    let list = byClass.get(p.cls)
    if (list === undefined) byClass.set(p.cls, (list = []))
    list.push(`M${f1(px(p.t))} ${f1(py(p.v))}h0`)
  }
  const line = numeric && pts.length > 1 ? `<path class="pl" d="${pts.map((p, i) => `${i === 0 ? "M" : "L"}${f1(px(p.t))} ${f1(py(p.v))}`).join("")}"/>` : ""
  const dots = [...byClass].map(([cls, ds]) => `<path class="pt ${cls}" d="${ds.join("")}"/>`).join("")
  const labels = yLabels.map((l) => `<text class="tick" x="${PL - 4}" y="${f1(l.y + 3)}" text-anchor="end">${e(l.text)}</text>`).join("")
  const bad = all.filter((p) => p.cls === "v" || p.cls === "x").length
  const svg = `<svg class="plot" role="img" aria-label="${e(`values of ${s.id}`)}" viewBox="0 0 ${PW} ${PH}" width="${PW}" height="${PH}"><title>${e(`${s.id}: ${all.length} observation(s)${bad > 0 ? `, ${bad} not as expected` : ""}`)}</title><rect class="pf" x="${PL}" y="4" width="${PW - PL - 4}" height="${PH - 20}"/>${labels}${line}${dots}<text class="tick" x="${PL}" y="${PH - 3}">0</text><text class="tick" x="${PW - 6}" y="${PH - 3}" text-anchor="end">${label(d.t1 - d.t0)}</text></svg>`
  return { kind: "plot", caption: s.id, svg, points: all.length, violated: bad > 0 }
}

// ── a family of few-point series, one strip chart ──

const ruleFamily = /: ([a-z][a-z0-9-]*)\.[a-z0-9][a-z0-9.-]*$/

/** The family of a series: its rule's prefix (`…: headers.csp-missing` → `headers`), else its target. */
export const familyOf = (s: { readonly id: string; readonly target?: string | undefined }): { readonly key: string; readonly rowLabel: string } => {
  const m = ruleFamily.exec(s.id)
  if (m?.[1] !== undefined) return { key: `${m[1]} rules`, rowLabel: s.id.slice((m.index ?? 0) + 2) }
  return { key: `checks of ${s.target ?? "(no target)"}`, rowLabel: s.id }
}

const ROW = 16
const FL = 300
const FR = 170
const maxRows = 60

const family = (d: Domain, key: string, rows: ReadonlyArray<{ readonly s: Series; readonly rowLabel: string }>): Chart => {
  const x = (t: number) => FL + ((t - d.t0) / (d.t1 - d.t0)) * (W - FL - FR)
  const shown = rows.slice(0, maxRows)
  const parts: Array<string> = []
  let y = 4
  for (const { s, rowLabel } of shown) {
    const bad = isViolated(s.points)
    const last = [...s.points].reverse().find((p) => p.cls === "v" || p.cls === "x") ?? s.points[s.points.length - 1]
    const text = rowLabel.length > 44 ? `${rowLabel.slice(0, 43)}…` : rowLabel
    parts.push(`<text class="lane${bad ? " bad" : ""}" x="${FL - 8}" y="${y + ROW / 2 + 4}" text-anchor="end">${e(text)}<title>${e(s.id)}</title></text>`)
    parts.push(`<line class="grid" x1="${FL}" x2="${W - FR}" y1="${y + ROW / 2}" y2="${y + ROW / 2}"/>`)
    for (const p of s.points.slice(0, 40)) parts.push(`<circle class="pt ${p.cls}" cx="${f1(x(p.t))}" cy="${y + ROW / 2}" r="4"><title>${e(`${s.id} · ${show(p.v, 120)}`)}</title></circle>`)
    if (last !== undefined) parts.push(`<text class="val${bad ? " bad" : ""}" x="${W - FR + 10}" y="${y + ROW / 2 + 4}">${e(show(last.v, 26))}</text>`)
    y += ROW
  }
  if (rows.length > shown.length) {
    parts.push(`<text class="lane" x="${FL - 8}" y="${y + ROW / 2 + 4}" text-anchor="end">+${rows.length - shown.length} more</text>`)
    y += ROW
  }
  const height = y + 18
  const svg = `<svg class="strip" role="img" aria-label="${e(key)}" viewBox="0 0 ${W} ${height}" width="100%" preserveAspectRatio="xMinYMin meet"><text class="tick" x="${FL}" y="${height - 3}">0</text><text class="tick" x="${W - FR}" y="${height - 3}" text-anchor="end">${label(d.t1 - d.t0)}</text>${parts.join("")}</svg>`
  const failing = rows.filter((r) => isViolated(r.s.points)).length
  return { kind: "family", caption: `${key}: ${rows.length} check${rows.length === 1 ? "" : "s"}${failing > 0 ? `, ${failing} failing` : ""}`, svg, points: rows.reduce((n, r) => n + r.s.points.length, 0), violated: failing > 0 }
}

/**
 * The charts of a run, failing ones first: a value plot per series of at least `minPoints`
 * points (at most `maxPoints` drawn, every violation among them), a strip chart per family for
 * the others.
 */
export const chartsOf = (j: Journal, options: { readonly maxCharts?: number; readonly maxPoints?: number; readonly minPoints?: number } = {}): ReadonlyArray<Chart> => {
  const d = domainOf(j)
  const minPoints = options.minPoints ?? 3
  const plots: Array<Chart> = []
  const families = new Map<string, Array<{ readonly s: Series; readonly rowLabel: string }>>()
  for (const s of seriesOf(j)) {
    if (s.points.length >= minPoints) plots.push(plot(d, s, options.maxPoints ?? 800))
    else {
      const f = familyOf(s)
      let rows = families.get(f.key)
      if (rows === undefined) families.set(f.key, (rows = []))
      rows.push({ s, rowLabel: f.rowLabel })
    }
  }
  const strips = [...families].map(([key, rows]) => family(d, key, [...rows].sort((a, b) => Number(isViolated(b.s.points)) - Number(isViolated(a.s.points)))))
  return [...plots, ...strips].sort((a, b) => Number(b.violated) - Number(a.violated)).slice(0, options.maxCharts ?? 24)
}
