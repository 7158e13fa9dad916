/**
 * npm packages: from a `package-lock.json` (lockfile v2/v3: the `packages` map keyed by install
 * path, `node_modules/a/node_modules/@s/b`; v1: the nested `dependencies` tree) and from the
 * `package.json` of each installed package under `node_modules`. The project's own root entry,
 * workspace links and bundled-only entries without a version are not packages of the image.
 */
import { InvalidInventoryFile } from "../../ShiftupError.ts"
import { describeLocation, type Location, type Package } from "../Package.ts"
import { format } from "../Purl.ts"

type Json = Record<string, unknown>
const isObject = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x)

const parseJson = (text: string, location: Location): unknown => {
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new InvalidInventoryFile({ file: describeLocation(location), field: "", detail: `not JSON: ${(e as Error).message}` })
  }
}

export const npmPackage = (name: string, version: string, location: Location): Package => {
  const slash = name.startsWith("@") ? name.indexOf("/") : -1
  return { ecosystem: "npm", name, version, purl: format({ type: "npm", ...(slash === -1 ? {} : { namespace: name.slice(0, slash) }), name: slash === -1 ? name : name.slice(slash + 1), version, qualifiers: {} }), location }
}

/** The packages a lockfile installs. */
export const readPackageLock = (text: string, location: Location): ReadonlyArray<Package> => {
  const lock = parseJson(text, location)
  if (!isObject(lock)) throw new InvalidInventoryFile({ file: describeLocation(location), field: "", detail: "a package-lock.json is a JSON object" })
  const out: Array<Package> = []
  if (isObject(lock["packages"])) {
    for (const [path, entry] of Object.entries(lock["packages"])) {
      const at = path.lastIndexOf("node_modules/")
      if (at === -1 || !isObject(entry) || entry["link"] === true || typeof entry["version"] !== "string") continue
      const name = typeof entry["name"] === "string" ? entry["name"] : path.slice(at + "node_modules/".length)
      out.push(npmPackage(name, entry["version"], location))
    }
    return out
  }
  const walk = (deps: unknown) => {
    if (!isObject(deps)) return
    for (const [name, entry] of Object.entries(deps)) {
      if (!isObject(entry)) continue
      if (typeof entry["version"] === "string" && !entry["version"].startsWith("file:")) out.push(npmPackage(name, entry["version"], location))
      walk(entry["dependencies"])
    }
  }
  walk(lock["dependencies"])
  return out
}

/** One installed package's `package.json` (under `node_modules`); `undefined` when it names no version. */
export const readInstalledPackageJson = (text: string, location: Location): Package | undefined => {
  const json = parseJson(text, location)
  if (!isObject(json) || typeof json["name"] !== "string" || typeof json["version"] !== "string") return undefined
  return npmPackage(json["name"], json["version"], location)
}

/** Whether a path is the `package.json` of a package installed in a `node_modules` folder. */
export const isInstalledPackageJson = (path: string): boolean => /(^|\/)node_modules\/(@[^/]+\/)?[^/@][^/]*\/package\.json$/.test(path)
