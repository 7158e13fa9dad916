/**
 * Python packages from their installed metadata, `<name>-<version>.dist-info/METADATA` under a
 * `site-packages` or `dist-packages` folder: the `Name:` and `Version:` headers (core metadata
 * is an RFC 822 header block; the description after the first blank line is not read).
 */
import type { Location, Package } from "../Package.ts"
import { format } from "../Purl.ts"

export const isDistInfoMetadata = (path: string): boolean => path.endsWith(".dist-info/METADATA")

export const readMetadata = (text: string, location: Location): Package | undefined => {
  const head = text.split(/\r?\n\r?\n/, 1)[0] ?? ""
  const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.+?)\\s*$`, "mi").exec(head)?.[1]
  const name = field("Name")
  const version = field("Version")
  if (name === undefined || version === undefined) return undefined
  return { ecosystem: "PyPI", name, version, purl: format({ type: "pypi", name: name.toLowerCase().replace(/[-_.]+/g, "-"), version, qualifiers: {} }), location }
}
