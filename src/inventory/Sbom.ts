/**
 * SBOMs the user supplies, as packages: CycloneDX JSON (`components`, nested ones included, each
 * with a `purl`) and SPDX JSON (`packages`, each with an `externalRefs` entry of type `purl`).
 * A purl decides the ecosystem: `npm`, `deb` (Debian or Ubuntu by namespace, the release from
 * the `distro` qualifier, the source package from `upstream`), `apk` (Alpine), `pypi`. Components
 * of other types, or without a purl, are listed in `unsupported`, not dropped silently.
 */
import { readFile } from "node:fs/promises"
import { InvalidInventoryFile } from "../ShiftupError.ts"
import type { Location, Package } from "./Package.ts"
import { format, parse, type Purl } from "./Purl.ts"

export interface SbomPackages {
  readonly format: "CycloneDX" | "SPDX"
  readonly packages: ReadonlyArray<Package>
  /** Components that could not become packages: their purl (or name), and why. */
  readonly unsupported: ReadonlyArray<{ readonly component: string; readonly reason: string }>
}

type Json = Record<string, unknown>
const isObject = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x)

/** The distribution release a purl's `distro` qualifier names, as OSV suffixes ecosystems (`debian-12` → `12`, `3.19.1` → `v3.19`). */
const releaseOf = (type: string, distro: string | undefined): string | undefined => {
  if (distro === undefined) return undefined
  const version = distro.replace(/^[a-z]+-/i, "")
  if (type !== "apk") return version
  const m = /^(\d+)\.(\d+)/.exec(version)
  return m === null ? undefined : `v${m[1]}.${m[2]}`
}

/** A purl as a package, or why it cannot be one. */
export const packageOfPurl = (purl: Purl, location: Location): Package | string => {
  if (purl.version === undefined) return "the purl has no version"
  const release = releaseOf(purl.type, purl.qualifiers["distro"])
  const base = { version: purl.version, purl: format(purl), location, ...(release === undefined ? {} : { release }) }
  switch (purl.type) {
    case "npm":
      return { ...base, ecosystem: "npm", name: purl.namespace === undefined ? purl.name : `${purl.namespace}/${purl.name}` }
    case "pypi":
      return { ...base, ecosystem: "PyPI", name: purl.name }
    case "apk":
      return { ...base, ecosystem: "Alpine", name: purl.name }
    case "deb": {
      const upstream = /^([^@]+)(?:@(.+))?$/.exec(purl.qualifiers["upstream"] ?? "")
      const origin = upstream === null ? {} : { origin: { name: upstream[1] ?? purl.name, version: upstream[2] ?? purl.version } }
      return { ...base, ...origin, ecosystem: purl.namespace?.toLowerCase() === "ubuntu" ? "Ubuntu" : "Debian", name: purl.name }
    }
    default:
      return `purl type "${purl.type}" is not matched by shiftup (npm, deb, apk, pypi are)`
  }
}

/** Reads packages from a parsed SBOM document; `file` names it in locations and errors. */
export const fromJson = (json: unknown, file: string): SbomPackages => {
  const fail = (field: string, detail: string) => new InvalidInventoryFile({ file, field, detail })
  if (!isObject(json)) throw fail("", "an SBOM is a JSON object (CycloneDX or SPDX)")
  const packages: Array<Package> = []
  const unsupported: Array<{ component: string; reason: string }> = []
  const add = (purlText: unknown, name: string, field: string) => {
    if (typeof purlText !== "string") return void unsupported.push({ component: name, reason: "no purl" })
    const purl = parse(purlText)
    if (purl === undefined) throw fail(field, `not a purl: ${JSON.stringify(purlText)}`)
    const p = packageOfPurl(purl, { path: file })
    if (typeof p === "string") unsupported.push({ component: purlText, reason: p })
    else packages.push(p)
  }
  if (json["bomFormat"] === "CycloneDX") {
    const walk = (list: unknown, path: string) => {
      if (list === undefined) return
      if (!Array.isArray(list)) throw fail(path, "must be an array of components")
      list.forEach((c: unknown, i) => {
        if (!isObject(c)) throw fail(`${path}[${i}]`, "must be an object")
        add(c["purl"], String(c["name"] ?? `${path}[${i}]`), `${path}[${i}].purl`)
        walk(c["components"], `${path}[${i}].components`)
      })
    }
    walk(json["components"], "components")
    return { format: "CycloneDX", packages, unsupported }
  }
  if (typeof json["spdxVersion"] === "string") {
    const list = json["packages"] ?? []
    if (!Array.isArray(list)) throw fail("packages", "must be an array")
    list.forEach((p: unknown, i) => {
      if (!isObject(p)) throw fail(`packages[${i}]`, "must be an object")
      const refs = Array.isArray(p["externalRefs"]) ? p["externalRefs"] : []
      const j = refs.findIndex((r: unknown) => isObject(r) && r["referenceType"] === "purl")
      const ref = refs[j] as Json | undefined
      add(ref?.["referenceLocator"], String(p["name"] ?? `packages[${i}]`), `packages[${i}].externalRefs[${j}].referenceLocator`)
    })
    return { format: "SPDX", packages, unsupported }
  }
  throw fail("", 'neither CycloneDX JSON (`"bomFormat": "CycloneDX"`) nor SPDX JSON (`"spdxVersion"`)')
}

/**
 * Reads an SBOM file (CycloneDX JSON or SPDX JSON).
 *
 * @example
 * const { packages } = await Sbom.read("app.cdx.json")
 */
export const read = async (file: string): Promise<SbomPackages> => {
  let json: unknown
  try {
    json = JSON.parse(await readFile(file, "utf8"))
  } catch (e) {
    throw new InvalidInventoryFile({ file, field: "", detail: `cannot read it as JSON: ${(e as Error).message}` })
  }
  return fromJson(json, file)
}
