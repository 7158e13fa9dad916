/**
 * Generated versions for the ordering tests: small alphabets, so that generated versions often
 * tie or differ in one hard place (a tilde, a leading zero, an epoch, a suffix, a revision).
 */
import fc from "fast-check"

const pick = (xs: ReadonlyArray<string>) => fc.constantFrom(...xs)
const joined = (parts: fc.Arbitrary<string>, max: number) => fc.array(parts, { maxLength: max }).map((xs) => xs.join(""))

/** `[epoch:]upstream[-revision]` with tildes, letters, leading zeros, `+`, `.` and hyphens inside upstream. */
export const debianVersion: fc.Arbitrary<string> = fc
  .record({
    epoch: pick(["", "", "0:", "1:", "2:", "10:"]),
    head: pick(["0", "1", "2", "9", "10", "01"]),
    upstream: joined(pick(["0", "1", "2", "00", "10", "a", "b", "z", "A", "Z", "~", "~~", ".", "+", "rc", "~rc", "~beta", ".0"]), 5),
    revision: fc.option(fc.tuple(pick(["0", "1", "2", "a", "10", "0ubuntu"]), joined(pick(["0", "1", "~", "+", ".", "b", "deb12u", "~bpo"]), 3)).map(([h, t]) => h + t), { nil: undefined }),
    inner: pick(["", "", "-1", "-rc"]),
  })
  .map((v) => `${v.epoch}${v.head}${v.upstream}${v.revision === undefined ? "" : `${v.inner}-${v.revision}`}`)

/** `digits{.digits}[letter]{_suffix[n]}[-rN]`, as apk-tools accepts them. */
export const alpineVersion: fc.Arbitrary<string> = fc
  .record({
    head: pick(["0", "1", "2", "10"]),
    dots: joined(pick([".0", ".1", ".2", ".01", ".10", ".001"]), 3),
    letter: pick(["", "", "a", "b", "z"]),
    suffixes: joined(fc.tuple(pick(["_alpha", "_beta", "_pre", "_rc", "_cvs", "_svn", "_git", "_hg", "_p"]), pick(["", "0", "1", "2", "10"])).map(([s, n]) => s + n), 2),
    revision: pick(["", "", "-r0", "-r1", "-r2", "-r10"]),
  })
  .map((v) => `${v.head}${v.dots}${v.letter}${v.suffixes}${v.revision}`)

/** Semantic versions with prereleases (numeric and alphanumeric identifiers) and build metadata. */
export const npmVersion: fc.Arbitrary<string> = fc
  .record({
    core: fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3)).map((xs) => xs.join(".")),
    pre: fc.option(fc.array(pick(["alpha", "beta", "rc", "0", "1", "2", "10", "x-y"]), { minLength: 1, maxLength: 3 }).map((xs) => xs.join(".")), { nil: undefined }),
    build: pick(["", "", "+build.1", "+sha.abc"]),
  })
  .map((v) => `${v.core}${v.pre === undefined ? "" : `-${v.pre}`}${v.build}`)

/** PEP 440 versions: epochs, pre, post, dev and local segments. */
export const pypiVersion: fc.Arbitrary<string> = fc
  .record({
    epoch: pick(["", "", "1!"]),
    release: fc.array(fc.nat(3), { minLength: 1, maxLength: 3 }).map((xs) => xs.join(".")),
    pre: pick(["", "", "a1", "b2", "rc1", "a0"]),
    post: pick(["", "", ".post1", ".post0", ".post2"]),
    dev: pick(["", "", ".dev0", ".dev1"]),
    local: pick(["", "", "+local", "+ubuntu.1", "+1"]),
  })
  .map((v) => `${v.epoch}${v.release}${v.pre}${v.post}${v.dev}${v.local}`)
