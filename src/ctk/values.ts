/**
 * Configuration and secrets: resolved from the file and the environment, then substituted into
 * an activity's URL, headers, arguments and path as Chaos Toolkit does (`${name}` or `$name`;
 * a string that is exactly `${name}` takes the value with its type; `$$` is a dollar sign).
 * Secrets are flattened across their scopes, and every secret value is kept aside so it can be
 * redacted from what a run records.
 */
import type { ConfigurationValue, EnvValue, Json, SecretValue } from "./model.ts"

export interface Values {
  /** Every configuration key and secret key, with its value. */
  readonly names: Readonly<Record<string, Json>>
  /** The secret values, to redact. */
  readonly secrets: ReadonlyArray<string>
}

export type Env = Readonly<Record<string, string | undefined>>

const isEnv = (v: unknown): v is EnvValue => typeof v === "object" && v !== null && !Array.isArray(v) && (v as { type?: unknown }).type === "env"

const convert = (text: string, type: EnvValue["env_var_type"]): Json => {
  switch (type) {
    case "int":
    case "float": {
      const n = Number(text)
      if (Number.isNaN(n) || (type === "int" && !Number.isInteger(n))) throw new Error(`"${text}" is not ${type === "int" ? "an integer" : "a number"}`)
      return n
    }
    case "bool":
      return ["1", "true", "yes", "y", "on"].includes(text.toLowerCase())
    case "json":
      return JSON.parse(text) as Json
    default:
      return text
  }
}

/**
 * Resolves configuration and secrets; `problems` gets one line per variable that is not set (or
 * does not convert), with the path of its declaration.
 */
export const resolve = (
  configuration: Readonly<Record<string, ConfigurationValue>> | undefined,
  secrets: Readonly<Record<string, Readonly<Record<string, SecretValue>>>> | undefined,
  env: Env,
  problems: (path: string, message: string) => void,
): Values => {
  const names: Record<string, Json> = {}
  const hidden: Array<string> = []
  for (const [k, v] of Object.entries(configuration ?? {})) {
    if (!isEnv(v)) {
      names[k] = v as Json
      continue
    }
    const text = env[v.key]
    if (text === undefined) {
      if (v.default === undefined) problems(`configuration.${k}`, `the environment variable ${v.key} is not set (and no default is given)`)
      else names[k] = v.default
      continue
    }
    try {
      names[k] = convert(text, v.env_var_type)
    } catch (e) {
      problems(`configuration.${k}`, `${v.key}: ${(e as Error).message}`)
    }
  }
  for (const [scope, keys] of Object.entries(secrets ?? {}))
    for (const [k, v] of Object.entries(keys)) {
      const value = typeof v === "string" ? v : env[v.key]
      if (value === undefined) {
        problems(`secrets.${scope}.${k}`, `the environment variable ${(v as EnvValue).key} is not set`)
        continue
      }
      names[k] = value
      if (value !== "") hidden.push(value)
    }
  return { names, secrets: hidden }
}

const reference = /\$(?:\$|\{([A-Za-z_][\w.-]*)\}|([A-Za-z_]\w*))/g
const whole = /^\$\{([A-Za-z_][\w.-]*)\}$/

/** The names a value refers to. */
export const referenced = (value: unknown): ReadonlyArray<string> => {
  const found = new Set<string>()
  const walk = (v: unknown): void => {
    if (typeof v === "string") for (const m of v.matchAll(reference)) found.add(m[1] ?? m[2] ?? "")
    else if (Array.isArray(v)) v.forEach(walk)
    else if (typeof v === "object" && v !== null) Object.values(v).forEach(walk)
  }
  walk(value)
  found.delete("")
  return [...found]
}

/** `value` with its references replaced; unknown names are left as they are (Chaos Toolkit's safe substitution). */
export const substitute = <A>(value: A, names: Readonly<Record<string, Json>>): A => {
  const one = (v: unknown): unknown => {
    if (typeof v === "string") {
      const w = whole.exec(v)
      if (w !== null && Object.hasOwn(names, w[1] as string)) return names[w[1] as string]
      return v.replace(reference, (m, braced: string | undefined, bare: string | undefined) => {
        if (m === "$$") return "$"
        const name = (braced ?? bare) as string
        if (!Object.hasOwn(names, name)) return m
        const x = names[name]
        return typeof x === "string" ? x : JSON.stringify(x)
      })
    }
    if (Array.isArray(v)) return v.map(one)
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, one(x)]))
    return v
  }
  return one(value) as A
}
