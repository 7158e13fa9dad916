/**
 * Drift between two snapshots, as a value: the `changes` from the old one to the new one (each
 * naming its asset and what moved, nothing reported that did not change), the `findings` the new
 * one raises by itself (certificates expiring within the window, aging images, containers not
 * restarted for long, orphans without an owner), and the `violations` of the "must not happen"
 * rules among both. Pure: ages are measured at the new snapshot's `takenAt`.
 */
import type { Environment } from "../../Target.ts"
import type { Asset, ContainerAsset, EndpointAsset, Package, Snapshot } from "../snapshot/model.ts"
import { violations, type Rule, type Violation } from "./rules.ts"

export type ChangeKind =
  | "asset-added"
  | "asset-removed"
  | "port-opened"
  | "port-closed"
  | "image-changed"
  | "package-changed"
  | "classification-changed"
  | "owner-changed"
  | "labels-changed"
  | "state-changed"
  | "restarted"
  | "recreated"
  | "privileges-changed"
  | "mounts-changed"
  | "networks-changed"
  | "restart-policy-changed"
  | "healthcheck-changed"
  | "fingerprint-changed"
  | "certificate-changed"
  | "tls-changed"
  | "http-changed"

export type FindingKind = "certificate-expired" | "certificate-expiring" | "image-aging" | "not-restarted" | "orphan"

export interface Change {
  readonly type: "change"
  readonly kind: ChangeKind
  readonly asset: string
  /** The asset's environment in the new snapshot (the old one for a removed asset). */
  readonly environment: Environment
  /** One line a person reads: what it was, what it is. */
  readonly detail: string
}

export interface Finding {
  readonly type: "finding"
  readonly kind: FindingKind
  readonly asset: string
  readonly environment: Environment
  readonly detail: string
}

export interface DiffOptions {
  /** Certificates expiring within this many days are findings; default 30. */
  readonly certificateWindowDays?: number
  /** Images built longer ago than this are aging; default 90 days. */
  readonly imageMaxAgeDays?: number
  /** Running containers not (re)started for longer than this; default 30 days. */
  readonly restartMaxAgeDays?: number
  /** "Must not happen" rules over changes and findings. */
  readonly rules?: ReadonlyArray<Rule>
}

export interface Drift {
  readonly schema: "shiftup.inventory-diff/v1"
  readonly from: string
  readonly to: string
  readonly changes: ReadonlyArray<Change>
  readonly findings: ReadonlyArray<Finding>
  readonly violations: ReadonlyArray<Violation>
}

const day = 86_400_000

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)
const list = (xs: ReadonlyArray<string>) => (xs.length === 0 ? "none" : xs.join(", "))

const publishedKeys = (a: ContainerAsset) => a.ports.published.map((p) => `${p.hostIp === "" ? "*" : p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`)

const pkgKey = (p: Package) => `${p.ecosystem} ${p.name} (${p.path})`

const packageChanges = (before: ReadonlyArray<Package> | undefined, after: ReadonlyArray<Package> | undefined): ReadonlyArray<string> => {
  if (before === undefined || after === undefined) return []
  const old = new Map(before.map((p) => [pkgKey(p), p.version]))
  const now = new Map(after.map((p) => [pkgKey(p), p.version]))
  const out: Array<string> = []
  for (const [k, v] of now) {
    const was = old.get(k)
    if (was === undefined) out.push(`${k} ${v} added`)
    else if (was !== v) out.push(`${k} ${was} → ${v}`)
  }
  for (const [k, v] of old) if (!now.has(k)) out.push(`${k} ${v} removed`)
  return out.sort()
}

const labelChanges = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const [k, v] of Object.entries(b)) if (!(k in a)) out.push(`+${k}=${v}`)
  else if (a[k] !== v) out.push(`${k}: ${a[k]} → ${v}`)
  for (const [k, v] of Object.entries(a)) if (!(k in b)) out.push(`-${k}=${v}`)
  return out.sort()
}

const privilegeLine = (a: ContainerAsset) => {
  const p = a.privileges
  const flags = [p.privileged && "privileged", p.hostNetwork && "host network", p.hostPid && "host pid", p.hostIpc && "host ipc", p.hostUts && "host uts", p.hostUserns === true && "host userns", p.readonlyRootfs && "read-only root"].filter((x): x is string => typeof x === "string")
  return `user ${p.user === "" ? "(image default)" : p.user}; cap-add ${list(p.capAdd)}; cap-drop ${list(p.capDrop)}${flags.length === 0 ? "" : `; ${flags.join(", ")}`}`
}

const mountLine = (a: ContainerAsset) => list(a.mounts.map((m) => `${m.type} ${m.name ?? m.source} → ${m.destination}${m.readWrite ? "" : " (ro)"}${m.propagation === undefined ? "" : ` (${m.propagation})`}`))

const classificationLine = (a: Asset) => `${a.classification.environment}${a.classification.dataStore ? `, data store${a.classification.engine === undefined ? "" : ` (${a.classification.engine})`}` : ""}`

const containerChanges = (a: ContainerAsset, b: ContainerAsset, change: (kind: ChangeKind, detail: string) => void) => {
  if (a.containerId !== b.containerId) change("recreated", `container ${a.containerId.slice(0, 12)} → ${b.containerId.slice(0, 12)}`)
  else if (a.state.startedAt !== b.state.startedAt && b.state.startedAt !== "" && !b.state.startedAt.startsWith("0001-"))
    change("restarted", `started ${a.state.startedAt} → ${b.state.startedAt}${b.state.restartCount === a.state.restartCount ? "" : ` (restart count ${a.state.restartCount} → ${b.state.restartCount})`}`)
  if (a.image.id !== b.image.id || a.image.ref !== b.image.ref) change("image-changed", `${a.image.ref} (${a.image.id.slice(7, 19)}) → ${b.image.ref} (${b.image.id.slice(7, 19)})`)
  for (const p of packageChanges(a.packages, b.packages)) change("package-changed", p)
  const labels = labelChanges(a.labels, b.labels)
  if (labels.length > 0) change("labels-changed", labels.join("; "))
  if (a.state.status !== b.state.status || a.state.health !== b.state.health)
    change("state-changed", [a.state.status !== b.state.status && `${a.state.status} → ${b.state.status}`, a.state.health !== b.state.health && `health ${a.state.health} → ${b.state.health}`].filter(Boolean).join("; "))
  const before = new Set(publishedKeys(a))
  const after = new Set(publishedKeys(b))
  for (const k of after) if (!before.has(k)) change("port-opened", `published ${k}`)
  for (const k of before) if (!after.has(k)) change("port-closed", `no longer published ${k}`)
  // A snapshot from before `hostUserns` was read compares as not sharing it: no drift from the upgrade alone.
  if (!same({ ...a.privileges, hostUserns: a.privileges.hostUserns ?? false }, { ...b.privileges, hostUserns: b.privileges.hostUserns ?? false })) change("privileges-changed", `${privilegeLine(a)} → ${privilegeLine(b)}`)
  if (!same(a.mounts, b.mounts)) change("mounts-changed", `${mountLine(a)} → ${mountLine(b)}`)
  const nets = (x: ContainerAsset) => `${x.networkMode}: ${list(x.networks.map((n) => n.name))}`
  if (nets(a) !== nets(b)) change("networks-changed", `${nets(a)} → ${nets(b)}`)
  if (a.restartPolicy !== b.restartPolicy) change("restart-policy-changed", `${a.restartPolicy} → ${b.restartPolicy}`)
  if (!same(a.healthcheck, b.healthcheck)) change("healthcheck-changed", `${a.healthcheck?.join(" ") ?? "none"} → ${b.healthcheck?.join(" ") ?? "none"}`)
}

const endpointChanges = (a: EndpointAsset, b: EndpointAsset, change: (kind: ChangeKind, detail: string) => void) => {
  if (a.fingerprint.engine !== b.fingerprint.engine) change("fingerprint-changed", `${a.fingerprint.engine ?? "no data store"} → ${b.fingerprint.engine ?? "no data store"} (${b.fingerprint.evidence})`)
  const ca = a.tls?.certificate ?? null
  const cb = b.tls?.certificate ?? null
  if (ca?.sha256 !== cb?.sha256) change("certificate-changed", `${ca === null ? "none" : `${ca.subject} until ${ca.notAfter}`} → ${cb === null ? "none" : `${cb.subject} until ${cb.notAfter}`}`)
  if (a.tls?.protocol !== b.tls?.protocol) change("tls-changed", `${a.tls?.protocol ?? "no TLS"} → ${b.tls?.protocol ?? "no TLS"}`)
  const h = (x: EndpointAsset) => (x.http === null ? "no HTTP" : `${x.http.status}, Server: ${x.http.server || "(none)"}${x.http.redirect === null ? "" : `, to ${x.http.redirect}`}, missing ${list(x.http.missing)}`)
  if (h(a) !== h(b)) change("http-changed", `${h(a)} → ${h(b)}`)
}

const findingsOf = (s: Snapshot, o: DiffOptions): ReadonlyArray<Finding> => {
  const now = Date.parse(s.takenAt)
  const out: Array<Finding> = []
  const window = o.certificateWindowDays ?? 30
  const imageDays = o.imageMaxAgeDays ?? 90
  const restartDays = o.restartMaxAgeDays ?? 30
  for (const a of s.assets) {
    const finding = (kind: FindingKind, detail: string) => out.push({ type: "finding", kind, asset: a.id, environment: a.classification.environment, detail })
    if (a.owner === null) finding("orphan", `no owner signal (${a.kind === "container" ? "no owner, team or maintainer label on the container or its image" : "no owner in the endpoint's configuration"})`)
    if (a.kind === "endpoint") {
      const c = a.tls?.certificate
      if (c === undefined || c === null) continue
      const left = (Date.parse(c.notAfter) - now) / day
      if (left < 0) finding("certificate-expired", `${c.subject} expired ${c.notAfter} (${Math.ceil(-left)} day(s) ago)`)
      else if (left < window) finding("certificate-expiring", `${c.subject} expires ${c.notAfter}: ${Math.floor(left)} day(s) left (window ${window})`)
      continue
    }
    const built = Date.parse(a.image.created)
    if (Number.isFinite(built) && (now - built) / day > imageDays) finding("image-aging", `image ${a.image.ref} built ${a.image.created}, ${Math.floor((now - built) / day)} days ago (limit ${imageDays})`)
    const started = Date.parse(a.state.startedAt)
    if (a.state.status === "running" && Number.isFinite(started) && (now - started) / day > restartDays)
      finding("not-restarted", `running since ${a.state.startedAt}, ${Math.floor((now - started) / day)} days (limit ${restartDays})`)
  }
  return out
}

/**
 * What changed from `before` to `after`, what `after` raises by itself, and which rules that breaks.
 *
 * @example
 * const drift = Inventory.diff(yesterday, today, { rules: [{ name: "no new port in production", kinds: ["port-opened"], environments: ["production", "unknown"] }] })
 * if (drift.violations.length > 0) process.exitCode = 1
 */
export const diff = (before: Snapshot, after: Snapshot, options: DiffOptions = {}): Drift => {
  const changes: Array<Change> = []
  const old = new Map(before.assets.map((a) => [a.id, a]))
  const now = new Map(after.assets.map((a) => [a.id, a]))
  for (const b of after.assets) {
    const change = (kind: ChangeKind, detail: string) => changes.push({ type: "change", kind, asset: b.id, environment: b.classification.environment, detail })
    const a = old.get(b.id)
    if (a === undefined) {
      if (b.kind === "endpoint") change("port-opened", `${b.host}:${b.port} answers${b.fingerprint.engine === null ? "" : ` (${b.fingerprint.engine})`}`)
      else change("asset-added", `${b.name}: ${b.image.ref}, ${b.state.status}`)
      continue
    }
    if (classificationLine(a) !== classificationLine(b)) change("classification-changed", `${classificationLine(a)} → ${classificationLine(b)} (${b.classification.signals[0] ?? "no signal"})`)
    if (a.owner?.value !== b.owner?.value) change("owner-changed", `${a.owner?.value ?? "none"} → ${b.owner?.value ?? "none"}`)
    if (a.kind === "container" && b.kind === "container") containerChanges(a, b, change)
    else if (a.kind === "endpoint" && b.kind === "endpoint") endpointChanges(a, b, change)
  }
  for (const a of before.assets)
    if (!now.has(a.id))
      changes.push({
        type: "change",
        kind: a.kind === "endpoint" ? "port-closed" : "asset-removed",
        asset: a.id,
        environment: a.classification.environment,
        detail: a.kind === "endpoint" ? `${a.host}:${a.port} no longer answers` : `${a.name} (${a.image.ref}) is gone`,
      })
  const findings = findingsOf(after, options)
  return { schema: "shiftup.inventory-diff/v1", from: before.takenAt, to: after.takenAt, changes, findings, violations: violations([...changes, ...findings], options.rules ?? []) }
}
