/**
 * `shiftup vulns --osv <dir> (--image <ref>… | --sbom <file>…) [--format text|json|sarif]
 * [--out <file>] [--fail-on <severity>]`: the packages of images (read without running them)
 * and SBOMs, matched against a local OSV directory. Exit 1 when a finding is at or above
 * `--fail-on` (default: any finding), 0 otherwise, 4 for invalid input. Loaded only for this
 * command, so the rest of the CLI never loads semver or the PEP 440 library.
 */
import { randomBytes } from "node:crypto"
import { writeFileSync } from "node:fs"
import { Effect } from "effect"
import { fail, InvalidArguments } from "../ShiftupError.ts"
import type { Severity } from "../inventory/Cvss.ts"
import { atLeast, type FindingsFormat, Osv, type Package, Packages, renderFindings, Sbom } from "../inventory/index.ts"

interface Io {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

export interface VulnsOptions {
  readonly osv: string | undefined
  readonly images: ReadonlyArray<string>
  readonly sboms: ReadonlyArray<string>
  readonly format: ReadonlyArray<string>
  readonly out: string | undefined
  readonly failOn: string | undefined
}

const severities: ReadonlyArray<Severity> = ["critical", "high", "medium", "low", "none"]
const formats: ReadonlyArray<FindingsFormat> = ["text", "json", "sarif"]

export const vulnsCommand = async (opts: VulnsOptions, io: Io): Promise<number> => {
  if (opts.osv === undefined) throw fail(new InvalidArguments({ detail: "`shiftup vulns` needs --osv <directory of OSV advisories>" }))
  if (opts.images.length === 0 && opts.sboms.length === 0) throw fail(new InvalidArguments({ detail: "`shiftup vulns` needs --image <ref> or --sbom <file> (repeatable)" }))
  const format = (opts.format.flatMap((f) => f.split(",")).at(-1) ?? "text") as FindingsFormat
  if (!formats.includes(format)) throw fail(new InvalidArguments({ detail: `--format ${format}: use text, json or sarif` }))
  const failOn = opts.failOn?.toLowerCase() as Severity | undefined
  if (failOn !== undefined && !severities.includes(failOn)) throw fail(new InvalidArguments({ detail: `--fail-on ${opts.failOn}: use critical, high, medium, low or none` }))

  const db = await Osv.load(opts.osv)
  const packages: Array<Package> = []
  for (const file of opts.sboms) packages.push(...(await Sbom.read(file)).packages)
  if (opts.images.length > 0) {
    const Docker = await import("../docker/index.ts")
    const engine = Docker.Engine.make({ timeoutMs: 30_000 })
    // The temporary containers carry a run label, so `shiftup reap --all` finds one a killed process left.
    const labels = { "shiftup.run": `vulns-${randomBytes(4).toString("hex")}` }
    try {
      for (const image of opts.images) packages.push(...(await Effect.runPromise(Packages.fromImage(engine, image, { labels }))).packages)
    } finally {
      engine.close()
    }
  }
  const { findings, skipped } = Osv.match(Osv.index(db.advisories), packages)
  const rendered = renderFindings(findings, format)
  if (opts.out === undefined) io.out(rendered)
  else writeFileSync(opts.out, rendered)
  for (const s of skipped) io.err(`shiftup vulns: not evaluated: ${s.package}${s.advisory === undefined ? "" : ` against ${s.advisory}`}: ${s.reason}\n`)
  io.err(`shiftup vulns: ${packages.length} packages, ${db.advisories.length} advisories, ${findings.length} findings${opts.out === undefined ? "" : ` written to ${opts.out}`}\n`)
  return findings.some((f) => (failOn === undefined ? true : atLeast(f, failOn))) ? 1 : 0
}
