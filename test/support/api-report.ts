/**
 * The API report: every name each package entry exports, with its kind, read from the sources
 * by following `export … from` chains. It is checked in (docs/api/*.txt) so that a change of the
 * public surface shows up in review as a diff; test/unit/api.test.ts regenerates it and fails on
 * a difference (`npm run api:update` refreshes it after a deliberate change).
 *
 * A reader of source, not a type checker: it knows the export forms shiftup's sources use and
 * throws on any other, and the test checks its value exports against the modules' runtime keys.
 */
import { readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url))

export type Kind = "const" | "let" | "function" | "class" | "interface" | "type" | "enum" | "namespace"

/** Kinds that exist at run time (a module's keys), as opposed to types only. */
export const valueKinds: ReadonlySet<Kind> = new Set(["const", "let", "function", "class", "enum", "namespace"])

export interface Exported {
  readonly name: string
  /** Usually one; two where a type and a value share the name (`interface Engine` and `const Engine`). */
  readonly kinds: ReadonlyArray<Kind>
  /** A namespace's own exports (`export * as N from …`). */
  readonly members?: ReadonlyArray<Exported>
}

export interface Entry {
  /** The specifier users import: `shiftup`, `shiftup/http`… */
  readonly specifier: string
  /** The source file behind it, relative to the repository. */
  readonly source: string
}

/** The entries of package.json `exports` (the `types` condition points at dist/, the source is its twin in src/). */
export const entries = (): ReadonlyArray<Entry> => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { readonly name: string; readonly exports: Record<string, unknown> }
  return Object.entries(pkg.exports).flatMap(([key, target]) => {
    const types = typeof target === "object" && target !== null ? (target as { readonly types?: unknown }).types : undefined
    if (typeof types !== "string") return []
    const source = types.replace(/^\.\/dist\//, "src/").replace(/\.d\.ts$/, ".ts")
    return [{ specifier: key === "." ? pkg.name : `${pkg.name}/${key.replace(/^\.\//, "")}`, source }]
  })
}

/**
 * The text with comments, regular expressions and template strings blanked (newlines kept), so
 * that neither a `// export` nor an `export` inside a template is read as a statement, nor a
 * quote inside a regular expression taken for the start of a string. Quoted strings stay: module
 * paths are read from them.
 */
const code = (text: string): string => {
  const out = [...text]
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " "
  }
  // Open `${` of the templates we are inside, as the brace depth at which each one closes.
  const templates: Array<number> = []
  let depth = 0
  // A `/` starts a regular expression where a value is expected: not after a name, a number or a closing bracket.
  let valueExpected = true
  let i = 0
  const template = () => {
    const start = i
    for (i++; i < text.length; i++) {
      if (text[i] === "\\") i++
      else if (text[i] === "`") break
      else if (text[i] === "$" && text[i + 1] === "{") {
        blank(start, i)
        templates.push(depth++)
        i += 2
        valueExpected = true
        return
      }
    }
    i++
    blank(start, i)
    valueExpected = false
  }
  while (i < text.length) {
    const c = text[i] ?? ""
    if (c === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i)
      blank(i, (i = end === -1 ? text.length : end))
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2)
      blank(i, (i = end === -1 ? text.length : end + 2))
    } else if (c === "/" && valueExpected) {
      const start = i++
      for (let inClass = false; i < text.length && text[i] !== "\n"; i++) {
        if (text[i] === "\\") i++
        else if (text[i] === "[") inClass = true
        else if (text[i] === "]") inClass = false
        else if (text[i] === "/" && !inClass) break
      }
      i++
      while (/[a-z]/.test(text[i] ?? "")) i++
      blank(start, i)
      valueExpected = false
    } else if (c === '"' || c === "'") {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === "\\") i++
      i++
      valueExpected = false
    } else if (c === "`") template()
    else if (c === "}" && templates.length > 0 && templates[templates.length - 1] === depth - 1) {
      templates.pop()
      depth--
      template()
    } else {
      if (c === "{") depth++
      else if (c === "}") depth--
      if (/\S/.test(c)) valueExpected = !/[\w$)\]}]/.test(c) || /\b(?:return|typeof|case|of|in)$/.test(text.slice(Math.max(0, i - 6), i + 1))
      i++
    }
  }
  return out.join("")
}

const declaration = /^(?:export\s+)?(?:declare\s+)?(?:(?:abstract\s+)?(class)|(interface)|(type)|(enum)|(namespace)|(async\s+)?(function)\s*\*?|(const)|(let)|(var))\s+([A-Za-z_$][\w$]*)/

const kindOf = (m: RegExpMatchArray): Kind => {
  const [, cls, iface, type, en, ns, , fn, cnst, lt, vr] = m
  if (cls !== undefined) return "class"
  if (iface !== undefined) return "interface"
  if (type !== undefined) return "type"
  if (en !== undefined) return "enum"
  if (ns !== undefined) return "namespace"
  if (fn !== undefined) return "function"
  if (cnst !== undefined) return "const"
  if (lt !== undefined || vr !== undefined) return "let"
  throw new Error(`unreachable: ${m[0]}`)
}

const cache = new Map<string, ReadonlyMap<string, Exported>>()

const target = (from: string, specifier: string): string => {
  if (!specifier.startsWith(".")) throw new Error(`${relative(repoRoot, from)}: re-exports "${specifier}", a package: the report follows only shiftup's own files`)
  return resolve(dirname(from), specifier)
}

/** The names a module exports, in source order. */
export const exportsOf = (file: string): ReadonlyMap<string, Exported> => {
  const known = cache.get(file)
  if (known !== undefined) return known
  const text = code(readFileSync(file, "utf8"))
  // Top-level statements start at the beginning of a line; nested code is indented, and a line
  // that starts with a closing bracket ends the statement above.
  const statements = text.split(/\n(?=[^\s})\]])/)
  const local = (name: string): Exported => {
    for (const s of statements) {
      const d = s.match(declaration)
      if (d !== null && d[11] === name) return { name, kinds: [kindOf(d)] }
      const imported = s.match(/^import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+"([^"]+)"/)
      if (imported?.[1] !== undefined && imported[2] !== undefined) {
        for (const item of imported[1].split(",")) {
          const [original, alias = original] = item.replace(/^\s*type\s+/, "").trim().split(/\s+as\s+/)
          if (alias === name && original !== undefined) return { ...lookUp(target(file, imported[2]), original), name }
        }
      }
    }
    throw new Error(`${relative(repoRoot, file)}: exports "${name}" but declares or imports no such name`)
  }
  const out = new Map<string, Exported>()
  const add = (e: Exported) => {
    const before = out.get(e.name)
    const merged = before === undefined ? e : { ...before, ...e, kinds: [...before.kinds, ...e.kinds] }
    const values = merged.kinds.filter((k) => valueKinds.has(k)).length
    if (values > 1 || merged.kinds.length - values > 1) throw new Error(`${relative(repoRoot, file)}: "${e.name}" is exported twice`)
    out.set(e.name, merged)
  }
  for (const s of statements) {
    if (!/^export\b/.test(s)) continue
    const star = s.match(/^export\s+\*\s+(?:as\s+([A-Za-z_$][\w$]*)\s+)?from\s+"([^"]+)"/)
    if (star?.[2] !== undefined) {
      const from = exportsOf(target(file, star[2]))
      if (star[1] !== undefined) add({ name: star[1], kinds: ["namespace"], members: [...from.values()] })
      else for (const e of from.values()) add(e)
      continue
    }
    const list = s.match(/^export\s+(type\s+)?\{([^}]*)\}(?:\s+from\s+"([^"]+)")?/)
    if (list?.[2] !== undefined) {
      for (const item of list[2].split(",").map((i) => i.trim()).filter((i) => i !== "")) {
        const [original = "", alias = original] = item.replace(/^type\s+/, "").split(/\s+as\s+/)
        const found = list[3] === undefined ? local(original) : lookUp(target(file, list[3]), original)
        add({ ...found, name: alias })
      }
      continue
    }
    if (/^export\s+(?:const|let|var)\s*[{[]/.test(s)) throw new Error(`${relative(repoRoot, file)}: a destructuring export; export each name by itself`)
    const d = s.match(declaration)
    if (d?.[11] === undefined) throw new Error(`${relative(repoRoot, file)}: an export the API report does not know: ${s.split("\n")[0]}`)
    add({ name: d[11], kinds: [kindOf(d)] })
  }
  cache.set(file, out)
  return out
}

const lookUp = (file: string, name: string): Exported => {
  const found = exportsOf(file).get(name)
  if (found === undefined) throw new Error(`${relative(repoRoot, file)} has no export "${name}"`)
  return found
}

export const isValue = (e: Exported): boolean => e.kinds.some((k) => valueKinds.has(k))

export const entryExports = (entry: Entry): ReadonlyArray<Exported> => [...exportsOf(join(repoRoot, entry.source)).values()]

const byName = (a: Exported, b: Exported) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

/** The checked-in text of one entry: its names, then each namespace's members. */
export const report = (entry: Entry): string => {
  const top = [...entryExports(entry)].sort(byName)
  const members = top.reduce((n, e) => n + (e.members?.length ?? 0), 0)
  const width = Math.max(0, ...top.flatMap((e) => [e.name.length, ...(e.members ?? []).map((m) => e.name.length + 1 + m.name.length)])) + 2
  const line = (name: string, kinds: ReadonlyArray<Kind>) => `${name.padEnd(width)}${kinds.join(" + ")}`
  const lines = [
    `# ${entry.specifier} (${entry.source}): ${top.length} names${members === 0 ? "" : `, ${members} more in namespaces`}`,
    "# Generated by test/unit/api.test.ts; refresh with `npm run api:update` after a deliberate change.",
    "",
    ...top.map((e) => line(e.name, e.kinds)),
  ]
  for (const ns of top.filter((e) => e.members !== undefined)) {
    lines.push("", ...[...(ns.members ?? [])].sort(byName).map((m) => line(`${ns.name}.${m.name}`, m.kinds)))
  }
  return `${lines.join("\n")}\n`
}

/** docs/api/<file>.txt for an entry: `shiftup` → shiftup.txt, `shiftup/http` → shiftup-http.txt. */
export const reportFile = (entry: Entry): string => join(repoRoot, "docs", "api", `${entry.specifier.replace(/\//g, "-")}.txt`)
