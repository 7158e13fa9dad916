/**
 * Alpine (apk-tools) version ordering: `digits{.digits}{letter}{_suffix{digits}}…{-rN}`.
 * Tokens are compared in turn; `_alpha`, `_beta`, `_pre`, `_rc` sort before the release they
 * qualify and `_cvs`, `_svn`, `_git`, `_hg`, `_p` after it; `-rN` is the package revision (a
 * version without one sorts before any `-rN` of it); a letter after the digits sorts after them
 * (`1.2a` > `1.2`); a digit group after a
 * dot that starts with `0` compares as a fraction (`1.01` < `1.1`, `1.001` < `1.01`).
 */

/** Token kinds in apk-tools' order: where two versions differ in kind, this order decides. */
const Kind = { Invalid: -1, DigitOrZero: 0, Digit: 1, Letter: 2, Suffix: 3, SuffixNo: 4, RevisionNo: 5, End: 6 } as const
type Kind = (typeof Kind)[keyof typeof Kind]

const preSuffixes = ["alpha", "beta", "pre", "rc"]
const postSuffixes = ["cvs", "svn", "git", "hg", "p"]

/** A suffix's value and length at `at`: pre-release suffixes are negative, post-release ones 0 and up; an unknown suffix is `[-1, 0]`. */
const suffix = (s: string, at: number): readonly [number, number] => {
  const pre = preSuffixes.findIndex((x) => s.startsWith(x, at))
  if (pre !== -1) return [pre - preSuffixes.length, preSuffixes[pre]?.length ?? 0]
  const post = postSuffixes.findIndex((x) => s.startsWith(x, at))
  return post === -1 ? [-1, 0] : [post, postSuffixes[post]?.length ?? 0]
}

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9"
const isLower = (c: string | undefined) => c !== undefined && c >= "a" && c <= "z"

class Reader {
  kind: Kind = Kind.Digit
  pos = 0
  readonly s: string
  constructor(s: string) {
    this.s = s
  }

  /** The kind of the token after a separator, moving past the separator. */
  private nextKind() {
    const c = this.s[this.pos]
    let n: Kind = Kind.Invalid
    if (c === undefined) n = Kind.End
    else if ((this.kind === Kind.Digit || this.kind === Kind.DigitOrZero) && isLower(c)) n = Kind.Letter
    else if (this.kind === Kind.Letter && isDigit(c)) n = Kind.Digit
    else if (this.kind === Kind.Suffix && isDigit(c)) n = Kind.SuffixNo
    else {
      if (c === ".") n = Kind.DigitOrZero
      else if (c === "_") n = Kind.Suffix
      else if (c === "-" && this.s[this.pos + 1] === "r") {
        n = Kind.RevisionNo
        this.pos++
      }
      this.pos++
    }
    const allowedBackwards = (n === Kind.DigitOrZero && this.kind === Kind.Digit) || (n === Kind.Suffix && this.kind === Kind.SuffixNo) || (n === Kind.Digit && this.kind === Kind.Letter)
    this.kind = n < this.kind && !allowedBackwards ? Kind.Invalid : n
  }

  /** The value of the current token, then moves to the next one. */
  token(): number {
    if (this.pos >= this.s.length) {
      this.kind = Kind.End
      return 0
    }
    let v = 0
    let i = this.pos
    let next: Kind | undefined
    // A digit group after a dot that starts with zeros: its value is minus the number of zeros.
    if (this.kind === Kind.DigitOrZero && this.s[i] === "0") {
      while (this.s[i] === "0") i++
      next = Kind.Digit
      v = -(i - this.pos)
    } else if (this.kind === Kind.DigitOrZero || this.kind === Kind.Digit || this.kind === Kind.SuffixNo || this.kind === Kind.RevisionNo) {
      while (isDigit(this.s[i])) v = v * 10 + (this.s.charCodeAt(i++) - 48)
    } else if (this.kind === Kind.Letter) {
      v = this.s.charCodeAt(i++)
    } else {
      const [value, length] = this.kind === Kind.Suffix ? suffix(this.s, i) : [-1, 0]
      if (length === 0) {
        this.kind = Kind.Invalid
        return -1
      }
      v = value
      i += length
    }
    this.pos = i
    if (this.pos >= this.s.length) this.kind = Kind.End
    else if (next !== undefined) this.kind = next
    else this.nextKind()
    return v
  }
}

/** Whether apk-tools accepts `version` (tokens in a valid order, known suffixes). */
export const valid = (version: string): boolean => {
  if (!isDigit(version[0])) return false
  const r = new Reader(version)
  while (r.kind !== Kind.End && r.kind !== Kind.Invalid) r.token()
  return r.kind === Kind.End
}

/** Compares two apk versions: -1, 0 or 1. */
export const compare = (a: string, b: string): -1 | 0 | 1 => {
  const ra = new Reader(a)
  const rb = new Reader(b)
  let av = 0
  let bv = 0
  while (ra.kind === rb.kind && ra.kind !== Kind.End && ra.kind !== Kind.Invalid && av === bv) {
    av = ra.token()
    bv = rb.token()
  }
  if (av < bv) return -1
  if (av > bv) return 1
  if (ra.kind === rb.kind) return 0
  // Equal so far: the longer version is newer, unless what it has more of is a pre-release suffix.
  if (ra.kind === Kind.Suffix && suffix(a, ra.pos)[0] < 0) return -1
  if (rb.kind === Kind.Suffix && suffix(b, rb.pos)[0] < 0) return 1
  return ra.kind > rb.kind ? -1 : rb.kind > ra.kind ? 1 : 0
}

