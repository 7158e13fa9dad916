/**
 * The compensation kinds of Chaos Toolkit experiments. `ctk.rollback` carries one rollback
 * activity itself — provider, and the configuration and secrets it refers to as declarations
 * (environment variable names; an inline secret by its name and the experiment file it is read
 * from again), never a secret's value — so `shiftup recover` in a fresh process replays it
 * exactly. `ctk.covered` marks an action whose undo is the experiment's rollbacks (Chaos
 * Toolkit ties rollbacks to the experiment, not to an action): nothing to replay on its own.
 */
import { Effect, Schema } from "effect"
import * as Compensation from "../Compensation.ts"
import { fail, RollbackFailed } from "../ShiftupError.ts"
import { redact } from "../Secret.ts"
import type { Activity, ConfigurationValue, SecretValue } from "./model.ts"
import { run, succeeded } from "./providers.ts"
import { readDocument } from "./read.ts"
import { validate } from "./validate.ts"
import { resolve, substitute } from "./values.ts"

export const providerModule = "shiftup/ctk"

type Obj = Record<string, unknown>
const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)

/** Runs a rollback activity from its record: resolve, substitute, run; an HTTP status ≥ 400 or a non-zero exit fails it. */
const replay = (r: { readonly target: string; readonly activity: unknown; readonly configuration: unknown; readonly secrets: unknown; readonly inline: ReadonlyArray<string>; readonly source?: string | undefined }) =>
  Effect.gen(function* () {
    const rollbackFailed = (detail: string) => fail(new RollbackFailed({ fault: `rollback ${isObj(r.activity) ? String(r.activity["name"]) : "?"}`, target: r.target, detail }))
    const secrets: Record<string, Record<string, SecretValue>> = {}
    for (const [scope, keys] of Object.entries(isObj(r.secrets) ? r.secrets : {})) secrets[scope] = { ...(keys as Record<string, SecretValue>) }
    if (r.inline.length > 0) {
      // Inline secrets are read again from the experiment file: a ledger never holds their values.
      const source = r.source
      if (source === undefined) return yield* Effect.fail(rollbackFailed("it uses inline secrets but its record names no experiment file to read them from"))
      const doc = yield* Effect.tryPromise({ try: () => readDocument(source), catch: (e) => rollbackFailed(`cannot read its inline secrets again: ${String((e as Error).message)}`) })
      const all = isObj(doc) && isObj(doc["secrets"]) ? doc["secrets"] : {}
      for (const name of r.inline) {
        const [scope, key] = name.split("\u0000") as [string, string]
        const v = isObj(all[scope]) ? (all[scope] as Obj)[key] : undefined
        if (typeof v !== "string") return yield* Effect.fail(rollbackFailed(`the inline secret ${scope}.${key} is no longer in ${source}`))
        ;(secrets[scope] ??= {})[key] = v
      }
    }
    const checked = yield* Effect.try({
      try: () => validate({ title: "rollback", method: [r.activity], configuration: r.configuration, secrets }, "ledger record"),
      catch: (e) => rollbackFailed(`the record does not hold a valid activity: ${String((e as Error).message)}`),
    })
    const activity = checked.experiment.method[0] as Activity
    const problems: Array<string> = []
    const values = resolve(checked.experiment.configuration, checked.experiment.secrets, process.env, (p, m) => problems.push(`${p}: ${m}`))
    if (problems.length > 0) return yield* Effect.fail(rollbackFailed(problems.join("; ")))
    const provider = substitute(activity.provider, values.names)
    const out = yield* run(provider, `rollback ${activity.name}`).pipe(Effect.mapError((d) => rollbackFailed(redact(d, values.secrets))))
    if (!succeeded(provider, out)) return yield* Effect.fail(rollbackFailed(provider.type === "http" ? `answered ${out.status}` : `exited ${out.status}: ${redact((out as { stderr: string }).stderr.trim().slice(0, 300), values.secrets)}`))
  })

export const Rollback = Compensation.declare({
  kind: "ctk.rollback",
  fields: {
    activity: Schema.Unknown,
    configuration: Schema.Unknown,
    secrets: Schema.Unknown,
    /** Inline secrets to read again from `source`, as `scope\0key`. */
    inline: Schema.Array(Schema.String),
    source: Schema.optionalKey(Schema.String),
  },
  apply: (r) => replay(r),
})

export const Covered = Compensation.declare({
  kind: "ctk.covered",
  fields: {},
  apply: () => Effect.void,
})

export const compensators: Compensation.Compensators = Compensation.registry([Rollback, Covered])

/** The declarations a rollback activity needs, without any secret's value. */
export const declarationsFor = (
  refs: ReadonlyArray<string>,
  configuration: Readonly<Record<string, ConfigurationValue>> | undefined,
  secrets: Readonly<Record<string, Readonly<Record<string, SecretValue>>>> | undefined,
): { readonly configuration: Record<string, ConfigurationValue>; readonly secrets: Record<string, Record<string, SecretValue>>; readonly inline: ReadonlyArray<string> } => {
  const conf: Record<string, ConfigurationValue> = {}
  const sec: Record<string, Record<string, SecretValue>> = {}
  const inline: Array<string> = []
  for (const name of refs) {
    if (configuration !== undefined && Object.hasOwn(configuration, name)) conf[name] = configuration[name] as ConfigurationValue
    for (const [scope, keys] of Object.entries(secrets ?? {})) {
      if (!Object.hasOwn(keys, name)) continue
      const v = keys[name] as SecretValue
      if (typeof v === "string") inline.push(`${scope}\u0000${name}`)
      else (sec[scope] ??= {})[name] = v
    }
  }
  return { configuration: conf, secrets: sec, inline }
}
