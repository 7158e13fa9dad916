/**
 * `shiftup/inventory`: know what you own, continuously. Observe-only sources — Docker engines
 * (every container's image and its age, labels, owner, environment and data-store
 * classification, ports, networks, mounts, privileges, restart policy, health check) and network
 * endpoints (a connect scan inside the egress allowlist, the core's protocol fingerprint, TLS
 * and HTTP facts) — make a `shiftup.inventory/v1` snapshot with stable asset ids; `diff` names
 * what changed between two, what the new one raises (expiring certificates, aging images,
 * orphans) and which "must not happen" rules that breaks. `track` is the loop a continuous
 * process calls: incremental snapshot, then drift. docs/inventory.md documents every field.
 *
 * @example
 * import * as Inventory from "shiftup/inventory"
 * const before = await Inventory.take({ docker: true })
 * // … later
 * const { drift } = await Inventory.trackPromise(before, { docker: true }, { rules: [{ name: "no privileged containers", kinds: ["privileges-changed"] }] })
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
export type { Asset, AssetClassification, Certificate, ContainerAsset, EndpointAsset, EnvVar, HttpFacts, Owner, Package as SnapshotPackage, Snapshot, SourceReport, TlsFacts } from "./snapshot/model.ts"
export { schema } from "./snapshot/model.ts"
export { parse, safetyOf, snapshot, type DockerSource, type SnapshotOptions } from "./snapshot/take.ts"
export { diff, type Change, type ChangeKind, type DiffOptions, type Drift, type Finding, type FindingKind } from "./diff/diff.ts"
export { changeKinds, findingKinds, violations, type Rule, type Violation } from "./diff/rules.ts"
export { checkEngineEgress, dockerAssets, ownerLabelKeys, type DockerSourceOptions, type PackageReader } from "./sources/docker.ts"
export { defaultPorts, endpointAssets, endpointId, parseTarget, planEndpoints, type EndpointSourceOptions, type EndpointSpec, type Planned, type Safety } from "./sources/endpoints.ts"
export { scan, type PortState, type ScanOptions, type ScanTarget } from "./sources/scan.ts"
export { fromConfig, take, track, trackPromise, type Tracked } from "./track.ts"
export type { InventoryDocker, InventoryEndpoint, InventorySettings } from "./settings.ts"
export * as Misconfig from "../misconfig/index.ts"
