/**
 * An installed software package as the inventory sees it, wherever it was read from (a dpkg or
 * apk database, an npm lockfile or `node_modules`, Python metadata, an SBOM): the ecosystem and
 * name OSV advisories use, the version, the distribution release for OS packages, a purl, and
 * the asset path — the image and the file inside it the package was read from.
 */
import type { Ecosystem } from "./versions/index.ts"

export interface Location {
  /** The image reference the package was read from; absent for an SBOM supplied by the user. */
  readonly image?: string
  /** The file inside the image (absolute), or the SBOM file. */
  readonly path: string
}

export interface Package {
  /** OSV's ecosystem name, without a release (`Debian`, not `Debian:12`). */
  readonly ecosystem: Ecosystem
  readonly name: string
  readonly version: string
  /**
   * The source package an OS package was built from (dpkg `Source:`, apk `o:`), when it differs
   * from the binary package: OSV's Debian, Ubuntu and Alpine advisories name source packages.
   */
  readonly origin?: { readonly name: string; readonly version: string }
  /** The distribution release, as OSV suffixes it: `12` (Debian), `v3.19` (Alpine), `22.04` (Ubuntu). */
  readonly release?: string
  /** The package URL (`pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12`). */
  readonly purl: string
  readonly location: Location
}

/** `image:path`, or the path alone: how findings and errors name where a package came from. */
export const describeLocation = (l: Location): string => (l.image === undefined ? l.path : `${l.image}:${l.path}`)
