/**
 * A container's environment as the inventory keeps it: names only, with what was judged of each
 * value at read time (a secret-like name, a random-looking value). The value itself is dropped
 * here, so no snapshot, finding or report can hold it.
 */
import type { EnvVar } from "../snapshot/model.ts"

/** Words that say a variable holds a credential (`DB_PASSWORD`, `GITHUB_TOKEN`, `dbPass`). */
const secretWords: ReadonlySet<string> = new Set(["PASSWORD", "PASSWD", "PASS", "PWD", "PASSPHRASE", "SECRET", "SECRETS", "TOKEN", "CREDENTIAL", "CREDENTIALS", "CREDS", "APIKEY", "ACCESSKEY", "PRIVATEKEY", "SECRETKEY"])
/** `AUTH` is one only as the last word of several (`BASIC_AUTH`, not `AUTH_DOMAIN`); `KEY` only after one of these (`API_KEY`, `AWS_SECRET_ACCESS_KEY`; not `CACHE_KEY`, `SORT_KEY`). */
const keyKinds: ReadonlySet<string> = new Set(["API", "ACCESS", "PRIVATE", "SECRET", "ENCRYPTION", "SIGNING", "MASTER", "HMAC", "JWT", "CLIENT", "SESSION", "LICENSE", "SSH", "GPG", "PGP", "CRYPT", "CIPHER"])
/**
 * Words after the credential word that make the name describe it rather than hold it:
 * `PASSWORD_MIN_LENGTH`, `TOKEN_TTL_SECONDS`, `DB_PASSWORD_FILE` (a path: Docker's own convention
 * for secrets as files), `AWS_ACCESS_KEY_ID` (an identifier, not the secret).
 */
const describing: ReadonlySet<string> = new Set(
  "MIN MAX MINIMUM MAXIMUM LENGTH LEN TTL EXPIRY EXPIRES EXPIRE EXPIRATION LIFETIME TIMEOUT INTERVAL SECONDS SECS MS MINUTES HOURS DAYS AGE POLICY RULE RULES PATTERN REGEX COMPLEXITY STRENGTH ROTATION FILE PATH DIR LOCATION URL URI ENDPOINT HOST PORT HEADER NAME FIELD PARAM TYPE MODE ENABLED DISABLED ENABLE DISABLE REQUIRED ID ALGORITHM ALG ALGO COUNT SIZE BYTES BITS ATTEMPTS RETRIES ROUNDS COST PROVIDER PREFIX SUFFIX FORMAT VERSION AUDIENCE ISSUER SCOPE SCOPES".split(" "),
)

/** `DB_PASSWORD`, `db-password`, `dbPassword` → `["DB", "PASSWORD"]`. */
const wordsOf = (name: string): ReadonlyArray<string> =>
  name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== "")
    .map((w) => w.toUpperCase())

/**
 * Whether a variable's name says it holds a credential: a credential word (whole words only, so
 * `BYPASS_CACHE` and `KEYBOARD_LAYOUT` are not) with no describing word after it (so
 * `PASSWORD_MIN_LENGTH` and `TOKEN_TTL_SECONDS` are not). A value's randomness is judged apart
 * (`looksRandom`), so a secret under an innocent name is still found.
 */
export const isSecretName = (name: string): boolean => {
  const words = wordsOf(name)
  if (words.length === 1 && words[0] === "PWD") return false // the shell's working directory
  return words.some((w, i) => {
    const credential = secretWords.has(w) || (w === "KEY" && i > 0 && keyKinds.has(words[i - 1] ?? "")) || (w === "AUTH" && i > 0 && i === words.length - 1)
    return credential && !words.slice(i + 1).some((after) => describing.has(after))
  })
}

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
    .map(([name, value]) => ({ name, secretName: isSecretName(name), highEntropy: looksRandom(value), empty: value === "" }))
    .sort((a, b) => a.name.localeCompare(b.name))
