/**
 * The network-endpoint source of the inventory: `host:port`, hosts and CIDRs, each planned before
 * any packet (invariant 1): every address is checked against the egress allowlist (a CIDR with
 * one address outside it is refused whole, naming it), and every endpoint against the safety
 * floor as an `observe` step — an unknown environment is production and needs the observe
 * opt-in. Then a TCP connect scan of the chosen ports, paced per host by the probe rate of its
 * environment; on each open port the core's protocol fingerprint (the handshake planning uses),
 * and — unless the fingerprint found a production data store, which the floor refuses for every
 * step — TLS facts and one `GET /` for HTTP facts, through shiftup/http's client; of a Redis that
 * answered without credentials, its protected mode and bind (`redis-exposure.ts`).
 */
import { X509Certificate } from "node:crypto"
import { isIP } from "node:net"
import * as tls from "node:tls"
import { Effect } from "effect"
import type { ProbeRates } from "../../Budget.ts"
import { evaluate as headerFindings } from "../../http/probes/headers.ts"
import * as Http from "../../Http.ts"
import { hints } from "../../internal/discover.ts"
import { checkEgress, type Egress } from "../../internal/egress.ts"
import { classifyMember, dataStorePorts, type Exception } from "../../internal/classify.ts"
import { fingerprint } from "../../internal/fingerprint.ts"
import { closeRun, request } from "../../internal/http.ts"
import { completed, dn, handshake } from "../../internal/tls-handshake.ts"
import { decide, type PolicySettings } from "../../Policy.ts"
import { correlationHeaders, makeStore, pacer, RunContext, type ProbeBudget } from "../../RunContext.ts"
import { EgressDenied, InvalidArguments, type ShiftupError, TargetRefused } from "../../ShiftupError.ts"
import * as Target from "../../Target.ts"
import type { Environment } from "../../Target.ts"
import { version } from "../../version.ts"
import type { Certificate, EndpointAsset, HttpFacts, SourceReport, TlsFacts } from "../snapshot/model.ts"
import { summarise } from "./classification.ts"
import { answersWithoutAuth, redisExposure } from "./redis-exposure.ts"
import { scan } from "./scan.ts"

export interface EndpointSpec {
  /** `host:port`, `[v6]:port`, a host (its `ports` are scanned) or an IPv4 CIDR (`10.0.3.0/28`). */
  readonly target: string
  /** Ports of a host or CIDR; default the source's `ports`. */
  readonly ports?: ReadonlyArray<number>
  /** The environment you know it is in: one classification signal among the others. */
  readonly environment?: Environment
  readonly dataStore?: boolean | string
  readonly owner?: string
  readonly labels?: Readonly<Record<string, string>>
}

export interface EndpointSourceOptions {
  readonly endpoints: ReadonlyArray<string | EndpointSpec>
  /** Ports scanned on a host or CIDR without its own list; default `defaultPorts`. */
  readonly ports?: ReadonlyArray<number>
  /** Connections in flight at once (scan and facts); default 100. */
  readonly concurrency?: number
  /** Connect deadline of the scan; default 1000 ms. */
  readonly timeoutMs?: number
  /** Deadline of one endpoint's fingerprint; default 1500 ms. */
  readonly fingerprintTimeoutMs?: number
  /** Read TLS and HTTP facts of open ports; default true. */
  readonly facts?: boolean
  /** Refuse a CIDR larger than this many addresses; default 65,536. */
  readonly maxAddresses?: number
  readonly exceptions?: ReadonlyArray<Exception>
}

/** What the safety floor needs to plan the scan: the allowlist, the opt-in, the config's policy and rates. */
export interface Safety {
  readonly egress: Egress
  /** The explicit opt-in to observing production (an unknown environment counts as production). */
  readonly observeProduction: boolean
  readonly policy: PolicySettings
  readonly probeRates: ProbeRates
  /** Correlation id every HTTP request carries. */
  readonly runId: string
  /** Shared with other scans and runs (a watcher's jobs): probes also take their slot there, by host. */
  readonly probeBudget?: ProbeBudget
}

export const defaultPorts: ReadonlyArray<number> = [22, 25, 80, 443, 1433, 2379, 3000, 3306, 5432, 5672, 6379, 8000, 8080, 8443, 9000, 9092, 9200, 11211, 27017]

/** One host:port the plan accepted. */
export interface Planned {
  readonly id: string
  readonly host: string
  readonly address: string
  readonly port: number
  readonly spec: EndpointSpec
  readonly rate: number | null
}

const invalid = (detail: string) => new InvalidArguments({ detail })

const parsePort = (raw: string, entry: string): number => {
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`endpoint "${entry}": port must be 1–65535, got "${raw}"`)
  return port
}

/** Host and explicit port of an entry (`undefined`: the host's port list). */
export const parseTarget = (entry: string): { readonly host: string; readonly port?: number; readonly cidr?: { readonly base: string; readonly bits: number } } => {
  const s = entry.trim()
  if (s.includes("/")) {
    const [base = "", bits = ""] = s.split("/")
    const n = Number(bits)
    if (isIP(base) !== 4 || !Number.isInteger(n) || n < 0 || n > 32) throw invalid(`endpoint "${entry}": a CIDR must be IPv4, like 10.0.3.0/28`)
    return { host: s, cidr: { base, bits: n } }
  }
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s)
  if (v6 !== null) return { host: v6[1] as string, ...(v6[2] === undefined ? {} : { port: parsePort(v6[2], entry) }) }
  if (isIP(s) === 6) return { host: s }
  const colon = s.lastIndexOf(":")
  if (colon < 0) return { host: s }
  return { host: s.slice(0, colon), port: parsePort(s.slice(colon + 1), entry) }
}

const ipv4ToInt = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0)
const intToIpv4 = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".")

/** The stable id of an endpoint asset. */
export const endpointId = (host: string, port: number) => `tcp:${isIP(host) === 6 ? `[${host}]` : host}:${port}`

const classificationOf = (spec: EndpointSpec, host: string, port: number, engine: string | undefined, exceptions: ReadonlyArray<Exception>) => {
  const id = endpointId(host, port)
  const target = Target.make(id, { kind: "tcp", ...(spec.environment === undefined ? {} : { environment: spec.environment }), ...(spec.dataStore === undefined ? {} : { dataStore: spec.dataStore }), labels: spec.labels ?? {} })
  return classifyMember(target, { id, ...(isIP(host) === 0 ? { name: host } : {}), labels: spec.labels ?? {}, ports: [port], ...(engine === undefined ? {} : { fingerprint: engine }) }, exceptions)
}

const rateOf = (rates: ProbeRates, effective: Exclude<Environment, "unknown">): number | null => rates[effective]

/**
 * Plans the scan without sending a packet (DNS lookups of names aside): every address checked
 * against the allowlist, every endpoint against the floor. The first refusal fails the plan.
 */
export const planEndpoints = (options: EndpointSourceOptions, safety: Safety): Effect.Effect<ReadonlyArray<Planned>, ShiftupError> =>
  Effect.gen(function* () {
    const planned: Array<Planned> = []
    const max = options.maxAddresses ?? 65_536
    for (const raw of options.endpoints) {
      const spec: EndpointSpec = typeof raw === "string" ? { target: raw } : raw
      const parsed = yield* Effect.try({ try: () => parseTarget(spec.target), catch: (e) => e as ShiftupError })
      const ports = parsed.port === undefined ? (spec.ports ?? options.ports ?? defaultPorts) : [parsed.port]
      for (const p of ports) if (!Number.isInteger(p) || p < 1 || p > 65535) return yield* Effect.fail(invalid(`endpoint "${spec.target}": port must be 1–65535, got ${p}`))
      let hosts: ReadonlyArray<{ readonly host: string; readonly address: string }>
      if (parsed.cidr !== undefined) {
        const size = 2 ** (32 - parsed.cidr.bits)
        if (size > max) return yield* Effect.fail(invalid(`endpoint "${spec.target}" has ${size} addresses, more than maxAddresses (${max}); split it or raise the limit`))
        const first = Math.floor(ipv4ToInt(parsed.cidr.base) / size) * size
        const addresses = Array.from({ length: size }, (_, i) => intToIpv4(first + i))
        // Refused whole, naming the CIDR, when any one of its addresses is outside the allowlist.
        const outside = addresses.find((a) => !safety.egress.list.check(a, "ipv4"))
        if (outside !== undefined) return yield* Effect.fail(new EgressDenied({ host: spec.target, address: outside, allowed: safety.egress.allowed, setting: "inventory.egress" }))
        hosts = addresses.map((a) => ({ host: a, address: a }))
      } else {
        const checked = yield* checkEgress(safety.egress, parsed.host).pipe(Effect.mapError((e) => (e._tag === "EgressDenied" ? new EgressDenied({ ...e, setting: "inventory.egress" }) : e)))
        hosts = [{ host: parsed.host, address: checked.address }]
      }
      for (const { host, address } of hosts)
        for (const port of ports) {
          const c = classificationOf(spec, host, port, undefined, options.exceptions ?? [])
          const id = endpointId(host, port)
          const d = decide({ step: "inventory", target: id, safety: "observe", classification: c, experiment: { observeProduction: safety.observeProduction }, config: safety.policy })
          if (!d.allowed) return yield* Effect.fail(new TargetRefused({ target: id, step: "inventory", rule: d.rule, detail: d.reason.replace("`observeProduction: true` in the experiment", "the observe opt-in (`observeProduction: true` in the inventory's options, `--observe-production`)") }))
          planned.push({ id, host, address, port, spec, rate: rateOf(safety.probeRates, c.effective) })
        }
    }
    const seen = new Set<string>()
    return planned.filter((p) => (seen.has(p.id) ? false : (seen.add(p.id), true)))
  })

const curveBits: Readonly<Record<string, number>> = { prime256v1: 256, secp384r1: 384, secp521r1: 521, secp256k1: 256 }

const certificateOf = (cert: tls.PeerCertificate): Certificate => {
  const x = new X509Certificate(cert.raw)
  const key = x.publicKey
  const details = key.asymmetricKeyDetails
  return {
    subject: dn(cert.subject),
    altNames: (cert.subjectaltname ?? "").split(",").map((s) => s.trim()).filter((s) => s !== ""),
    issuer: dn(cert.issuer),
    notBefore: new Date(x.validFrom).toISOString(),
    notAfter: new Date(x.validTo).toISOString(),
    keyType: key.asymmetricKeyType ?? "unknown",
    keyBits: details?.modulusLength ?? (details?.namedCurve === undefined ? null : (curveBits[details.namedCurve] ?? null)),
    selfSigned: x.checkIssued(x),
    sha256: x.fingerprint256,
  }
}

const tlsFacts = async (p: Planned, timeoutMs: number): Promise<TlsFacts | null> => {
  const servername = isIP(p.host) === 0 ? p.host : undefined
  const h = await handshake(p.address, p.port, servername, undefined, {}, timeoutMs, new AbortController().signal)
  if (!completed(h)) return null
  return { protocol: h.protocol ?? "", cipher: h.cipher ?? "", certificate: h.cert === null ? null : certificateOf(h.cert) }
}

const securityHeaderNames = ["strict-transport-security", "content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy"]

const httpFacts = (p: Planned, secure: boolean): Effect.Effect<HttpFacts | null> => {
  const url = `${secure ? "https" : "http"}://${isIP(p.host) === 6 ? `[${p.host}]` : p.host}:${p.port}`
  const target = Http.target(endpointId(p.host, p.port), { url, environment: p.spec.environment ?? "unknown", tls: { rejectUnauthorized: false } })
  return request(target, { path: "/", timeoutMs: 3000, maxBody: 1024 }, "inventory http").pipe(
    Effect.map((r): HttpFacts => {
      const securityHeaders = Object.fromEntries(securityHeaderNames.filter((k) => r.headers[k] !== undefined).map((k) => [k, r.headers[k] as string]))
      const missing = headerFindings({ status: r.status, tls: secure, headers: securityHeaders, cookies: [] }).map((f) => f.id)
      return { status: r.status, server: r.headers["server"] ?? "", redirect: r.status >= 300 && r.status < 400 ? (r.headers["location"] ?? null) : null, securityHeaders, missing: [...new Set(missing)] }
    }),
    // An endpoint that does not answer HTTP has no HTTP facts; that is a fact, not an error.
    Effect.catch(() => Effect.succeed(null)),
  )
}

const webServer = /web server|answered in HTTP/

/** Scans and reads the facts of planned endpoints. */
export const endpointAssets = (options: EndpointSourceOptions, safety: Safety, plan?: ReadonlyArray<Planned>): Effect.Effect<{ readonly assets: ReadonlyArray<EndpointAsset>; readonly report: SourceReport }, ShiftupError> =>
  Effect.gen(function* () {
    const started = performance.now()
    const planned = plan ?? (yield* planEndpoints(options, safety))
    const rates = new Map(planned.map((p) => [p.host, p.rate ?? Infinity]))
    const pace = pacer((host) => rates.get(host) ?? Infinity, safety.probeBudget === undefined ? undefined : { budget: safety.probeBudget, keyOf: (host) => host })
    const run: RunContext = { runId: safety.runId, headers: correlationHeaders(safety.runId), egress: safety.egress, ...pace, store: makeStore() }
    const concurrency = options.concurrency ?? 100
    const states = yield* Effect.promise((signal) => scan(planned.map((p) => ({ address: p.address, port: p.port, pace: p.host })), { concurrency, timeoutMs: options.timeoutMs ?? 1000, reserve: pace.reserve, signal }))
    const open = planned.filter((_, i) => states[i] === "open")
    const withFacts = options.facts !== false
    const assets = yield* Effect.forEach(
      open,
      (p) =>
        Effect.gen(function* () {
          const hint = hints[dataStorePorts[p.port] ?? ""]
          yield* run.throttle(p.host)
          const fp = yield* Effect.promise((signal) => fingerprint(p.address, p.port, { timeoutMs: options.fingerprintTimeoutMs ?? 1500, userAgent: run.headers["user-agent"] ?? `shiftup/${version}`, signal, ...(hint === undefined ? {} : { hint }) }))
          const c = classificationOf(p.spec, p.host, p.port, fp.engine, options.exceptions ?? [])
          const d = decide({ step: "inventory facts", target: p.id, safety: "observe", classification: c, experiment: { observeProduction: safety.observeProduction }, config: safety.policy })
          const classification = summarise(c)
          const read = withFacts && d.allowed && fp.engine === undefined
          let tlsSeen: TlsFacts | null = null
          if (read) {
            yield* run.throttle(p.host)
            tlsSeen = yield* Effect.promise(() => tlsFacts(p, 3000))
          }
          const http = read && (tlsSeen !== null || webServer.test(fp.evidence)) ? yield* Effect.andThen(run.throttle(p.host), httpFacts(p, tlsSeen !== null)) : null
          // A Redis that let us in without credentials: what it says about letting others in.
          const redis = withFacts && d.allowed && fp.engine === "redis" && answersWithoutAuth(fp.evidence) ? yield* Effect.andThen(run.throttle(p.host), Effect.promise(() => redisExposure(p.address, p.port, 1500))) : undefined
          const asset: EndpointAsset = {
            id: p.id,
            kind: "endpoint",
            host: p.host,
            address: p.address,
            port: p.port,
            fingerprint: { engine: fp.engine ?? null, evidence: fp.evidence },
            classification,
            owner: p.spec.owner === undefined ? null : { value: p.spec.owner, source: "config" },
            tls: tlsSeen,
            http,
            ...(redis === undefined ? {} : { redis }),
            ...(withFacts && !d.allowed ? { skipped: d.rule } : {}),
          }
          return asset
        }),
      { concurrency: Math.min(concurrency, 16) },
    ).pipe(Effect.provideService(RunContext, run), Effect.ensuring(Effect.promise(() => closeRun(run))))
    const report: SourceReport = {
      kind: "endpoints",
      name: options.endpoints.map((e) => (typeof e === "string" ? e : e.target)).join(","),
      assets: assets.length,
      ms: Math.round(performance.now() - started),
      probed: planned.length,
    }
    return { assets: [...assets].sort((a, b) => a.id.localeCompare(b.id)), report }
  })
