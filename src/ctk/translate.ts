/**
 * A Chaos Toolkit experiment as a shiftup experiment (`Experiment.gen`), so it runs under the
 * floor, the budget and the ledger like any other:
 * - every URL origin and every executable is a target, with the environment the file or the
 *   CLI gives (none: `unknown`, which counts as production), and the manifest lets the method
 *   inject into the targets of actions and rollbacks only;
 * - steady-state probes are checks of the hypothesis (before the method, again after rollback);
 * - each rollback is a fault of its own target whose compensation is the rollback activity
 *   itself, ledgered before any action runs — armed in reverse so that shiftup's reverse-order
 *   rollback runs them in the file's order — and every action's own compensation says it is
 *   covered by them. So rollbacks run on success, failure, signals, and after a crash through
 *   `shiftup recover`, whatever the file's rollback strategy says.
 */
import { accessSync, constants } from "node:fs"
import { basename, delimiter, isAbsolute, join, resolve as resolvePath } from "node:path"
import { Effect } from "effect"
import * as Expect from "../Expect.ts"
import * as Experiment from "../Experiment.ts"
import * as Fault from "../Fault.ts"
import * as Http from "../Http.ts"
import { mostProtected } from "../internal/classify.ts"
import * as Probe from "../Probe.ts"
import { redact } from "../Secret.ts"
import { fail, InjectionFailed, InvalidExperiment, ProbeFailed, type Issue } from "../ShiftupError.ts"
import * as Target from "../Target.ts"
import { Covered, declarationsFor, providerModule, Rollback, compensators } from "./compensators.ts"
import type { Activity, CtkExperiment, Provider, Tolerance } from "./model.ts"
import { httpRequest, run, succeeded, timeoutMs, withValue, type Output } from "./providers.ts"
import { describe, holds, probeTolerance } from "./tolerance.ts"
import { referenced, resolve, substitute, type Env } from "./values.ts"

export interface TranslateOptions {
  /** The experiment id; default from the file name or the title. */
  readonly id?: string
  /** `--environment`: one more signal for every target (the most restrictive signal wins). */
  readonly environment?: string
  /** The experiment file (absolute): named in the journal, and where `recover` reads inline secrets again. */
  readonly source?: string
  /** Where `env` configuration and secrets come from; default `process.env`. */
  readonly env?: Env
  /** Lines that say where shiftup's semantics differ for this file (from validation). */
  readonly notes?: ReadonlyArray<string>
}

/** The configuration key that names the environment of every target. */
export const environmentKey = "shiftup_environment"

/** The configuration key that lists destinations beyond loopback (addresses or CIDRs): the budget's egress. */
export const egressKey = "shiftup_egress"

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+|-+$/g, "")
    .slice(0, 80) || "ctk-experiment"

/** The id of the experiment from a file: its name; without a file, its title. */
export const experimentId = (ctk: CtkExperiment, source: string | undefined): string => slug(source === undefined ? ctk.title : basename(source).replace(/\.(json|ya?ml)$/i, ""))

/** Looks an executable up as Chaos Toolkit does (a name on PATH, or a path), without running it. */
const which = (path: string, env: Env): string | undefined => {
  const candidates = path.includes("/") ? [resolvePath(path.replace(/^~(?=\/)/, env["HOME"] ?? "~"))] : (env["PATH"] ?? "").split(delimiter).filter((d) => d !== "").map((d) => join(d, path))
  return candidates.find((c) => {
    try {
      accessSync(c, constants.X_OK)
      return isAbsolute(c)
    } catch {
      return false
    }
  })
}

const isEnvironment = (s: string): s is Target.Environment => (Target.environments as ReadonlyArray<string>).includes(s)

export const toExperiment = (ctk: CtkExperiment, options: TranslateOptions = {}): Experiment.Experiment => {
  const env = options.env ?? process.env
  const issues: Array<Issue> = []
  const issue = (path: string, message: string) => void issues.push({ path, message })
  const values = resolve(ctk.configuration, ctk.secrets, env, issue)
  const secretNames = new Set(Object.values(ctk.secrets ?? {}).flatMap((keys) => Object.keys(keys)))

  // ── environment: every signal, the most restrictive wins ──
  const signals: Array<Target.Environment> = []
  const signal = (path: string, value: unknown) => {
    if (typeof value === "string" && isEnvironment(value)) signals.push(value)
    else issue(path, `${JSON.stringify(value)} is not an environment; use one of ${Target.environments.join(", ")}`)
  }
  if (options.environment !== undefined) signal("--environment", options.environment)
  if (values.names[environmentKey] !== undefined) signal(`configuration.${environmentKey}`, values.names[environmentKey])
  for (const [i, tag] of (ctk.tags ?? []).entries()) {
    const m = /^(?:environment|env|shiftup\.env)[:=](.+)$/.exec(tag)
    if (m !== null) signal(`tags[${i}]`, m[1])
  }
  const environment = signals.length === 0 ? undefined : mostProtected(signals)
  const egressValue = values.names[egressKey]
  const egress = egressValue === undefined ? [] : typeof egressValue === "string" ? egressValue.split(",").map((x) => x.trim()).filter((x) => x !== "") : Array.isArray(egressValue) ? egressValue : undefined
  if (egress === undefined || !egress.every((x) => typeof x === "string")) issue(`configuration.${egressKey}`, "must be a list of addresses or CIDRs (or one string of them, separated by commas)")

  // ── targets: one per URL origin, one per executable ──
  const targets: Record<string, Target.Target> = {}
  const located = new Map<Activity | Provider, { readonly key: string; readonly provider: Provider }>()
  const locate = (path: string, at: Activity | Provider, raw: Provider) => {
    const refs = referenced(raw.type === "http" ? raw.url : raw.path).filter((n) => secretNames.has(n))
    if (refs.length > 0) return issue(`${path}.provider`, `its ${raw.type === "http" ? "url" : "path"} uses the secret ${refs.join(", ")}: a target's address is recorded in plans and journals; pass secrets in headers or arguments`)
    const provider = substitute(raw, values.names)
    if (provider.type === "http") {
      const url = URL.parse(provider.url)
      if (url === null || !["http:", "https:"].includes(url.protocol)) return issue(`${path}.provider.url`, `${JSON.stringify(provider.url)} is not an http(s) URL after substitution`)
      const key = url.host
      targets[key] ??= Http.target(key, { url: url.origin, ...(environment === undefined ? {} : { environment }), labels: { "shiftup.source": "chaostoolkit" } })
      located.set(at, { key, provider })
      return
    }
    const exe = which(provider.path, env)
    if (exe === undefined) return issue(`${path}.provider.path`, `${JSON.stringify(provider.path)} cannot be found (or is not executable)${provider.path.includes("/") ? "" : " on PATH"}`)
    const key = `process:${exe}`
    targets[key] ??= Target.make(key, { kind: "process", ...(environment === undefined ? {} : { environment }), labels: { "shiftup.source": "chaostoolkit" }, facts: { id: exe, name: basename(exe), process: basename(exe) } })
    located.set(at, { key, provider: { ...provider, path: exe } })
  }
  const probes = ctk["steady-state-hypothesis"]?.probes ?? []
  const rollbacks = ctk.rollbacks ?? []
  probes.forEach((a, i) => locate(`steady-state-hypothesis.probes[${i}]`, a, a.provider))
  ctk.method.forEach((a, i) => locate(`method[${i}]`, a, a.provider))
  rollbacks.forEach((a, i) => locate(`rollbacks[${i}]`, a, a.provider))
  const tolerances = [...probes, ...ctk.method].flatMap((a) => probeTolerance(a.tolerance) ?? [])
  tolerances.forEach((t) => locate(`tolerance "${t.name}"`, t.provider, t.provider))
  if (options.source === undefined)
    rollbacks.forEach((a, i) => {
      const inline = declarationsFor(referenced(a.provider), ctk.configuration, ctk.secrets).inline
      if (inline.length > 0) issue(`rollbacks[${i}]`, `it uses inline secrets (${inline.map((n) => n.replace("\u0000", ".")).join(", ")}), which \`shiftup recover\` could only replay from a ledger holding them: declare them as { type: "env", key: … }`)
    })
  if (issues.length > 0) throw fail(new InvalidExperiment({ source: options.source ?? `"${ctk.title}"`, issues }))

  const where = (a: Activity | Provider) => located.get(a) as { readonly key: string; readonly provider: Provider }
  const hide = <A>(a: A): A => (values.secrets.length === 0 ? a : redact(a, values.secrets))
  const runActivity = (name: string, provider: Provider): Effect.Effect<Output, string> => run(provider, name).pipe(Effect.mapBoth({ onFailure: hide, onSuccess: hide }))

  const probeOf = (a: Activity): Probe.Probe<unknown> => {
    const { key, provider } = where(a)
    const target = targets[key] as Target.Target
    const t = probeTolerance(a.tolerance)
    const failed = (detail: string) => fail(new ProbeFailed({ probe: a.name, target: key, detail }))
    if (t !== undefined) {
      const tol = where(t.provider).provider
      // The value goes to the tolerance probe as its `value` argument; it holds when that probe succeeds.
      return Probe.make({
        id: a.name,
        target,
        observe: Effect.gen(function* () {
          const value = yield* runActivity(a.name, provider).pipe(Effect.mapError(failed))
          const out = yield* runActivity(t.name, withValue(tol, value)).pipe(Effect.mapError((d) => failed(`tolerance probe "${t.name}": ${d}`)))
          return { value, tolerance: { probe: t.name, status: out.status, succeeded: succeeded(tol, out) } }
        }),
      })
    }
    return Probe.make({ id: a.name, target, observe: runActivity(a.name, provider).pipe(Effect.mapError(failed)) })
  }

  const checkOf = (a: Activity, tolerance: Tolerance): Expect.Check<unknown> =>
    Expect.that(
      probeOf(a),
      Expect.predicate(describe(tolerance), (v: unknown) =>
        probeTolerance(tolerance) !== undefined
          ? (v as { readonly tolerance: { readonly succeeded: boolean } }).tolerance.succeeded
          : holds(tolerance as Exclude<Tolerance, { readonly type: "probe" }>, v),
      ),
      { id: `${a.name}: ${describe(tolerance)}` },
    )

  const ids = new Set<string>()
  const unique = (id: string) => {
    let out = id
    for (let n = 2; ids.has(out); n++) out = `${id} #${n}`
    ids.add(out)
    return out
  }
  const contactsOf = (p: Provider): ReadonlyArray<string> => (p.type === "http" ? [new URL(httpRequest(p).url).origin] : [])
  const show = (p: Provider) => (p.type === "http" ? `${(p.method ?? "GET").toUpperCase()} ${p.url}` : `${p.path}${p.arguments === undefined ? "" : ` ${JSON.stringify(p.arguments)}`}`)
  const strategy = ctk.runtime?.rollbacks?.strategy
  const always = `shiftup always rolls back${strategy === undefined || strategy === "always" ? "" : ` (the file's rollback strategy "${strategy}" is overridden)`}`

  const rollbackFaults = rollbacks.map((a, i) => {
    const { key, provider } = where(a)
    const d = declarationsFor(referenced(a.provider), ctk.configuration, ctk.secrets)
    // The raw activity (references unsubstituted): the ledger gets names, never secret values.
    const activity = JSON.parse(JSON.stringify({ type: a.type, name: a.name, provider: a.provider.type === "process" ? { ...a.provider, path: provider.type === "process" ? provider.path : a.provider.path } : a.provider }))
    return Fault.make({
      id: unique(`rollback ${a.name}`),
      title: `arm rollback ${i + 1}/${rollbacks.length} "${a.name}"`,
      target: targets[key] as Target.Target,
      safety: "disrupt",
      inject: Effect.void,
      compensation: Rollback.make({
        target: key,
        description: `Chaos Toolkit rollback "${a.name}": ${hide(show(provider))} — ${always}`,
        activity,
        configuration: d.configuration,
        secrets: d.secrets,
        inline: d.inline,
        ...(options.source === undefined || d.inline.length === 0 ? {} : { source: options.source }),
      }),
      provider: { module: providerModule, compensators },
      contacts: contactsOf(provider),
    })
  })

  const covered = rollbacks.length === 0 ? "nothing: the experiment declares no rollbacks" : `undone by the experiment's ${rollbacks.length} rollback(s), ledgered before the first action`
  type Step = { readonly _tag: "wait"; readonly ms: number; readonly id: string } | { readonly _tag: "fault"; readonly fault: Fault.Fault } | { readonly _tag: "probe"; readonly probe: Probe.Probe<unknown> } | { readonly _tag: "check"; readonly check: Expect.Check<unknown> }
  const steps: Array<Step> = []
  const mayInject: Record<string, "disrupt"> = {}
  for (const f of rollbackFaults) mayInject[f.target.id] = "disrupt"
  for (const a of ctk.method) {
    if (a.pauses?.before !== undefined) steps.push({ _tag: "wait", ms: a.pauses.before * 1000, id: `pause before ${a.name}` })
    if (a.type === "action") {
      const { key, provider } = where(a)
      mayInject[key] = "disrupt"
      const id = unique(a.name)
      steps.push({
        _tag: "fault",
        fault: Fault.make({
          id,
          title: `${a.name}: ${hide(show(provider))}`,
          target: targets[key] as Target.Target,
          safety: "disrupt",
          inject: runActivity(a.name, provider).pipe(Effect.mapError((detail) => fail(new InjectionFailed({ fault: id, target: key, detail })))),
          compensation: Covered.make({ target: key, description: covered }),
          provider: { module: providerModule, compensators },
          contacts: contactsOf(provider),
        }),
      })
    } else if (a.tolerance !== undefined) steps.push({ _tag: "check", check: checkOf(a, a.tolerance) })
    else steps.push({ _tag: "probe", probe: probeOf(a) })
    if (a.pauses?.after !== undefined) steps.push({ _tag: "wait", ms: a.pauses.after * 1000, id: `pause after ${a.name}` })
  }

  const from = options.source === undefined ? "" : `Chaos Toolkit experiment ${options.source}. `
  const notes = [`Rollbacks: ${always}.`, ...(options.notes ?? [])]
  const faults = rollbackFaults.length + steps.filter((s) => s._tag === "fault").length
  return Experiment.gen(
    {
      id: options.id ?? experimentId(ctk, options.source),
      title: ctk.title,
      description: `${ctk.description ?? ""}${ctk.description === undefined ? "" : "\n\n"}${from}${notes.join(" ")}`,
      tags: [...(ctk.tags ?? []), "chaostoolkit"],
      targets,
      mayInject,
      hypothesis: probes.map((a) => checkOf(a, a.tolerance as Tolerance)),
      budget: { maxTargets: Math.max(1, Object.keys(targets).length), maxConcurrentFaults: Math.max(1, faults), ...(egress === undefined || egress.length === 0 ? {} : { egress: egress as ReadonlyArray<string> }) },
      // Each rollback gets at least its own provider's timeout (and shiftup's default 10 s).
      rollbackTimeout: `${Math.max(10_000, ...rollbacks.map((a) => timeoutMs(where(a).provider) + 1000))} millis`,
    },
    function* (ctx) {
      // Armed in reverse: shiftup rolls back in reverse order, so they run in the file's order.
      for (const f of [...rollbackFaults].reverse()) yield* ctx.inject(f)
      for (const s of steps) {
        if (s._tag === "wait") yield* ctx.wait(`${s.ms} millis`)
        else if (s._tag === "fault") yield* ctx.inject(s.fault)
        else if (s._tag === "check") yield* ctx.check(s.check)
        else yield* ctx.observe(s.probe)
      }
    },
  )
}
