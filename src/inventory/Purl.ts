/**
 * Package URLs (the purl spec, github.com/package-url/purl-spec):
 * `pkg:type/namespace/name@version?qualifiers#subpath`. Parsing follows the spec's rules:
 * the scheme and type are case-insensitive, every segment is percent-decoded, qualifier keys are
 * lower-cased; `build` makes a purl from parts, percent-encoding what must be.
 */

export interface Purl {
  readonly type: string
  readonly namespace?: string
  readonly name: string
  readonly version?: string
  readonly qualifiers: Readonly<Record<string, string>>
  readonly subpath?: string
}

const decode = (s: string): string => {
  try {
    return decodeURIComponent(s)
  } catch {
    // A malformed escape is kept as written: the purl is still usable by name.
    return s
  }
}

/** Parses a purl; `undefined` when it is not one (no `pkg:` scheme, no type or no name). */
export const parse = (text: string): Purl | undefined => {
  let rest = text.trim()
  if (!/^pkg:/i.test(rest)) return undefined
  rest = rest.slice(4).replace(/^\/+/, "")
  let subpath: string | undefined
  const hash = rest.indexOf("#")
  if (hash !== -1) {
    subpath = rest.slice(hash + 1).split("/").filter((s) => s !== "" && s !== "." && s !== "..").map(decode).join("/")
    rest = rest.slice(0, hash)
  }
  const qualifiers: Record<string, string> = {}
  const question = rest.indexOf("?")
  if (question !== -1) {
    for (const pair of rest.slice(question + 1).split("&")) {
      const eq = pair.indexOf("=")
      if (eq <= 0) continue
      const value = decode(pair.slice(eq + 1))
      if (value !== "") qualifiers[pair.slice(0, eq).toLowerCase()] = value
    }
    rest = rest.slice(0, question)
  }
  rest = rest.replace(/\/+$/, "")
  let version: string | undefined
  const at = rest.lastIndexOf("@")
  if (at > rest.lastIndexOf("/")) {
    version = decode(rest.slice(at + 1))
    rest = rest.slice(0, at)
  }
  const slash = rest.indexOf("/")
  if (slash <= 0) return undefined
  const type = rest.slice(0, slash).toLowerCase()
  const segments = rest.slice(slash + 1).split("/").filter((s) => s !== "").map(decode)
  const name = segments.pop()
  if (name === undefined || name === "" || !/^[a-z.+-][a-z0-9.+-]*$/.test(type)) return undefined
  const namespace = segments.length === 0 ? undefined : segments.join("/")
  return { type, ...(namespace === undefined ? {} : { namespace }), name, ...(version === undefined || version === "" ? {} : { version }), qualifiers, ...(subpath === undefined || subpath === "" ? {} : { subpath }) }
}

const encode = (s: string) => encodeURIComponent(s).replace(/%3A/g, ":")

/** Builds a purl string (qualifiers sorted by key, as the spec's canonical form has them). */
export const format = (p: Purl): string => {
  const ns = p.namespace === undefined ? "" : `${p.namespace.split("/").map(encode).join("/")}/`
  const q = Object.entries(p.qualifiers)
    .filter(([, v]) => v !== "")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${encode(v)}`)
    .join("&")
  return `pkg:${p.type}/${ns}${encode(p.name)}${p.version === undefined ? "" : `@${encode(p.version)}`}${q === "" ? "" : `?${q}`}${p.subpath === undefined ? "" : `#${p.subpath}`}`
}
