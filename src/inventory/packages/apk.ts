/**
 * Alpine packages from apk's database, `/lib/apk/db/installed`: one paragraph per package, one
 * `X:value` line per field — `P` the name, `V` the version, `o` the origin (source) package,
 * `A` the architecture.
 */
import type { Location, Package } from "../Package.ts"
import { format } from "../Purl.ts"
import { paragraphs } from "./dpkg.ts"
import { type OsRelease, osvRelease } from "./os-release.ts"

export const readApkInstalled = (text: string, os: OsRelease | undefined, location: Location): ReadonlyArray<Package> => {
  const release = os === undefined ? undefined : osvRelease(os)
  const out: Array<Package> = []
  for (const p of paragraphs(text, /^([A-Za-z]):(.*)$/)) {
    const name = p.get("P")
    const version = p.get("V")
    if (name === undefined || version === undefined) continue
    const origin = p.get("o")
    const arch = p.get("A")
    out.push({
      ecosystem: "Alpine",
      name,
      version,
      ...(origin === undefined || origin === name ? {} : { origin: { name: origin, version } }),
      ...(release === undefined ? {} : { release }),
      purl: format({ type: "apk", namespace: "alpine", name, version, qualifiers: { ...(arch === undefined ? {} : { arch }), ...(os?.versionId === undefined ? {} : { distro: os.versionId }) } }),
      location,
    })
  }
  return out
}
