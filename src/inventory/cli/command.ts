/**
 * `shiftup inventory` and `shiftup inventory diff`. The first takes a snapshot of the sources the
 * flags (or else the config's `inventory` section) name and writes it with `--out`; the second
 * compares two snapshot files. Exit codes follow the CLI's contract: 0 done, 1 a "must not
 * happen" rule matched, 2 refused by the safety floor or the egress allowlist before any packet,
 * 4 invalid input.
 */
import { randomBytes } from "node:crypto"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { Effect } from "effect"
import type { Config } from "../../Config.ts"
import { InvalidArguments, type ShiftupError } from "../../ShiftupError.ts"
import { diff, type Drift } from "../diff/diff.ts"
import type { Asset, Snapshot } from "../snapshot/model.ts"
import { parse, snapshot, type SnapshotOptions } from "../snapshot/take.ts"
import { fromConfig } from "../track.ts"
import type { Severity } from "../Cvss.ts"
import * as Osv from "../osv/index.ts"
import type { Package as FullPackage } from "../Package.ts"
import * as Packages from "../packages/index.ts"
import { atLeast, renderFindings } from "../render.ts"
import { html } from "../../report/html.ts"

export interface InventoryArgs {
  readonly docker: boolean
  readonly endpoints: ReadonlyArray<string>
  readonly ports: string | undefined
  readonly out: string | undefined
  readonly json: boolean
  readonly observeProduction: boolean
  readonly previous: string | undefined
  /** Read each image's installed packages (never running it) into the snapshot. */
  readonly packages: boolean
  /** Match those packages against this OSV directory (implies `packages`). */
  readonly osv: string | undefined
  /** With `osv`: exit 1 for a finding at or above this severity. */
  readonly failOn: string | undefined
  /** `--check`: evaluate the misconfiguration rules on the snapshot (docs/misconfig.md). */
  readonly check?: { readonly profile: string | undefined; readonly format: ReadonlyArray<string>; readonly failOn: string | undefined; readonly report?: ReadonlyArray<string> | undefined }
}

interface Io {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

const refusedTags = new Set(["TargetRefused", "EgressDenied"])

const ports = (raw: string | undefined): ReadonlyArray<number> | undefined => {
  if (raw === undefined) return undefined
  return raw.split(",").flatMap((part) => {
    const [a = "", b] = part.trim().split("-")
    const from = Number(a)
    const to = b === undefined ? from : Number(b)
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to > 65535 || to < from) throw new InvalidArguments({ detail: `--ports: "${part}" is not a port or a range like 8000-8100` })
    return Array.from({ length: to - from + 1 }, (_, i) => from + i)
  })
}

const readSnapshot = (file: string): Snapshot => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (e) {
    throw new InvalidArguments({ detail: `cannot read snapshot ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` })
  }
  return parse(text, file)
}

const assetLine = (a: Asset): string => {
  const env = `${a.classification.environment}${a.classification.dataStore ? `, data store${a.classification.engine === undefined ? "" : ` ${a.classification.engine}`}` : ""}`
  const owner = a.owner === null ? "no owner" : `owner ${a.owner.value}`
  if (a.kind === "endpoint") {
    const cert = a.tls?.certificate
    const facts = [a.fingerprint.engine ?? undefined, a.tls === null ? undefined : `${a.tls.protocol}${cert === null || cert === undefined ? "" : ` cert ${cert.subject} until ${cert.notAfter.slice(0, 10)}`}`, a.http === null ? undefined : `HTTP ${a.http.status}${a.http.server === "" ? "" : ` ${a.http.server}`}`].filter((x) => x !== undefined)
    return `  ${a.id}  [${env}; ${owner}]  ${facts.join("; ") || a.fingerprint.evidence}`
  }
  const published = a.ports.published.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}`).join(" ")
  return `  ${a.id}  [${env}; ${owner}]  ${a.state.status}, ${a.image.ref}${published === "" ? "" : `, ${published}`}${a.privileges.privileged ? ", PRIVILEGED" : ""}`
}

/** `shiftup inventory`: resolves with the exit code. */
export const inventoryCommand = async (args: InventoryArgs, config: Config, io: Io): Promise<number> => {
  const base = fromConfig(config).snapshot
  const fromFlags = args.docker || args.endpoints.length > 0
  const endpoints = args.endpoints.flatMap((e) => e.split(",")).map((e) => e.trim()).filter((e) => e !== "")
  const chosenPorts = ports(args.ports)
  // Flags name the sources for this run, replacing the config's; its safety settings stay.
  const { docker: _docker, endpoints: _endpoints, ...safety } = base
  const sources: SnapshotOptions = fromFlags
    ? { docker: args.docker, ...(endpoints.length === 0 ? {} : { endpoints: { ...base.endpoints, endpoints, ...(chosenPorts === undefined ? {} : { ports: chosenPorts }) } }) }
    : base
  const options: SnapshotOptions = {
    ...safety,
    ...sources,
    ...(args.observeProduction ? { observeProduction: true } : {}),
    ...(args.previous === undefined ? {} : { previous: readSnapshot(args.previous) }),
  }
  if ((options.docker === undefined || options.docker === false) && options.endpoints === undefined) throw new InvalidArguments({ detail: "nothing to inventory: pass --docker and/or --endpoints host:port,…, or configure `inventory` in shiftup.config.ts" })
  const failOn = args.failOn?.toLowerCase() as Severity | undefined
  // With --check alone, the misconfiguration rules judge --fail-on by their own severities (info…).
  if (failOn !== undefined && args.osv !== undefined && !severities.includes(failOn)) throw new InvalidArguments({ detail: `--fail-on ${args.failOn}: use critical, high, medium, low or none` })
  if (failOn !== undefined && args.osv === undefined && args.check === undefined) throw new InvalidArguments({ detail: "--fail-on needs --osv <directory of OSV advisories> or --check to judge findings" })
  // --out is the snapshot's file: a report name there would get the inventory's JSON instead.
  if (args.out !== undefined && /\.(sarif|html|xml|md)$/i.test(args.out))
    throw new InvalidArguments({ detail: `--out ${args.out}: --out writes the snapshot (JSON); write reports with --check --report ${args.out}` })
  // Every package of every image, as the readers found it (origin and release included, which
  // OSV's distro advisories need); the snapshot keeps the short form.
  const read = new Map<string, ReadonlyArray<FullPackage>>()
  const withPackages: SnapshotOptions =
    args.packages || args.osv !== undefined
      ? {
          ...options,
          packages: ({ engine, imageId }) =>
            Packages.fromImage(engine, imageId, { labels: { "shiftup.run": `inventory-${randomBytes(4).toString("hex")}` } }).pipe(
              Effect.map((found) => {
                read.set(imageId, found.packages)
                return found.packages.map((p) => ({ ecosystem: p.ecosystem, name: p.name, version: p.version, path: p.location.path }))
              }),
            ),
        }
      : options
  const db = args.osv === undefined ? undefined : await Osv.load(args.osv)
  const result = await Effect.runPromise(Effect.result(snapshot(withPackages)))
  if (result._tag === "Failure") {
    const e: ShiftupError = result.failure
    io.err(`shiftup: ${e.message}\n`)
    return refusedTags.has(e._tag) ? 2 : 4
  }
  const snap = result.success
  const text = `${JSON.stringify(snap, null, 2)}\n`
  if (args.out !== undefined) {
    mkdirSync(dirname(args.out), { recursive: true })
    writeFileSync(args.out, text)
  }
  // With --check, the rules' verdict is the report; otherwise the snapshot (JSON or a line per asset).
  const checked = args.check === undefined ? 0 : await (await import("../../misconfig/cli.ts")).checkSnapshot(snap, { ...args.check, out: undefined }, config, io)
  if (args.check === undefined && args.json) io.out(text)
  else if (args.check === undefined) {
    io.out(`inventory ${snap.takenAt}: ${snap.assets.length} asset(s) from ${snap.sources.map((s) => `${s.kind} ${s.name} (${s.assets}, ${s.ms} ms)`).join(", ")}\n`)
    for (const a of snap.assets) io.out(`${assetLine(a)}\n`)
    if (args.out !== undefined) io.out(`snapshot written to ${args.out}\n`)
  }
  if (db === undefined) return checked
  const { findings, skipped } = Osv.match(Osv.index(db.advisories), [...read.values()].flat())
  const beside = (ext: string) => (args.out ?? "").replace(/(\.json)?$/, ext)
  if (args.out !== undefined) {
    writeFileSync(beside(".vulns.sarif"), renderFindings(findings, "sarif"))
    writeFileSync(beside(".vulns.html"), html([], { vulnerabilities: findings }))
  }
  ;(args.json ? io.err : io.out)(
    `vulnerable components: ${findings.length} finding(s) in ${[...read.values()].flat().length} package(s) of ${read.size} image(s)${args.out === undefined ? "" : `; SARIF in ${beside(".vulns.sarif")}, HTML in ${beside(".vulns.html")}`}\n${findings.length === 0 ? "" : renderFindings(findings, "text")}`,
  )
  for (const x of skipped) io.err(`shiftup inventory: not evaluated: ${x.package}${x.advisory === undefined ? "" : ` against ${x.advisory}`}: ${x.reason}\n`)
  return Math.max(checked, failOn !== undefined && findings.some((f) => atLeast(f, failOn)) ? 1 : 0)
}

const severities: ReadonlyArray<Severity> = ["critical", "high", "medium", "low", "none"]

const driftText = (d: Drift): string => {
  const lines = [`inventory diff ${d.from} → ${d.to}: ${d.changes.length} change(s), ${d.findings.length} finding(s), ${d.violations.length} violation(s)`]
  for (const c of d.changes) lines.push(`  ${c.kind.padEnd(22)} ${c.asset}  ${c.detail}`)
  if (d.findings.length > 0) lines.push("findings:")
  for (const f of d.findings) lines.push(`  ${f.kind.padEnd(22)} ${f.asset}  ${f.detail}`)
  if (d.violations.length > 0) lines.push("MUST NOT HAPPEN:")
  for (const v of d.violations) lines.push(`  ${v.rule}: ${v.item.kind} ${v.item.asset}  ${v.item.detail}`)
  return `${lines.join("\n")}\n`
}

/** `shiftup inventory diff <old> <new>`: 1 when a rule matched. */
export const diffCommand = (files: ReadonlyArray<string>, json: boolean, config: Config, io: Io): number => {
  const [a, b, ...extra] = files
  if (a === undefined || b === undefined || extra.length > 0) throw new InvalidArguments({ detail: "`shiftup inventory diff` needs exactly two snapshot files: <old> <new>" })
  const drift = diff(readSnapshot(a), readSnapshot(b), fromConfig(config).diff)
  io.out(json ? `${JSON.stringify(drift, null, 2)}\n` : driftText(drift))
  return drift.violations.length > 0 ? 1 : 0
}
