/**
 * Helpers shared by the file reporters: escaping, value rendering, time arithmetic over a
 * journal. Everything here is pure.
 */
import type { Journal, StepRecord } from "../Journal.ts"

/** Escapes text for HTML and XML content and attribute values. */
export const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&apos;"))

/** Removes characters XML 1.0 does not allow at all (control characters other than tab, LF, CR). */
// oxlint-disable-next-line no-control-regex
export const xmlSafe = (s: string): string => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "\ufffd")

/** A value as one line of text: strings as they are, everything else as JSON. */
export const show = (u: unknown, max = 300): string => {
  const s = typeof u === "string" ? u : u === undefined ? "" : (JSON.stringify(u) ?? String(u))
  return s.length > max ? `${s.slice(0, max - 1)}…` : s
}

export const ms = (iso: string): number => Date.parse(iso)

/** Assertions of a run: its check steps, in order. */
export const assertions = (j: Journal): ReadonlyArray<StepRecord> => j.steps.filter((s) => s.kind === "check")

/** Whether the run ended for a reason no check explains: refused, invalid, aborted, rollback incomplete. */
export const runProblem = (j: Journal): string | undefined => {
  switch (j.status) {
    case "refused":
      return j.refusal === undefined ? j.summary : `${j.refusal.rule}: ${j.refusal.reason} (step "${j.refusal.step}" on ${j.refusal.target})`
    case "aborted":
      return j.abort === undefined ? j.summary : `aborted (${j.abort.cause}): ${j.abort.detail}`
    case "invalid":
    case "rollback-incomplete":
      return j.summary
    default:
      return undefined
  }
}

export const statusWord: Readonly<Record<Journal["status"], string>> = {
  passed: "PASSED",
  failed: "FAILED",
  refused: "REFUSED",
  aborted: "ABORTED",
  invalid: "INVALID",
  "rollback-incomplete": "ROLLBACK INCOMPLETE",
}
