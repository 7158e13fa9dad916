/**
 * Leakage patterns of the profiles: what must never appear in an answer of a system of that kind
 * (healthcare record numbers, dates of birth, national ids; card numbers, kept only when their
 * Luhn checksum holds so order numbers do not count). Matches are reported masked.
 */
import type { LeakPattern } from "./profiles.ts"

/** The Luhn checksum of a digit string (card numbers, some national ids). */
export const luhn = (digits: string): boolean => {
  if (!/^\d{12,19}$/.test(digits)) return false
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i])
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

const patterns: Readonly<Record<LeakPattern, { readonly re: RegExp; readonly valid?: (match: string) => boolean }>> = {
  "card-number": { re: /\b(?:\d[ -]?){12,18}\d\b/g, valid: (m) => luhn(m.replace(/[ -]/g, "")) },
  "medical-record-number": { re: /\b(?:MRN|medical record(?: number)?|patient id)\s*[:#]?\s*[A-Z0-9-]{5,}\b/gi },
  "date-of-birth": { re: /\b(?:DOB|date of birth|birth ?date)\s*[:=]?\s*(?:\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})\b/gi },
  "national-id": { re: /\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b/g },
  email: { re: /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g },
  "api-key": { re: /\b(?:AKIA[0-9A-Z]{16}|sk_live_[0-9a-zA-Z]{16,}|ghp_[0-9A-Za-z]{36}|xox[bp]-[0-9A-Za-z-]{10,})\b/g },
}

/** Shows the kind and the last four characters only. */
const mask = (m: string) => `${"•".repeat(Math.max(0, m.length - 4))}${m.slice(-4)}`

export interface Leak {
  readonly pattern: LeakPattern
  /** Masked: all but the last four characters replaced. */
  readonly masked: string
  readonly index: number
}

/** The leaks of `text` under `enabled` patterns, masked. */
export const findLeaks = (text: string, enabled: ReadonlyArray<LeakPattern>): ReadonlyArray<Leak> =>
  enabled.flatMap((pattern) => {
    const { re, valid } = patterns[pattern]
    return [...text.matchAll(re)].filter((m) => valid === undefined || valid(m[0])).map((m) => ({ pattern, masked: mask(m[0]), index: m.index }))
  })

/** `text` with every leak of `enabled` patterns masked in place (evidence quoting a body). */
export const maskLeaks = (text: string, enabled: ReadonlyArray<LeakPattern>): string => {
  let out = ""
  let at = 0
  for (const l of [...findLeaks(text, enabled)].sort((a, b) => a.index - b.index)) {
    if (l.index < at) continue // overlaps a leak already masked
    out += text.slice(at, l.index) + l.masked
    at = l.index + l.masked.length
  }
  return out + text.slice(at)
}
