/**
 * Loading a local OSV database: a directory (searched recursively) of OSV JSON files, one
 * advisory per file, as OSV's per-ecosystem exports hold them once unzipped
 * (`https://osv-vulnerabilities.storage.googleapis.com/<ecosystem>/all.zip`). Nothing is fetched.
 * Zip archives are not opened (no zip reader ships with shiftup): they are listed as ignored, and
 * a directory with zips and no JSON fails with the `unzip` command to run.
 */
import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { InvalidInventoryFile } from "../../ShiftupError.ts"
import { type Advisory, parseAdvisory } from "./advisory.ts"

export interface Database {
  /** Every advisory read, withdrawn ones included (matching skips those). */
  readonly advisories: ReadonlyArray<Advisory>
  /** Files that were not read: zip archives (unzip them first). */
  readonly ignored: ReadonlyArray<string>
}

const listFiles = async (dir: string): Promise<ReadonlyArray<string>> => {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true })
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort()
  } catch (e) {
    throw new InvalidInventoryFile({ file: dir, field: "", detail: `cannot read the OSV directory: ${(e as Error).message}` })
  }
}

/** Reads and validates one OSV JSON file. */
export const readAdvisory = async (file: string): Promise<Advisory> => {
  let text: string
  try {
    text = await readFile(file, "utf8")
  } catch (e) {
    throw new InvalidInventoryFile({ file, field: "", detail: `cannot read: ${(e as Error).message}` })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new InvalidInventoryFile({ file, field: "", detail: `not JSON: ${(e as Error).message}` })
  }
  return parseAdvisory(json, file)
}

/**
 * Loads every `*.json` advisory under `dir`. The first invalid file fails the load with an
 * `InvalidInventoryFile` naming it and the field.
 *
 * @example
 * const db = await Osv.load("osv/")   // after: unzip npm-all.zip -d osv/
 */
export const load = async (dir: string): Promise<Database> => {
  const files = await listFiles(dir)
  const json = files.filter((f) => f.endsWith(".json"))
  const ignored = files.filter((f) => f.endsWith(".zip"))
  if (json.length === 0)
    throw new InvalidInventoryFile({
      file: dir,
      field: "",
      detail: ignored.length > 0 ? `holds only zip archives; unzip them first (e.g. \`unzip ${ignored[0]} -d ${dir}\`)` : "holds no OSV advisories (*.json); download an export from https://osv-vulnerabilities.storage.googleapis.com/<ecosystem>/all.zip and unzip it here",
    })
  const advisories: Array<Advisory> = []
  // In slices: thousands of files at once would exhaust file descriptors.
  for (let i = 0; i < json.length; i += 256) advisories.push(...(await Promise.all(json.slice(i, i + 256).map(readAdvisory))))
  return { advisories, ignored }
}
