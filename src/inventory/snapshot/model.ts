/**
 * The inventory snapshot `shiftup.inventory/v1`, as data: what each source saw, one asset per
 * thing owned, under an id that stays the same from one snapshot to the next (so two snapshots
 * can be compared) and never holds a time. Times are facts (`created`, `startedAt`, `notAfter`):
 * ages are computed by `diff` against the snapshot's `takenAt`, so a snapshot never goes stale
 * by itself. Types only; docs/inventory.md documents every field.
 */
import type { Environment } from "../../Target.ts"

export const schema = "shiftup.inventory/v1"

/** One installed package, filled by a package reader (`SnapshotOptions.packages`). */
export interface Package {
  /** OSV ecosystem: `npm`, `Debian`, `Alpine`, `PyPI`… */
  readonly ecosystem: string
  readonly name: string
  readonly version: string
  /** Where it was read, e.g. `var/lib/dpkg/status` or `app/package-lock.json`. */
  readonly path: string
}

/** Environment and data-store classification of an asset, as the core's classifier gives it. */
export interface AssetClassification {
  readonly environment: Environment
  /** What the safety floor applies: `unknown` counts as `production`. */
  readonly effective: Exclude<Environment, "unknown">
  /** `source key=value → means`, the decisive ones first. */
  readonly signals: ReadonlyArray<string>
  readonly dataStore: boolean
  readonly engine?: string
}

/** Who owns an asset, and where that was read; `null` on the asset when nothing says (an orphan). */
export interface Owner {
  readonly value: string
  /** `label owner`, `image label org.opencontainers.image.authors`, `config`… */
  readonly source: string
}

export interface ContainerAsset {
  /** `docker:<engine name>/<container name>`. */
  readonly id: string
  readonly kind: "container"
  readonly engine: string
  readonly name: string
  readonly containerId: string
  readonly created: string
  readonly image: {
    /** As the container was created from it: `shiftup-lab/busybox:latest`. */
    readonly ref: string
    readonly id: string
    readonly tags: ReadonlyArray<string>
    readonly digests: ReadonlyArray<string>
    /** When the image was built (ISO 8601); `""` when the engine no longer has it. */
    readonly created: string
  }
  readonly labels: Readonly<Record<string, string>>
  readonly owner: Owner | null
  readonly classification: AssetClassification
  readonly state: {
    readonly status: string
    readonly startedAt: string
    readonly finishedAt: string
    readonly restartCount: number
    /** `healthy`, `unhealthy`, `starting`, or `none`. */
    readonly health: string
  }
  readonly ports: {
    /** Container side, `80/tcp`. */
    readonly exposed: ReadonlyArray<number>
    readonly published: ReadonlyArray<{ readonly containerPort: number; readonly protocol: string; readonly hostIp: string; readonly hostPort: number }>
    /** The bindings it publishes whenever it runs (`HostConfig.PortBindings`; `hostPort` 0: the engine picks). Absent in older snapshots. */
    readonly configured?: ReadonlyArray<{ readonly containerPort: number; readonly protocol: string; readonly hostIp: string; readonly hostPort: number }>
  }
  readonly networkMode: string
  readonly networks: ReadonlyArray<{ readonly name: string; readonly ipv4: string; readonly aliases: ReadonlyArray<string> }>
  /** `propagation` only when not private (the default): `shared`, `rshared`, `slave`, `rslave`. */
  readonly mounts: ReadonlyArray<{ readonly type: string; readonly source: string; readonly destination: string; readonly name?: string; readonly readWrite: boolean; readonly propagation?: string }>
  readonly privileges: {
    /** `""` means the image's default user (usually root). */
    readonly user: string
    readonly privileged: boolean
    readonly capAdd: ReadonlyArray<string>
    readonly capDrop: ReadonlyArray<string>
    readonly hostNetwork: boolean
    readonly hostPid: boolean
    readonly hostIpc: boolean
    readonly hostUts: boolean
    /** `--userns host` (absent in snapshots taken before it was read). */
    readonly hostUserns?: boolean
    readonly readonlyRootfs: boolean
    readonly securityOpt: ReadonlyArray<string>
  }
  readonly restartPolicy: string
  /** Retries of an `on-failure` policy, 0 = no limit (absent in snapshots taken before it was read). */
  readonly restartMaxRetries?: number
  readonly healthcheck: ReadonlyArray<string> | null
  /**
   * The file name of the program the container starts (`sshd` for `/usr/sbin/sshd -D`): the first
   * word of entrypoint + command, without its directory and without any argument (arguments may
   * hold secrets, so they are never stored). Absent in older snapshots.
   */
  readonly program?: string
  /** Host devices passed in with `--device` (absent in older snapshots). */
  readonly devices?: ReadonlyArray<{ readonly host: string; readonly container: string; readonly permissions: string }>
  /** Per-container `--ulimit`s; empty: the daemon's defaults (absent in older snapshots). */
  readonly ulimits?: ReadonlyArray<{ readonly name: string; readonly soft: number; readonly hard: number }>
  /** `--cgroup-parent`; `""`: the engine's own (absent in older snapshots). */
  readonly cgroupParent?: string
  /** `HostConfig` limits, 0 = none (absent in snapshots taken before they were read). */
  readonly limits?: { readonly memory: number; readonly nanoCpus: number; readonly cpuQuota: number; readonly cpuShares: number; readonly pidsLimit: number }
  /**
   * The environment's variable NAMES with what was judged of each value when it was read; the
   * values themselves are never stored (absent in snapshots taken before they were read).
   */
  readonly env?: ReadonlyArray<EnvVar>
  /** Installed software, when a package reader was given; absent otherwise. */
  readonly packages?: ReadonlyArray<Package>
}

/** One environment variable of a container, without its value. */
export interface EnvVar {
  readonly name: string
  /** The name says it holds a secret (`PASSWORD`, `TOKEN`, `API_KEY`…). */
  readonly secretName: boolean
  /** The value looked random (Shannon entropy ≥ 3.5 bits per character over ≥ 16 characters, no spaces or slashes). */
  readonly highEntropy: boolean
  readonly empty: boolean
}

export interface Certificate {
  readonly subject: string
  readonly altNames: ReadonlyArray<string>
  readonly issuer: string
  readonly notBefore: string
  readonly notAfter: string
  /** `rsa`, `ec`, `ed25519`… */
  readonly keyType: string
  /** RSA modulus bits, or the curve's size for EC keys. */
  readonly keyBits: number | null
  readonly selfSigned: boolean
  readonly sha256: string
}

export interface TlsFacts {
  /** Negotiated by a default handshake (certificate not verified), e.g. `TLSv1.3`. */
  readonly protocol: string
  readonly cipher: string
  readonly certificate: Certificate | null
}

export interface HttpFacts {
  readonly status: number
  /** The `Server` header, `""` when absent. */
  readonly server: string
  /** The `Location` of a redirect, `null` otherwise. */
  readonly redirect: string | null
  /** The security headers present, lower-case name → value. */
  readonly securityHeaders: Readonly<Record<string, string>>
  /** Rule ids of shiftup/http's header checks the answer fails (`headers.csp-missing`…). */
  readonly missing: ReadonlyArray<string>
}

export interface EndpointAsset {
  /** `tcp:<host>:<port>` (`tcp:[::1]:443` for IPv6). */
  readonly id: string
  readonly kind: "endpoint"
  /** As listed (a name stays a name). */
  readonly host: string
  /** The address connected to, checked against the egress allowlist. */
  readonly address: string
  readonly port: number
  /** The protocol fingerprint's verdict: the data store engine, or `null` with its evidence. */
  readonly fingerprint: { readonly engine: string | null; readonly evidence: string }
  readonly classification: AssetClassification
  readonly owner: Owner | null
  readonly tls: TlsFacts | null
  readonly http: HttpFacts | null
  /**
   * A Redis that answered PING without credentials: its `protected-mode` and `bind` as `CONFIG GET`
   * gives them, or why they could not be read. Absent for every other endpoint.
   */
  readonly redis?: { readonly protectedMode: string; readonly bind: string } | { readonly error: string }
  /** The rule that kept TLS and HTTP facts from being read (a production data store), if any. */
  readonly skipped?: string
}

export type Asset = ContainerAsset | EndpointAsset

export interface SourceReport {
  readonly kind: "docker" | "endpoints"
  /** The engine's name and address, or the endpoint list as given. */
  readonly name: string
  readonly address?: string
  readonly assets: number
  readonly ms: number
  /** Docker: containers inspected now (the others were unchanged since `previous`). */
  readonly inspected?: number
  /** Endpoints: connections tried by the scan. */
  readonly probed?: number
  /** Docker incremental mode: the time (seconds since the epoch, fractional) up to which engine events were read. */
  readonly eventsUntil?: number
}

export interface Snapshot {
  readonly schema: typeof schema
  readonly shiftup: string
  readonly takenAt: string
  readonly sources: ReadonlyArray<SourceReport>
  /** Sorted by id. */
  readonly assets: ReadonlyArray<Asset>
}
