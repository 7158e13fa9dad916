/**
 * Checks a parsed Chaos Toolkit document and returns it typed, or throws one
 * `InvalidExperiment` listing every problem with its path — including each construct shiftup
 * does not run (the `python` provider with its module and function, vault secrets, controls,
 * background activities…), so a user sees at once everything there is to port.
 */
import { fail, InvalidExperiment, type Issue } from "../ShiftupError.ts"
import { parsePath } from "./jsonpath.ts"
import type { Activity, CtkExperiment, Json, Provider, Tolerance } from "./model.ts"

type Obj = Record<string, unknown>
const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)
const isNum = (u: unknown): u is number => typeof u === "number" && Number.isFinite(u)
const unsupported = (what: string, instead: string) => `unsupported: ${what}; ${instead}`

/** Top-level keys that carry no behaviour shiftup would miss. */
const ignoredKeys = new Set(["version", "contributions", "extensions", "$schema"])
const knownKeys = new Set(["title", "description", "tags", "configuration", "secrets", "steady-state-hypothesis", "method", "rollbacks", "runtime", "controls", ...ignoredKeys])

export interface Validated {
  readonly experiment: CtkExperiment
  /** Lines a person should read: where shiftup's semantics differ for this file. */
  readonly notes: ReadonlyArray<string>
}

export const validate = (doc: unknown, source: string): Validated => {
  const issues: Array<Issue> = []
  const notes: Array<string> = []
  const issue = (path: string, message: string) => void issues.push({ path, message })
  if (!isObj(doc)) throw fail(new InvalidExperiment({ source, issues: [{ path: "", message: "a Chaos Toolkit experiment is a JSON (or YAML) object" }] }))
  for (const k of Object.keys(doc)) if (!knownKeys.has(k)) issue(k, `unknown key "${k}"; a Chaos Toolkit experiment has title, description, tags, configuration, secrets, steady-state-hypothesis, method, rollbacks`)
  if (typeof doc["title"] !== "string" || doc["title"] === "") issue("title", "give the experiment a title (a non-empty string)")
  if (doc["description"] !== undefined && typeof doc["description"] !== "string") issue("description", "must be a string")
  if (doc["tags"] !== undefined && !(Array.isArray(doc["tags"]) && doc["tags"].every((t) => typeof t === "string"))) issue("tags", "must be a list of strings")
  if (doc["controls"] !== undefined) issue("controls", unsupported("controls (Python extension hooks)", "remove them; shiftup's journal, reports and approvals cover what they are used for"))

  checkConfiguration(doc["configuration"], issue)
  checkSecrets(doc["secrets"], issue)

  // Every declared activity by name, for `{ "ref": "name" }`.
  const declared = new Map<string, unknown>()
  const hypo = doc["steady-state-hypothesis"]
  const lists: Array<[string, unknown]> = [["method", doc["method"]], ["rollbacks", doc["rollbacks"]]]
  if (isObj(hypo)) lists.unshift(["steady-state-hypothesis.probes", hypo["probes"]])
  for (const [, list] of lists) if (Array.isArray(list)) for (const a of list) if (isObj(a) && typeof a["name"] === "string" && !("ref" in a)) declared.set(a["name"], a)

  const activity = (path: string, u: unknown, role: "hypothesis" | "method" | "rollback"): Activity | undefined => {
    let a = u
    if (isObj(a) && "ref" in a) {
      const target = typeof a["ref"] === "string" ? declared.get(a["ref"]) : undefined
      if (target === undefined) return void issue(`${path}.ref`, `no activity is named ${JSON.stringify(a["ref"])}`)
      a = target
    }
    if (!isObj(a)) return void issue(path, "an activity is an object with type, name and provider")
    if (a["type"] !== "probe" && a["type"] !== "action") issue(`${path}.type`, 'must be "probe" or "action"')
    if (role === "hypothesis" && a["type"] === "action") issue(`${path}.type`, "the steady-state hypothesis holds probes only")
    if (typeof a["name"] !== "string" || a["name"] === "") issue(`${path}.name`, "give the activity a name")
    if (a["background"] === true) issue(`${path}.background`, unsupported("background activities", "shiftup runs activities one after the other: remove `background`, or port the experiment (`shiftup import ctk`) and use `Expect.during` for observations while a fault is active"))
    if (a["controls"] !== undefined) issue(`${path}.controls`, unsupported("controls (Python extension hooks)", "remove them"))
    const provider = checkProvider(`${path}.provider`, a["provider"], issue)
    const pauses = a["pauses"]
    if (pauses !== undefined && !(isObj(pauses) && Object.entries(pauses).every(([k, v]) => (k === "before" || k === "after") && isNum(v) && v >= 0)))
      issue(`${path}.pauses`, "must be { before?: seconds, after?: seconds } with numbers ≥ 0")
    let tolerance: Tolerance | undefined
    if (role === "hypothesis" && !("tolerance" in a)) issue(`${path}.tolerance`, "a steady-state probe needs a tolerance")
    if ("tolerance" in a) tolerance = checkTolerance(`${path}.tolerance`, a["tolerance"], issue, notes)
    if (provider === undefined || typeof a["name"] !== "string" || (a["type"] !== "probe" && a["type"] !== "action")) return undefined
    return {
      type: a["type"],
      name: a["name"],
      provider,
      ...(isObj(pauses) ? { pauses: pauses as Activity["pauses"] & object } : {}),
      ...(tolerance === undefined ? {} : { tolerance }),
    }
  }

  const listOf = (path: string, u: unknown, role: "hypothesis" | "method" | "rollback", required: boolean): ReadonlyArray<Activity> => {
    if (u === undefined && !required) return []
    if (!Array.isArray(u)) {
      issue(path, "must be a list of activities")
      return []
    }
    if (required && u.length === 0) issue(path, "must hold at least one activity")
    return u.flatMap((x, i) => activity(`${path}[${i}]`, x, role) ?? [])
  }

  let hypothesis: CtkExperiment["steady-state-hypothesis"]
  if (hypo !== undefined) {
    if (!isObj(hypo)) issue("steady-state-hypothesis", "must be an object with title and probes")
    else {
      if (typeof hypo["title"] !== "string") issue("steady-state-hypothesis.title", "give the hypothesis a title")
      if (hypo["strategy"] !== undefined && hypo["strategy"] !== "default")
        issue("steady-state-hypothesis.strategy", unsupported(`hypothesis strategy ${JSON.stringify(hypo["strategy"])}`, "shiftup checks the steady state before the method and again after rollback; watch a probe during the method with `stopWhen` after `shiftup import ctk`"))
      hypothesis = { title: String(hypo["title"] ?? ""), probes: listOf("steady-state-hypothesis.probes", hypo["probes"] ?? [], "hypothesis", false) }
    }
  }
  const method = listOf("method", doc["method"], "method", true)
  const rollbacks = listOf("rollbacks", doc["rollbacks"], "rollback", false)

  const runtime = doc["runtime"]
  let strategy: string | undefined
  if (runtime !== undefined) {
    const r = isObj(runtime) ? runtime["rollbacks"] : undefined
    const s = isObj(r) ? r["strategy"] : undefined
    if (!isObj(runtime) || (r !== undefined && !isObj(r)) || (s !== undefined && typeof s !== "string")) issue("runtime", "must be { rollbacks: { strategy: string } }")
    else if (typeof s === "string") {
      strategy = s
      if (s !== "always") notes.push(`runtime.rollbacks.strategy is "${s}": shiftup always rolls back (on success, failure, signals, and after a crash through \`shiftup recover\`), so the rollbacks run whatever the strategy says`)
    }
  }
  if (issues.length > 0) throw fail(new InvalidExperiment({ source, issues }))
  const d = doc as Obj
  return {
    experiment: {
      title: d["title"] as string,
      ...(typeof d["description"] === "string" ? { description: d["description"] } : {}),
      ...(Array.isArray(d["tags"]) ? { tags: d["tags"] as ReadonlyArray<string> } : {}),
      ...(isObj(d["configuration"]) ? { configuration: d["configuration"] as CtkExperiment["configuration"] & object } : {}),
      ...(isObj(d["secrets"]) ? { secrets: d["secrets"] as CtkExperiment["secrets"] & object } : {}),
      ...(hypothesis === undefined ? {} : { "steady-state-hypothesis": hypothesis }),
      method,
      ...(rollbacks.length === 0 ? {} : { rollbacks }),
      ...(strategy === undefined ? {} : { runtime: { rollbacks: { strategy } } }),
    },
    notes,
  }
}

type Report = (path: string, message: string) => void

const isEnv = (u: unknown): boolean => isObj(u) && u["type"] === "env"

const checkEnv = (path: string, v: Obj, issue: Report, secret: boolean) => {
  if (typeof v["key"] !== "string" || v["key"] === "") issue(`${path}.key`, "name the environment variable")
  if (secret && v["default"] !== undefined) issue(`${path}.default`, "a secret has no default")
  const t = v["env_var_type"]
  if (t !== undefined && !["int", "float", "bool", "str", "json"].includes(String(t))) issue(`${path}.env_var_type`, "must be int, float, bool, str or json")
}

const checkConfiguration = (u: unknown, issue: Report) => {
  if (u === undefined) return
  if (!isObj(u)) return issue("configuration", "must be an object of names and values")
  for (const [k, v] of Object.entries(u)) {
    const path = `configuration.${k}`
    if (!isObj(v) || !("type" in v)) continue
    if (v["type"] === "env") checkEnv(path, v, issue, false)
    else if (v["type"] === "probe") issue(path, unsupported("dynamic configuration from a probe", "give the value inline or from the environment ({ \"type\": \"env\", \"key\": … })"))
  }
}

const checkSecrets = (u: unknown, issue: Report) => {
  if (u === undefined) return
  if (!isObj(u)) return issue("secrets", "must be an object of scopes, each an object of keys and values")
  for (const [scope, keys] of Object.entries(u)) {
    if (!isObj(keys)) {
      issue(`secrets.${scope}`, "must be an object of keys and values")
      continue
    }
    for (const [k, v] of Object.entries(keys)) {
      const path = `secrets.${scope}.${k}`
      if (typeof v === "string") continue
      if (isEnv(v)) checkEnv(path, v as Obj, issue, true)
      else if (isObj(v) && typeof v["type"] === "string")
        issue(path, unsupported(`the "${v["type"]}" secret provider`, "shiftup reads secrets inline or from the environment: export the value into an environment variable and declare { \"type\": \"env\", \"key\": … }"))
      else issue(path, 'must be a string or { "type": "env", "key": … }')
    }
  }
}

const checkProvider = (path: string, u: unknown, issue: Report): Provider | undefined => {
  if (!isObj(u)) return void issue(path, "must be an object with a type (http or process)")
  const type = u["type"]
  if (type === "python") {
    const mod = typeof u["module"] === "string" ? u["module"] : "?"
    const func = typeof u["func"] === "string" ? u["func"] : "?"
    return void issue(path, unsupported(`the python provider (module ${mod}, function ${func})`, `port ${mod}.${func} to a shiftup fault or probe (TypeScript), or call it through a "process" provider`))
  }
  if (type === "http") {
    if (typeof u["url"] !== "string" || !/^https?:\/\//i.test(u["url"].replace(/^\$\{[^}]+\}/, "http://x"))) issue(`${path}.url`, "must be an http:// or https:// URL")
    if (u["method"] !== undefined && (typeof u["method"] !== "string" || !/^[A-Za-z]+$/.test(u["method"]))) issue(`${path}.method`, "must be an HTTP method such as GET or POST")
    if (u["headers"] !== undefined && !(isObj(u["headers"]) && Object.values(u["headers"]).every((v) => typeof v === "string"))) issue(`${path}.headers`, "must map header names to strings")
    const t = u["timeout"]
    if (t !== undefined && !(isNum(t) && t > 0) && !(Array.isArray(t) && t.length === 2 && t.every((x) => isNum(x) && x > 0))) issue(`${path}.timeout`, "must be seconds (> 0) or [connect, read] seconds")
    if (u["expected_status"] !== undefined && !(Number.isInteger(u["expected_status"]) && (u["expected_status"] as number) >= 100 && (u["expected_status"] as number) < 600)) issue(`${path}.expected_status`, "must be an HTTP status (100–599)")
    if (u["verify_tls"] === false) issue(`${path}.verify_tls`, unsupported("verify_tls: false", "give the target's CA to a shiftup Http.target (`tls: { ca }`) after `shiftup import ctk`"))
    if (u["max_retries"] !== undefined && u["max_retries"] !== 0) issue(`${path}.max_retries`, unsupported("max_retries", "remove it; shiftup sends each request once"))
    return u as unknown as Provider
  }
  if (type === "process") {
    if (typeof u["path"] !== "string" || u["path"] === "") issue(`${path}.path`, "name the executable")
    const a = u["arguments"]
    if (a !== undefined && typeof a !== "string" && !(Array.isArray(a) && a.every((x) => ["string", "number", "boolean"].includes(typeof x))) && !isObj(a)) issue(`${path}.arguments`, "must be a string, a list or an object")
    if (u["timeout"] !== undefined && !(isNum(u["timeout"]) && u["timeout"] > 0)) issue(`${path}.timeout`, "must be seconds (> 0)")
    return u as unknown as Provider
  }
  return void issue(`${path}.type`, typeof type === "string" ? unsupported(`the "${type}" provider`, "shiftup runs http and process providers") : 'must be "http" or "process"')
}

const checkTolerance = (path: string, u: unknown, issue: Report, notes: Array<string>): Tolerance | undefined => {
  if (typeof u === "string" || typeof u === "boolean" || isNum(u)) return u
  if (Array.isArray(u)) {
    if (u.length === 2 && isNum(u[0]) && isNum(u[1])) {
      if (u[0] > u[1]) return void issue(path, `the range [${u[0]}, ${u[1]}] is empty: put the lower bound first`)
      if (u[1] - u[0] > 1) notes.push(`${path}: [${u[0]}, ${u[1]}] is an inclusive range (as the experiment format says), so any value from ${u[0]} to ${u[1]} holds — not only the two values`)
    }
    return u as ReadonlyArray<Json>
  }
  if (!isObj(u)) return void issue(path, "must be a value, a list, or an object with a type (regex, jsonpath, range, probe)")
  const target = u["target"]
  if (target !== undefined && typeof target !== "string") issue(`${path}.target`, "must name a key of the probe's value (status, body, stdout…)")
  switch (u["type"]) {
    case "regex":
      if (typeof u["pattern"] !== "string") return void issue(`${path}.pattern`, "give the regular expression")
      try {
        new RegExp(u["pattern"])
      } catch (e) {
        return void issue(`${path}.pattern`, `is not a valid regular expression: ${(e as Error).message}`)
      }
      return u as unknown as Tolerance
    case "jsonpath":
      if (typeof u["path"] !== "string" || u["path"].trim() === "") return void issue(`${path}.path`, "give the JSON path")
      try {
        parsePath(u["path"])
      } catch (e) {
        return void issue(`${path}.path`, (e as Error).message)
      }
      if (u["count"] !== undefined && !(Number.isInteger(u["count"]) && (u["count"] as number) >= 0)) issue(`${path}.count`, "must be a whole number ≥ 0")
      return u as unknown as Tolerance
    case "range": {
      const r = u["range"]
      if (!(Array.isArray(r) && r.length === 2 && isNum(r[0]) && isNum(r[1]))) return void issue(`${path}.range`, "must be [lower, upper], two numbers")
      if (r[0] > r[1]) return void issue(`${path}.range`, "put the lower bound first")
      return u as unknown as Tolerance
    }
    case "probe": {
      const p = checkProvider(`${path}.provider`, u["provider"], issue)
      if (typeof u["name"] !== "string") issue(`${path}.name`, "give the tolerance probe a name")
      return p === undefined ? undefined : (u as unknown as Tolerance)
    }
    default:
      return void issue(`${path}.type`, `unknown tolerance type ${JSON.stringify(u["type"])}; use regex, jsonpath, range or probe`)
  }
}
