/**
 * The TCP fault proxy as a target: it listens on loopback and forwards opaque bytes (TLS
 * included) to an upstream. Its environment, data store classification, labels and owner are
 * those of the upstream it fronts — the proxy's members are the upstream's members — so a proxy
 * in front of a production data store is refused exactly like the store. The upstream must pass
 * the egress allowlist before the proxy connects to it.
 */
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import { RunContext } from "../RunContext.ts"
import { checkEgress, defaultEgress, makeEgress, type Egress } from "../internal/egress.ts"
import { describeUnknown, fail, InjectionFailed, type ShiftupError } from "../ShiftupError.ts"
import { sealResource } from "../internal/capability.ts"
import * as Resource from "../Resource.ts"
import * as Target from "../Target.ts"
import { makeEngine, type Engine, type Upstream } from "./internal/engine.ts"

export interface ProxyOptions {
  /** Target id of the proxy; default `<upstream id>-proxy`. */
  readonly id?: string
  /** Port to listen on (`0`: a free port, the default) — always on `host`. */
  readonly listen?: number
  /** Loopback address to listen on; default `127.0.0.1`. */
  readonly host?: "127.0.0.1" | "::1" | "localhost"
  /**
   * What the proxy fronts: a target with a `url` (an `Http.target`), any target plus `port`, or
   * `"host:port"` with the target options (environment, dataStore…) given here.
   */
  readonly upstream: (Target.Target & { readonly url?: string }) | string
  /** Upstream port when `upstream` is a target without a URL. */
  readonly port?: number
  /** Classification when `upstream` is a `"host:port"` string. */
  readonly target?: Omit<Target.TargetOptions, "kind" | "resolve">
  /**
   * The egress allowlist checked before connecting to the upstream, outside a run (default:
   * loopback). A fault injected by a run checks the run's own allowlist again.
   */
  readonly egress?: ReadonlyArray<string>
  /** Randomness for toxicity and jitter (tests pass a seeded one); default `Math.random`. */
  readonly random?: () => number
}

/**
 * A proxy is a target (its upstream, for the policy) and a resource: put it in an experiment's
 * `resources` and the run starts it after the plan is accepted and closes it at the very end.
 */
export interface Proxy extends Target.Target, Resource.Resource<AddressInfo>, Omit<Engine, "listen"> {
  readonly kind: "tcp-proxy"
  readonly upstream: Upstream
  /**
   * Starts listening (idempotent) after checking the upstream against the egress allowlist;
   * resolves to the address clients should use.
   */
  readonly start: Effect.Effect<AddressInfo, ShiftupError>
  /** `start` as a Promise. */
  readonly listen: () => Promise<AddressInfo>
  /** `host:port` clients connect to; throws before `listen`. */
  readonly endpoint: () => string
  /** Checks the upstream against an allowlist and pins the address connections go to. */
  readonly admit: (egress: Egress) => Effect.Effect<void, ShiftupError>
}

const parseHostPort = (s: string): Upstream => {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s.replace(/^[a-z+]+:\/\//i, "").replace(/\/.*$/, ""))
  if (m === null) throw new Error(`upstream "${s}" is not host:port`)
  return { host: m[1] as string, port: Number(m[2]) }
}

const upstreamOf = (options: ProxyOptions): Upstream => {
  const u = options.upstream
  if (typeof u === "string") return parseHostPort(u)
  if (typeof u.url === "string") {
    const url = new URL(u.url)
    return { host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || (url.protocol === "https:" ? 443 : 80)) }
  }
  if (options.port === undefined) throw new Error(`upstream target "${u.id}" has no url: pass \`port\` (and it resolves its own host)`)
  return { host: "127.0.0.1", port: options.port }
}

/**
 * A TCP fault proxy in front of `upstream`. It does not listen until `listen()` (or the first
 * fault injected through it).
 *
 * @example
 * const authProxy = Net.proxy({ upstream: auth })           // auth: an Http.target
 * const { port } = await authProxy.listen()                 // point the client at 127.0.0.1:port
 * const slow = Net.latency(authProxy, { ms: 1000 })         // a Fault for an experiment
 */
export const proxy = (options: ProxyOptions): Proxy => {
  const upstream = upstreamOf(options)
  const base: Target.Target =
    typeof options.upstream === "string"
      ? Target.make(options.upstream, { ...options.target, kind: "tcp", facts: { hostnames: [upstream.host], ports: [upstream.port], endpoints: [{ host: upstream.host, port: upstream.port, protocol: "tcp" }], ...options.target?.facts } })
      : options.upstream
  const id = options.id ?? `${base.id}-proxy`
  let pinned: Upstream | undefined
  const engine: Engine = makeEngine({
    host: options.host ?? "127.0.0.1",
    port: options.listen ?? 0,
    upstream: () => {
      if (pinned === undefined) throw new Error("the upstream was not admitted")
      return pinned
    },
    ...(options.random === undefined ? {} : { random: options.random }),
  })
  const admit = (egress: Egress) =>
    Effect.map(checkEgress(egress, upstream.host), ({ address }) => {
      pinned = { host: address, port: upstream.port }
    })
  const ownEgress = makeEgress(options.egress ?? defaultEgress)
  const start = Effect.gen(function* () {
    if (pinned === undefined) yield* admit(ownEgress)
    return yield* Effect.tryPromise({
      try: () => engine.listen(),
      catch: (e) => fail(new InjectionFailed({ fault: "listen", target: id, detail: `the proxy cannot listen: ${describeUnknown(e)}` })),
    })
  })
  // Not the upstream's `url`: a probe given the proxy must not silently bypass it.
  const { url: _url, ...fronted } = base as Target.Target & { readonly url?: string }
  const proxyObject: Proxy = {
    ...fronted,
    [Resource.ResourceTypeId]: { _A: (_: never) => _ },
    _tag: "Resource",
    title: `TCP fault proxy in front of ${upstream.host}:${upstream.port}`,
    get target() {
      return proxyObject
    },
    id,
    kind: "tcp-proxy",
    // The proxy is its upstream, for the policy: same environment, labels, data store evidence —
    // and the upstream's address is an endpoint of every member (planning may fingerprint it).
    resolve: Effect.map(base.resolve, (r) => ({
      ...r,
      members: r.members.map((m) =>
        (m.endpoints ?? []).some((e) => e.host === upstream.host && e.port === upstream.port)
          ? m
          : { ...m, hostnames: [...new Set([...(m.hostnames ?? []), upstream.host])], ports: [...new Set([...(m.ports ?? []), upstream.port])], endpoints: [...(m.endpoints ?? []), { host: upstream.host, port: upstream.port, protocol: "tcp" as const }] },
      ),
    })),
    upstream,
    start,
    listen: () => Effect.runPromise(start),
    address: engine.address,
    endpoint: () => {
      const a = engine.address()
      if (a === undefined) throw new Error(`proxy "${id}" is not listening yet: call listen() first`)
      return a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`
    },
    close: engine.close,
    add: engine.add,
    remove: engine.remove,
    toxics: engine.toxics,
    stats: engine.stats,
    admit,
  }
  // As a resource: started inside the run (the upstream checked against the run's allowlist),
  // closed at its end.
  return sealResource(proxyObject, { acquire: ensureStarted(proxyObject), release: () => Effect.promise(() => engine.close()) })
}

/** Inside a run: checks the upstream against the run's allowlist, then makes sure the proxy listens. */
export const ensureStarted = (p: Proxy): Effect.Effect<AddressInfo, ShiftupError> =>
  Effect.gen(function* () {
    const { egress } = yield* RunContext
    yield* p.admit(egress)
    return yield* p.start
  })
