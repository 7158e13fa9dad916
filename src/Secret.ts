/**
 * Secrets given to probes (tokens, cookies, passwords). A `Secret` prints as `[redacted]`
 * everywhere (JSON, template strings, `util.inspect`), and every observation a probe of
 * `shiftup/http` returns is passed through `redact` with the secrets it was given, so a value
 * echoed back by the server never reaches the journal or a report either.
 */
const SecretTypeId: unique symbol = Symbol.for("shiftup/Secret") as never

export const placeholder = "[redacted]"

export interface Secret {
  readonly [SecretTypeId]: typeof SecretTypeId
  /** The plain value, for the one place that must send it. */
  readonly reveal: () => string
  readonly toString: () => string
  readonly toJSON: () => string
}

/**
 * Wraps a secret value.
 *
 * @example
 * const token = Http.secret(process.env["API_TOKEN"] ?? "")
 * Http.auth.boundary(api, "/users/2", { as: token })
 */
export const secret = (value: string): Secret => {
  const s: Secret = { [SecretTypeId]: SecretTypeId, reveal: () => value, toString: () => placeholder, toJSON: () => placeholder }
  Object.defineProperty(s, Symbol.for("nodejs.util.inspect.custom"), { value: () => `Secret(${placeholder})` })
  return s
}

export const isSecret = (u: unknown): u is Secret => typeof u === "object" && u !== null && SecretTypeId in u

/** A header value or a secret: what probes accept for credentials. */
export type Value = string | Secret

export const reveal = (v: Value): string => (isSecret(v) ? v.reveal() : v)

/** The secret strings among `values` (and their base64/URL-encoded forms), longest first. */
export const secretsOf = (values: ReadonlyArray<unknown>): ReadonlyArray<string> => {
  const out = new Set<string>()
  for (const v of values) {
    if (!isSecret(v)) continue
    const plain = v.reveal()
    // Short strings would redact half the response; 4 characters is the floor.
    if (plain.length < 4) continue
    out.add(plain)
    out.add(encodeURIComponent(plain))
    out.add(Buffer.from(plain).toString("base64"))
    // A bearer JWT's parts also travel alone (a server echoing the payload, say).
    for (const part of plain.split(".")) if (part.length >= 16) out.add(part)
  }
  return [...out].sort((a, b) => b.length - a.length)
}

/** Replaces every occurrence of each secret in `text`. */
export const redactText = (text: string, secrets: ReadonlyArray<string>): string => {
  let t = text
  for (const s of secrets) if (s.length > 0 && t.includes(s)) t = t.split(s).join(placeholder)
  return t
}

/** Redacts every string inside a JSON-like value (objects, arrays, strings; other values kept). */
export const redact = <A>(value: A, secrets: ReadonlyArray<string>): A => {
  if (secrets.length === 0) return value
  const go = (u: unknown): unknown => {
    if (typeof u === "string") return redactText(u, secrets)
    if (isSecret(u)) return placeholder
    if (Array.isArray(u)) return u.map(go)
    if (typeof u === "object" && u !== null) return Object.fromEntries(Object.entries(u).map(([k, v]) => [redactText(k, secrets), go(v)]))
    return u
  }
  return go(value) as A
}
