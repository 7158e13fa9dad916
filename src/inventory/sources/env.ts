/**
 * A container's environment as the inventory keeps it: names only, with what was judged of each
 * value at read time (a secret-like name, a random-looking value). The value itself is dropped
 * here, so no snapshot, finding or report can hold it.
 */
import type { EnvVar } from "../snapshot/model.ts"

/** Names that say a variable holds a credential. */
export const secretNamePattern = /(PASS(WORD|WD)?|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH)(_|$)/i

/** Shannon entropy of a string, in bits per character. */
export const entropy = (value: string): number => {
  const counts = new Map<string, number>()
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1)
  const n = [...value].length
  let bits = 0
  for (const c of counts.values()) bits -= (c / n) * Math.log2(c / n)
  return bits
}

/** Random-looking: ≥ 16 characters, ≥ 3.5 bits per character, and no spaces or slashes (not a path or a sentence). */
export const looksRandom = (value: string): boolean => value.length >= 16 && !/[\s/]/.test(value) && entropy(value) >= 3.5

export const envVarsOf = (env: Readonly<Record<string, string>>): ReadonlyArray<EnvVar> =>
  Object.entries(env)
    .map(([name, value]) => ({ name, secretName: secretNamePattern.test(name), highEntropy: looksRandom(value), empty: value === "" }))
    .sort((a, b) => a.name.localeCompare(b.name))
