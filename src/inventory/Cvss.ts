/**
 * CVSS v3.x base scores from a vector (FIRST's CVSS v3.1 specification, section 7: the base
 * metric equations and the Roundup function), and the qualitative severity a score falls in.
 * v3.0 vectors use the same equations. Other versions (v2, v4) are kept as given, unscored.
 */

export type Severity = "critical" | "high" | "medium" | "low" | "none"

const weights = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  CIA: { H: 0.56, L: 0.22, N: 0 },
} as const

/** The privileges-required weight depends on the scope: a changed scope weighs L and H higher. */
const privileges = (pr: string, changed: boolean): number | undefined =>
  pr === "N" ? 0.85 : pr === "L" ? (changed ? 0.68 : 0.62) : pr === "H" ? (changed ? 0.5 : 0.27) : undefined

/** The specification's Roundup: the smallest one-decimal number ≥ x, computed on integers so 4.000000001 is not 4.1. */
const roundUp = (x: number): number => {
  const i = Math.round(x * 100_000)
  return i % 10_000 === 0 ? i / 100_000 : (Math.floor(i / 10_000) + 1) / 10
}

/** The base score (0.0–10.0) of a `CVSS:3.0/…` or `CVSS:3.1/…` vector; `undefined` for another version or a malformed vector. */
export const baseScore = (vector: string): number | undefined => {
  const parts = vector.trim().split("/")
  if (!/^CVSS:3\.[01]$/.test(parts[0] ?? "")) return undefined
  const m = new Map<string, string>()
  for (const p of parts.slice(1)) {
    const [k, v, extra] = p.split(":")
    if (k === undefined || v === undefined || extra !== undefined || m.has(k)) return undefined
    m.set(k, v)
  }
  const get = <T extends Record<string, number>>(table: T, key: string): number | undefined => {
    const v = m.get(key)
    return v !== undefined && Object.hasOwn(table, v) ? table[v] : undefined
  }
  const scope = m.get("S")
  if (scope !== "U" && scope !== "C") return undefined
  const changed = scope === "C"
  const av = get(weights.AV, "AV")
  const ac = get(weights.AC, "AC")
  const pr = privileges(m.get("PR") ?? "", changed)
  const ui = get(weights.UI, "UI")
  const c = get(weights.CIA, "C")
  const i = get(weights.CIA, "I")
  const a = get(weights.CIA, "A")
  if (av === undefined || ac === undefined || pr === undefined || ui === undefined || c === undefined || i === undefined || a === undefined) return undefined
  const iss = 1 - (1 - c) * (1 - i) * (1 - a)
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 : 6.42 * iss
  const exploitability = 8.22 * av * ac * pr * ui
  if (impact <= 0) return 0
  return changed ? roundUp(Math.min(1.08 * (impact + exploitability), 10)) : roundUp(Math.min(impact + exploitability, 10))
}

/** The qualitative rating of a score: none 0, low 0.1–3.9, medium 4.0–6.9, high 7.0–8.9, critical 9.0–10.0. */
export const severityOf = (score: number): Severity => (score >= 9 ? "critical" : score >= 7 ? "high" : score >= 4 ? "medium" : score > 0 ? "low" : "none")
