/**
 * Debian version ordering, as dpkg implements it (Debian Policy 5.6.12, deb-version(7)):
 * `[epoch:]upstream[-revision]`; epochs compare as numbers (missing = 0); upstream and revision
 * compare part by part, a run of non-digits then a run of digits. In the non-digit runs `~` sorts
 * before everything (even the end of the string), then the end, then letters, then every other
 * character; digit runs compare as numbers. A missing revision is the same as `0`.
 */

export interface DebianVersion {
  readonly epoch: number
  readonly upstream: string
  readonly revision: string
}

/** Splits a version into its three parts; `undefined` when the epoch is not a number or the upstream part is empty. */
export const parse = (version: string): DebianVersion | undefined => {
  const v = version.trim()
  const colon = v.indexOf(":")
  const epochText = colon === -1 ? "0" : v.slice(0, colon)
  if (!/^\d+$/.test(epochText)) return undefined
  const rest = v.slice(colon + 1)
  const dash = rest.lastIndexOf("-")
  const upstream = dash === -1 ? rest : rest.slice(0, dash)
  const revision = dash === -1 ? "" : rest.slice(dash + 1)
  if (upstream === "" || /[^A-Za-z0-9.+~:-]/.test(upstream) || /[^A-Za-z0-9.+~]/.test(revision)) return undefined
  return { epoch: Number(epochText), upstream, revision }
}

const isDigit = (c: number) => c >= 48 && c <= 57
const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122)

/** A character's weight in a non-digit run; `NaN` (past the end) weighs like the end. */
const weight = (c: number): number => (Number.isNaN(c) || isDigit(c) ? 0 : isLetter(c) ? c : c === 126 ? -1 : c + 256)

/** dpkg's `verrevcmp`: compares an upstream part or a revision. */
const compareParts = (a: string, b: string): number => {
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const d = weight(a.charCodeAt(i)) - weight(b.charCodeAt(j))
      if (d !== 0) return d
      i++
      j++
    }
    while (a.charCodeAt(i) === 48) i++
    while (b.charCodeAt(j) === 48) j++
    let firstDiff = 0
    while (isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j)
      i++
      j++
    }
    if (isDigit(a.charCodeAt(i))) return 1
    if (isDigit(b.charCodeAt(j))) return -1
    if (firstDiff !== 0) return firstDiff
  }
  return 0
}

const sign = (n: number): -1 | 0 | 1 => (n < 0 ? -1 : n > 0 ? 1 : 0)

/** Compares two parsed Debian versions: -1, 0 or 1. */
export const compareParsed = (a: DebianVersion, b: DebianVersion): -1 | 0 | 1 =>
  a.epoch !== b.epoch ? sign(a.epoch - b.epoch) : sign(compareParts(a.upstream, b.upstream) || compareParts(a.revision, b.revision))
