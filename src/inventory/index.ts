/**
 * `shiftup/inventory`: what software runs, and which of it is vulnerable. Observe-only: it reads
 * package databases out of images without running them (`Packages.fromImage`), takes SBOMs the
 * user supplies (`Sbom.read`), and matches the packages against a local OSV advisory directory
 * (`Osv.load`, `Osv.index`, `Osv.match`) with each ecosystem's own version ordering
 * (`Versions`). `renderFindings` writes the findings as text, JSON or SARIF.
 * semver and the PEP 440 library are loaded by this subpath only.
 *
 * @example
 * import { Osv, Packages, renderFindings } from "shiftup/inventory"
 * const db = Osv.index((await Osv.load("osv/")).advisories)
 * const { packages } = await Effect.runPromise(Packages.fromImage(engine, "registry.local/app:1.4"))
 * console.log(renderFindings(Osv.match(db, packages).findings, "text"))
 */
import "../../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails

export { InvalidInventoryFile } from "../ShiftupError.ts"
export * as Cvss from "./Cvss.ts"
export * as Osv from "./osv/index.ts"
export { describeLocation, type Location, type Package } from "./Package.ts"
export * as Packages from "./packages/index.ts"
export * as Purl from "./Purl.ts"
export { atLeast, type FindingsFormat, renderFindings } from "./render.ts"
export * as Sbom from "./Sbom.ts"
export * as Versions from "./versions/index.ts"
