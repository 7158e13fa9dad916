/**
 * The JSONPath subset Chaos Toolkit experiments use in `jsonpath` tolerances: `$`, `.name`,
 * `['name']`, `[0]` (negative from the end), `[*]` and `.*`, `..name` (at any depth), unions
 * `[0,2]` / `['a','b']`, and filters `[?(@.key)]` / `[?(@.key <op> literal)]` with ==, !=, <,
 * <=, >, >=. Anything else is refused when the experiment is validated, not at run time.
 */

type Segment =
  | { readonly _tag: "key"; readonly keys: ReadonlyArray<string>; readonly deep: boolean }
  | { readonly _tag: "index"; readonly indexes: ReadonlyArray<number> }
  | { readonly _tag: "all"; readonly deep: boolean }
  | { readonly _tag: "filter"; readonly key: ReadonlyArray<string>; readonly op: string | undefined; readonly value: unknown }

const name = /^[A-Za-z_$][\w$-]*/

const literal = (text: string, path: string): unknown => {
  const t = text.trim()
  if (/^'.*'$/.test(t)) return t.slice(1, -1)
  try {
    return JSON.parse(t)
  } catch {
    throw new Error(`JSON path ${path}: ${t} is not a literal (a number, a quoted string, true, false or null)`)
  }
}

/** Parses a path, throwing an Error that names what is not understood. */
export const parsePath = (path: string): ReadonlyArray<Segment> => {
  let rest = path.trim()
  if (!rest.startsWith("$")) throw new Error(`JSON path ${path} must start with $`)
  rest = rest.slice(1)
  const out: Array<Segment> = []
  while (rest.length > 0) {
    const deep = rest.startsWith("..")
    if (rest.startsWith(".")) {
      rest = rest.slice(deep ? 2 : 1)
      if (rest.startsWith("*")) {
        out.push({ _tag: "all", deep })
        rest = rest.slice(1)
        continue
      }
      if (deep && rest.startsWith("[")) {
        out.push({ _tag: "all", deep: true })
        continue
      }
      const m = name.exec(rest)
      if (m === null) throw new Error(`JSON path ${path}: expected a name after "."`)
      out.push({ _tag: "key", keys: [m[0]], deep })
      rest = rest.slice(m[0].length)
      continue
    }
    if (!rest.startsWith("[")) throw new Error(`JSON path ${path}: unexpected "${rest}"`)
    const end = rest.indexOf("]")
    if (end < 0) throw new Error(`JSON path ${path}: a "[" is not closed`)
    const inner = rest.slice(1, end).trim()
    rest = rest.slice(end + 1)
    if (inner === "*") out.push({ _tag: "all", deep: false })
    else if (/^-?\d+(\s*,\s*-?\d+)*$/.test(inner)) out.push({ _tag: "index", indexes: inner.split(",").map((x) => Number(x.trim())) })
    else if (/^('[^']*'|"[^"]*")(\s*,\s*('[^']*'|"[^"]*"))*$/.test(inner)) out.push({ _tag: "key", keys: [...inner.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2] ?? ""), deep: false })
    else {
      const f = /^\?\(\s*@((?:\.[A-Za-z_$][\w$-]*)+)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)$/.exec(inner)
      if (f === null) throw new Error(`JSON path ${path}: [${inner}] is not supported (use names, indexes, *, unions, or a filter [?(@.key == value)])`)
      out.push({ _tag: "filter", key: (f[1] as string).slice(1).split("."), op: f[2], value: f[3] === undefined ? undefined : literal(f[3], path) })
    }
  }
  return out
}

const children = (v: unknown): ReadonlyArray<unknown> => (Array.isArray(v) ? v : typeof v === "object" && v !== null ? Object.values(v) : [])

/** `v` and everything below it, depth first. */
const descendants = (v: unknown): ReadonlyArray<unknown> => [v, ...children(v).flatMap(descendants)]

const get = (v: unknown, key: string): ReadonlyArray<unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.hasOwn(v, key) ? [(v as Record<string, unknown>)[key]] : []

const compare = (a: unknown, op: string, b: unknown): boolean => {
  switch (op) {
    case "==":
      return JSON.stringify(a) === JSON.stringify(b)
    case "!=":
      return JSON.stringify(a) !== JSON.stringify(b)
    default: {
      if (!((typeof a === "number" && typeof b === "number") || (typeof a === "string" && typeof b === "string"))) return false
      return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b
    }
  }
}

const step = (v: unknown, s: Segment): ReadonlyArray<unknown> => {
  switch (s._tag) {
    case "key":
      return (s.deep ? descendants(v) : [v]).flatMap((x) => s.keys.flatMap((k) => get(x, k)))
    case "all":
      return s.deep ? descendants(v).slice(1) : children(v)
    case "index":
      return Array.isArray(v) ? s.indexes.flatMap((i) => (i < 0 ? i + v.length : i) in v ? [v[i < 0 ? i + v.length : i]] : []) : []
    case "filter":
      return children(v).filter((item) => {
        let found: ReadonlyArray<unknown> = [item]
        for (const k of s.key) found = found.flatMap((x) => get(x, k))
        if (found.length === 0) return false
        return s.op === undefined ? true : compare(found[0], s.op, s.value)
      })
  }
}

/** Every value `path` selects in `value`, in document order. */
export const query = (path: string, value: unknown): ReadonlyArray<unknown> => parsePath(path).reduce<ReadonlyArray<unknown>>((at, s) => at.flatMap((v) => step(v, s)), [value])
