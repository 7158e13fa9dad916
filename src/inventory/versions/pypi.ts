/**
 * PyPI version ordering: PEP 440 as `@renovatebot/pep440` implements it — epochs, pre-releases
 * (`a`, `b`, `rc`), post-releases, dev releases (`1.0.dev1` < `1.0a1` < `1.0` < `1.0.post1`) and
 * local versions (`1.0+local` > `1.0`), with the normalisations PEP 440 allows (`1.0-RC1` = `1.0rc1`).
 */
import { compare as pep440Compare, valid as pep440Valid } from "@renovatebot/pep440"

export const valid = (version: string): boolean => pep440Valid(version) !== null

/** Compares two PEP 440 versions: -1, 0 or 1. Invalid versions throw; check with `valid` first. */
export const compare = (a: string, b: string): -1 | 0 | 1 => {
  const c = pep440Compare(a, b)
  return c < 0 ? -1 : c > 0 ? 1 : 0
}
