/**
 * Bandwidth: a `tbf` qdisc on each interface inside the containers' network namespaces, entered
 * from the host as root (`nsenter`; refused where partition is, see `internal/nsfault.ts`). Its
 * compensation, `docker.tc-restore`, deletes only the tbf with this fault's own handle, in only
 * the namespaces it entered, which puts the kernel's default qdisc back.
 *
 * The kernel here has no `netem`: latency and jitter need a proxy in the path (`shiftup/net`).
 */
import { Effect, Schema } from "effect"
import { RunContext } from "../../RunContext.ts"
import { fail, InjectionFailed, type Issue } from "../../ShiftupError.ts"
import * as DockerFault from "../internal/fault.ts"
import type { FaultOptions } from "../internal/fault.ts"
import { ContainerId, declare, NamespaceRecord } from "../internal/kind.ts"
import * as Netns from "../internal/netns.ts"
import * as NsFault from "../internal/nsfault.ts"
import { ruleTag, tbfHandle } from "../internal/rules.ts"
import type { ContainerTarget } from "../targets.ts"

export { tbfHandle } from "../internal/rules.ts"

/** An interface's root qdisc before the fault. */
const Original = Schema.Struct({ container: ContainerId, name: Schema.String, dev: Schema.String, kind: Schema.String, handle: Schema.String })
type Original = typeof Original.Type

/** Deletes the fault's own tbf (by handle) in each namespace it entered, and proves it gone. */
export const TcRestore = declare({
  kind: "docker.tc-restore",
  fields: {
    handle: Schema.String.check(Schema.isPattern(/^[0-9a-f]{1,4}:$/)),
    rateBits: Schema.Number,
    burst: Schema.Number,
    latencyMs: Schema.Number,
    originals: Schema.Array(Original),
    namespaces: Schema.Array(NamespaceRecord),
  },
  undo: (r, engine) => NsFault.proveGone(r, engine, (ns) => NsFault.removeTbf(ns, r.handle)),
  verify: (r, engine) => NsFault.inEachNamespace(r, engine, (ns) => NsFault.tbfLeft(ns, r.handle)),
  // A `tc qdisc replace` takes milliseconds.
  settleMs: 2000,
})

export interface BandwidthOptions extends FaultOptions {
  /** tc units (`"1mbit"`, `"512kbit"`, `"100kbps"` — bps is bytes per second in tc), or a number of bytes per second. */
  readonly rate: string | number
  /** Bucket size in bytes; default 10 ms of traffic at `rate`, at least 4096. */
  readonly burst?: number
  /** The longest a packet may wait in the queue before it is dropped; default 50 ms. */
  readonly latencyMs?: number
}

const units: Readonly<Record<string, number>> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12, bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9, tbps: 8e12, kibit: 1024, mibit: 1024 ** 2, gibit: 1024 ** 3, kibps: 8 * 1024, mibps: 8 * 1024 ** 2, gibps: 8 * 1024 ** 3 }

/** A rate in bits per second, or `undefined` when it is not one. */
export const rateBits = (rate: string | number): number | undefined => {
  if (typeof rate === "number") return Number.isFinite(rate) && rate > 0 ? Math.round(rate * 8) : undefined
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(rate)
  const unit = m === null ? undefined : units[(m[2] ?? "").toLowerCase()]
  if (m === null || unit === undefined) return undefined
  const bits = Math.round(Number(m[1]) * unit)
  return bits > 0 ? bits : undefined
}

/**
 * Limits the bandwidth of everything the target's containers send, on each of their
 * interfaces (not loopback): `tc qdisc replace dev <iface> root handle <h> tbf …` inside the
 * container's network namespace (root needed). An interface whose root qdisc was configured by
 * someone (anything but the kernel's default — noqueue, pfifo_fast… with handle `0:`) is
 * refused before anything changes, since its setup could not be restored. Rollback deletes the
 * tbf where it is still this fault's (same handle), which puts the kernel's default back.
 *
 * @example
 * Docker.bandwidth(api, { rate: "1mbit" })
 * Docker.bandwidth(api, { rate: 64_000, latencyMs: 200 }) // 64 kB/s
 */
export const bandwidth = (target: ContainerTarget, options: BandwidthOptions) => {
  const bits = rateBits(options.rate)
  const issues: Array<Issue> = []
  if (bits === undefined) issues.push({ path: "rate", message: `not a rate: ${JSON.stringify(options.rate)}; use tc units like "1mbit" or a number of bytes per second` })
  if (options.burst !== undefined && !(Number.isInteger(options.burst) && options.burst >= 1600)) issues.push({ path: "burst", message: `must be a whole number of bytes, at least 1600 (one full frame): ${options.burst}` })
  if (options.latencyMs !== undefined && !(options.latencyMs > 0)) issues.push({ path: "latencyMs", message: `must be positive: ${options.latencyMs}` })
  DockerFault.invalidOptions("bandwidth", issues)
  const rate = bits ?? 1
  const burst = options.burst ?? Math.max(4096, Math.ceil(rate / 8 / 100))
  const latencyMs = options.latencyMs ?? 50
  const id = options.id ?? `bandwidth ${target.id}`
  const injectionFailed = (detail: string) => fail(new InjectionFailed({ fault: id, target: target.id, detail }))
  return DockerFault.make({
    id,
    title: `limit ${target.id} to ${typeof options.rate === "number" ? `${options.rate} B/s` : options.rate}`,
    target,
    kind: TcRestore,
    preflight: NsFault.preflight(target.id, { fault: "bandwidth limit", changes: "replace the root queueing discipline (tc qdisc) of" }),
    capture: (list) =>
      Effect.gen(function* () {
        const runId = (yield* RunContext).runId
        const handle = tbfHandle(ruleTag(runId, id))
        const namespaces = yield* NsFault.capture(id, target.id, list, "shape")
        const interfaces = new Map<number, ReadonlyArray<string>>()
        const originals: Array<Original> = []
        for (const e of namespaces) {
          const seen = yield* NsFault.inCaptured(e, (ns) => Effect.all([Netns.interfaces(ns), Netns.qdiscs(ns)])).pipe(Effect.mapError((x) => injectionFailed(`container ${e.name}: ${x.detail}`)))
          const [names, qdiscs] = seen
          if (names.length === 0) return yield* Effect.fail(injectionFailed(`container ${e.name} has no network interface but loopback`))
          const roots = qdiscs.filter((q) => q.root)
          for (const dev of names) {
            const root = roots.find((q) => q.dev === dev)
            if (root !== undefined && root.handle !== "0:")
              return yield* Effect.fail(
                injectionFailed(
                  `container ${e.name}: ${dev} already has a configured root qdisc (${root.kind} ${root.handle}); shiftup can only put back the kernel's default qdisc, so it refuses to replace this one`,
                ),
              )
            originals.push({ container: e.container, name: e.name, dev, kind: root?.kind ?? "none", handle: root?.handle ?? "" })
          }
          interfaces.set(e.netns, names)
        }
        const kinds = [...new Set(originals.map((o) => o.kind))]
        return {
          record: {
            description: `delete the tbf qdisc ${handle} from ${originals.map((o) => `${o.name}/${o.dev}`).join(", ")} where it is still there, putting back the default (${kinds.join(", ")})`,
            handle,
            rateBits: rate,
            burst,
            latencyMs,
            originals,
            namespaces: namespaces.map((e) => ({ ...e })),
          },
          plan: { handle, interfaces, namespaces },
        }
      }),
    inject: (_list, _engine, plan) =>
      Effect.gen(function* () {
        if (plan === undefined) return yield* Effect.fail(injectionFailed("the interfaces were not planned (compensation not captured)"))
        yield* DockerFault.eachOf(plan.namespaces, (e) =>
          NsFault.inCaptured(e, (ns) =>
            Effect.forEach(plan.interfaces.get(e.netns) ?? [], (dev) =>
              Netns.inNetns(ns, "tc", ["qdisc", "replace", "dev", dev, "root", "handle", plan.handle, "tbf", "rate", `${rate}bit`, "burst", String(burst), "latency", `${latencyMs}ms`]),
            ),
          ).pipe(Effect.mapError((x) => injectionFailed(`container ${e.name}: ${x.detail}`))),
        )
      }),
  })
}
