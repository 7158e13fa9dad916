/**
 * `shiftup misconfig [--snapshot <file> | --docker] [--profile <name>] [--format text|json|sarif]
 * [--out <file>] [--report <formats, directory or files>] [--fail-on <severity>]` and `shiftup
 * profiles`. The first evaluates the rules on a snapshot file, or on a fresh snapshot of the
 * local Docker engine (default: the config's `inventory` sources), prints the findings and
 * writes them through the report pipeline (HTML, JUnit, SARIF); exit 1 on a blocking finding —
 * `--fail-on` > the profile in force (its `failOn` and mandatory rules) > the default (no
 * profile named: any finding), `Misconfig.judge`. The second lists the profiles, the config's
 * included, with their parameters.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { Effect } from "effect"
import type { Config } from "../Config.ts"
import { InvalidArguments, type ShiftupError } from "../ShiftupError.ts"
import type { FindingsFormat } from "../inventory/render.ts"
import type { Snapshot } from "../inventory/snapshot/model.ts"
import { parse, snapshot } from "../inventory/snapshot/take.ts"
import { fromConfig } from "../inventory/track.ts"
import { evaluate, judge, rules } from "./evaluate.ts"
import { severities, type Severity } from "./model.ts"
import { floor, profiles, resolveProfile } from "./profiles.ts"
import { render } from "./render.ts"

export interface MisconfigArgs {
  readonly snapshot: string | undefined
  readonly docker: boolean
  readonly profile: string | undefined
  readonly format: ReadonlyArray<string>
  readonly out: string | undefined
  readonly failOn: string | undefined
  /** `--report`: formats, a directory or report files (src/report/cli.ts `reportFiles`). */
  readonly report?: ReadonlyArray<string> | undefined
}

interface Io {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

const formatOf = (raw: ReadonlyArray<string>): FindingsFormat => {
  const f = raw.flatMap((x) => x.split(",")).filter((x) => x !== "")
  if (f.length === 0) return "text"
  if (f.length > 1 || !["text", "json", "sarif"].includes(f[0] ?? "")) throw new InvalidArguments({ detail: `--format: one of text, json or sarif, got ${f.join(",")}` })
  return f[0] as FindingsFormat
}

const readSnapshot = (file: string): Snapshot => {
  try {
    return parse(readFileSync(file, "utf8"), file)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== undefined) throw new InvalidArguments({ detail: `cannot read snapshot ${file}: ${(e as NodeJS.ErrnoException).code}` })
    throw e
  }
}

/** `shiftup misconfig`: resolves with the exit code. */
export const misconfigCommand = async (args: MisconfigArgs, config: Config, io: Io): Promise<number> => {
  const format = formatOf(args.format)
  failOnOf(args.failOn)
  await reportFilesOf(args.report, config)
  if (args.snapshot !== undefined && args.docker) throw new InvalidArguments({ detail: "--snapshot and --docker: give one (a snapshot file, or a fresh look at the local engine)" })
  let snap: Snapshot
  if (args.snapshot !== undefined) snap = readSnapshot(args.snapshot)
  else {
    const { docker: _docker, endpoints: _endpoints, ...safety } = fromConfig(config).snapshot
    const options = args.docker ? { ...safety, docker: true } : fromConfig(config).snapshot
    if ((options.docker === undefined || options.docker === false) && options.endpoints === undefined) throw new InvalidArguments({ detail: "nothing to check: pass --snapshot <file> or --docker, or configure `inventory` in shiftup.config.ts" })
    const result = await Effect.runPromise(Effect.result(snapshot(options)))
    if (result._tag === "Failure") {
      const e: ShiftupError = result.failure
      io.err(`shiftup: ${e.message}\n`)
      return e._tag === "TargetRefused" || e._tag === "EgressDenied" ? 2 : 4
    }
    snap = result.success
  }
  return checkSnapshot(snap, { ...args, format: [format] }, config, io)
}

const failOnOf = (raw: string | undefined): Severity | undefined => {
  if (raw !== undefined && !(severities as ReadonlyArray<string>).includes(raw)) throw new InvalidArguments({ detail: `--fail-on: one of ${severities.join(", ")}, got ${raw}` })
  return raw as Severity | undefined
}

/** The report files `--report` names (checked before anything is looked at); the renderers load only then. */
const reportFilesOf = async (report: ReadonlyArray<string> | undefined, config: Config) =>
  report === undefined ? undefined : (await import("../report/cli.ts")).reportFiles(report, join(config.stateDir ?? ".shiftup", "reports"))

/** The rules over a snapshot, rendered and reported: 1 when a finding blocks (`judge`). Also `shiftup inventory --check`. */
export const checkSnapshot = async (snap: Snapshot, args: Pick<MisconfigArgs, "profile" | "format" | "out" | "failOn" | "report">, config: Config, io: Io): Promise<number> => {
  const format = formatOf(args.format)
  const failOn = failOnOf(args.failOn)
  const files = await reportFilesOf(args.report, config)
  const evaluation = judge(evaluate(snap.assets, { ...(config.misconfig === undefined ? {} : { settings: config.misconfig }), ...(args.profile === undefined ? {} : { profile: args.profile }), now: new Date(snap.takenAt), passed: files !== undefined }), failOn)
  const text = render(evaluation, format)
  if (args.out !== undefined) {
    mkdirSync(dirname(args.out), { recursive: true })
    writeFileSync(args.out, text)
  } else io.out(text)
  const written = files === undefined ? [] : (await import("../report/cli.ts")).writeReportFiles(files, [], { misconfig: { ...evaluation, rules } })
  const failing = evaluation.findings.filter((f) => f.blocking)
  io.err(`shiftup misconfig: ${snap.assets.length} asset(s), ${evaluation.findings.length} finding(s), ${failing.length} blocking (${failOn === undefined ? "by profile" : `--fail-on ${failOn}`})${args.out === undefined ? "" : `, written to ${args.out}`}${written.length === 0 ? "" : `; reports: ${written.join(", ")}`}\n`)
  return failing.length > 0 ? 1 : 0
}

/** `shiftup profiles`: every profile and its parameters, the config's own included. */
export const profilesCommand = (config: Config, io: Io): number => {
  const names = [...Object.keys(profiles), ...Object.keys(config.misconfig?.profiles ?? {})]
  const lines = [`floor (every profile tightens it): mandatory ${floor.mandatory.join(", ")}; failOn ${floor.failOn}; TLS ≥ ${floor.minTls}; cert window ≥ ${floor.certExpiryDays} d; image age ≤ ${floor.maxImageAgeDays} d; probes ≤ ${floor.maxProbeRate}/s`, ""]
  for (const name of names) {
    const p = resolveProfile(name, config.misconfig?.profiles ?? {})
    const base = config.misconfig?.profiles?.[name]?.extends
    lines.push(
      `${name}${base === undefined ? "" : ` (extends ${base}, from the config)`}: ${p.description}`,
      `  blocks CI at ${p.failOn} and for ${p.mandatory.join(", ")}`,
      `  TLS ≥ ${p.minTls}; certificates expiring within ${p.certExpiryDays} d; images older than ${p.maxImageAgeDays} d; probes ≤ ${p.maxProbeRate}/s; fault classes ${p.faultClasses.join(", ")}`,
      `  data stores must offer TLS: ${p.dataStoreTls ? "yes" : "no"}; self-signed certificates in production: ${p.selfSignedForbidden ? "forbidden" : "accepted"}`,
      `  required headers: ${p.requiredHeaders.join(", ") || "none"}; leakage patterns: ${p.leakage.join(", ") || "none"}`,
      `  severities: ${Object.entries(p.severities).map(([r, s]) => `${r}=${s}`).join(", ") || "the rules' defaults"}`,
      "",
    )
  }
  io.out(`${lines.join("\n")}`)
  return 0
}
