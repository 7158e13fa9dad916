/**
 * Debian and Ubuntu packages from dpkg's database, `/var/lib/dpkg/status`: one paragraph per
 * package (deb822: `Field: value`, continuation lines start with a space). Only packages whose
 * `Status` ends in `installed` count (not `config-files` or `half-installed` leftovers). `Source:`
 * names the source package, with its own version in parentheses when it differs.
 */
import type { Location, Package } from "../Package.ts"
import { format } from "../Purl.ts"
import { type OsRelease, osvRelease } from "./os-release.ts"

/** The paragraphs of a deb822 or apk database file: one `Map` of fields each. */
export const paragraphs = (text: string, separator: RegExp): ReadonlyArray<ReadonlyMap<string, string>> =>
  text
    .split(/\n\s*\n/)
    .map((block) => {
      const fields = new Map<string, string>()
      let last: string | undefined
      for (const line of block.split("\n")) {
        if (/^\s/.test(line) && last !== undefined) {
          fields.set(last, `${fields.get(last) ?? ""}\n${line.trim()}`)
          continue
        }
        const m = separator.exec(line)
        if (m === null) continue
        last = m[1] ?? ""
        fields.set(last, (m[2] ?? "").trim())
      }
      return fields
    })
    .filter((f) => f.size > 0)

/** Reads a dpkg status file. `os` (from `/etc/os-release`) decides Debian or Ubuntu, and the release. */
export const readDpkgStatus = (text: string, os: OsRelease | undefined, location: Location): ReadonlyArray<Package> => {
  const ubuntu = os?.id === "ubuntu"
  const ecosystem = ubuntu ? "Ubuntu" : "Debian"
  const release = os === undefined ? undefined : osvRelease(os)
  const distro = os?.versionId === undefined ? undefined : `${os.id}-${os.versionId}`
  const out: Array<Package> = []
  for (const p of paragraphs(text, /^([A-Za-z0-9-]+):(.*)$/)) {
    const name = p.get("Package")
    const version = p.get("Version")
    if (name === undefined || version === undefined || !/(^|\s)installed$/.test(p.get("Status") ?? "")) continue
    const source = /^(\S+)(?:\s+\((\S+)\))?$/.exec(p.get("Source") ?? "")
    const arch = p.get("Architecture")
    out.push({
      ecosystem,
      name,
      version,
      ...(source === null ? {} : { origin: { name: source[1] ?? name, version: source[2] ?? version } }),
      ...(release === undefined ? {} : { release }),
      purl: format({ type: "deb", namespace: ubuntu ? "ubuntu" : "debian", name, version, qualifiers: { ...(arch === undefined ? {} : { arch }), ...(distro === undefined ? {} : { distro }) } }),
      location,
    })
  }
  return out
}
