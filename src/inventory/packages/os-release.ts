/**
 * `/etc/os-release` (os-release(5)): which distribution and release an image is, so OS packages
 * are matched against the advisories of that release (`Debian:12`, `Alpine:v3.19`, `Ubuntu:22.04`).
 */

export interface OsRelease {
  /** `debian`, `ubuntu`, `alpine`… */
  readonly id: string
  readonly idLike: ReadonlyArray<string>
  /** `12`, `22.04`, `3.19.1`. */
  readonly versionId?: string
  readonly prettyName?: string
}

/** Parses `KEY=value` lines; values may be quoted with `"` or `'` and use backslash escapes. */
export const parseOsRelease = (text: string): OsRelease => {
  const fields = new Map<string, string>()
  for (const line of text.split("\n")) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line)
    if (m === null) continue
    let v = (m[2] ?? "").trim()
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1).replace(/\\(.)/g, "$1")
    fields.set(m[1] ?? "", v)
  }
  const versionId = fields.get("VERSION_ID")
  const prettyName = fields.get("PRETTY_NAME")
  return { id: (fields.get("ID") ?? "linux").toLowerCase(), idLike: (fields.get("ID_LIKE") ?? "").split(/\s+/).filter((x) => x !== ""), ...(versionId === undefined ? {} : { versionId }), ...(prettyName === undefined ? {} : { prettyName }) }
}

/** The release as OSV suffixes an ecosystem with it: `v3.19` for Alpine 3.19.x, `VERSION_ID` otherwise. */
export const osvRelease = (os: OsRelease): string | undefined => {
  if (os.versionId === undefined) return undefined
  if (os.id === "alpine") {
    const m = /^(\d+)\.(\d+)/.exec(os.versionId)
    return m === null ? undefined : `v${m[1]}.${m[2]}`
  }
  return os.versionId
}
