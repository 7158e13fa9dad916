/**
 * Resource squeeze: lower a container's CPU, memory and pids limits through the update API, and
 * put back exactly what was there — including "no limit", which the API cannot store as 0 again.
 */
import { Effect, Schema } from "effect"
import { fail, InjectionFailed } from "../../ShiftupError.ts"
import * as DockerFault from "../internal/fault.ts"
import type { FaultOptions } from "../internal/fault.ts"
import { ContainerId, declare } from "../internal/kind.ts"
import type { Container, Resources } from "../model.ts"
import type { ContainerTarget } from "../targets.ts"

/**
 * The engine's "no memory limit": cgroup v1 clamps any larger limit to this (2^63 − 4096), and
 * `memory.limit_in_bytes` then reads exactly as in a container created without a limit.
 * Docker's update API ignores `Memory: 0` and rejects `-1`, so this is how a squeezed container
 * that had no limit gets its limit removed again (see `squeeze`).
 */
export const unlimitedMemory = 9_223_372_036_854_771_712

// Whole numbers beyond 2^53 too: the kernel's "no memory limit" is 2^63 − 4096 (see `unlimitedMemory`).
const Limit = Schema.optionalKey(Schema.Number.check(Schema.makeFilter((n: number) => Number.isInteger(n), { message: "a whole number" })))
/** Only the limits a squeeze touches: an update with anything else (`Privileged`…) is not a restore. */
const ResourceValues = Schema.Struct({ cpuQuota: Limit, cpuPeriod: Limit, nanoCpus: Limit, cpuShares: Limit, memory: Limit, memorySwap: Limit, pidsLimit: Limit })

type Values = typeof ResourceValues.Type

/** Whether `now` already shows what the last restore call sets (then a replay does nothing). */
const restored = (now: Resources, s: { readonly restore: ReadonlyArray<Values> }): boolean => {
  const want: Record<string, number> = {}
  for (const call of s.restore) Object.assign(want, call)
  return Object.entries(want).every(([k, v]) => now[k as keyof Resources] === v)
}

/** Whether `now` still shows the original values (the squeeze never reached this container). */
const unchanged = (now: Resources, s: { readonly original: Values }): boolean => Object.entries(s.original).every(([k, v]) => now[k as keyof Resources] === v)

/** Puts back each container's saved resource limits, unless inspect already shows them. */
export const Update = declare({
  kind: "docker.update",
  fields: {
    saved: Schema.Array(
      Schema.Struct({
        id: ContainerId,
        name: Schema.String,
        /** The values `engine.inspect` showed before the squeeze. */
        original: ResourceValues,
        /** Update calls (in order) that restore them; see `squeeze`. */
        restore: Schema.Array(ResourceValues),
      }),
    ),
  },
  undo: (r, engine) =>
    DockerFault.eachOf(r.saved, (s) =>
      DockerFault.gone(
        Effect.gen(function* () {
          const now = yield* engine.inspect(s.id)
          // Never squeezed (the injection failed before this container) or restored already.
          if (unchanged(now.resources, s) || restored(now.resources, s)) return
          for (const call of s.restore) yield* engine.update(s.id, call)
        }),
      ),
    ),
  verify: (r, engine) =>
    DockerFault.differences(r.saved, (s) =>
      DockerFault.gone(engine.inspect(s.id)).pipe(
        Effect.map((now) => {
          if (now === undefined || unchanged(now.resources, s) || restored(now.resources, s)) return undefined
          const want: Record<string, number> = {}
          for (const call of s.restore) Object.assign(want, call)
          const off = Object.entries(want).filter(([k, v]) => now.resources[k as keyof Resources] !== v)
          return `${s.name}: ${off.map(([k, v]) => `${k} is ${now.resources[k as keyof Resources]}, not ${v}`).join(", ")}`
        }),
      ),
    ),
  // An update takes some 15 ms on the engine.
  settleMs: 2000,
})

/** One container's resource restore, as recorded in a `docker.update` compensation. */
type SavedResources = (typeof Update.schema.Type)["saved"][number]

export interface SqueezeOptions extends FaultOptions {
  /** CPU time as a fraction of one CPU (`0.1` = 10 ms per 100 ms period); at least 0.01. */
  readonly cpus?: number
  /** Memory limit in bytes (swap is limited to the same, so no swap); at least 6 MiB (Docker's minimum). */
  readonly memory?: number
  /** Maximum number of processes and threads; at least 1. */
  readonly pids?: number
}

const cfsDefaultPeriod = 100_000

const fmtBytes = (n: number) => (n >= unlimitedMemory ? "unlimited" : n % 1_048_576 === 0 ? `${n / 1_048_576} MiB` : `${n} bytes`)

/**
 * Lowers the resource limits of the target's containers through Docker's update API (visible in
 * `docker inspect` and in the cgroup). Rollback puts back each container's original values.
 *
 * How each limit is set and restored (Docker 20.10, cgroup v1, measured):
 * - CPU: a container with `NanoCpus` (`--cpus`) is squeezed and restored through `NanoCpus`
 *   (Docker refuses `CpuQuota` next to it); any other through `CpuQuota` alone, on its own
 *   period (`CpuPeriod`, else the kernel's 100 ms, left untouched). A finite original quota is
 *   restored exactly. No original quota (0) cannot be written back (the API ignores 0), so
 *   rollback writes `-1`: the cgroup's `cpu.cfs_quota_us` is `-1` again, exactly as before, and
 *   `inspect` shows `CpuQuota: -1` instead of `0` (both mean "no limit", also after a restart).
 * - Memory: squeezed with `MemorySwap` equal to `Memory` (Docker requires swap ≥ memory and
 *   refuses a lower memory without it). A finite original limit and swap are restored exactly
 *   (swap opened first, so the kernel's memory ≤ memsw rule holds). No original limit (0) cannot
 *   be written back (the API ignores 0 and rejects -1), so rollback sets both to
 *   `unlimitedMemory` (2^63 − 4096): `memory.limit_in_bytes` and `memory.memsw.limit_in_bytes`
 *   read exactly as before, and `inspect` shows `Memory` and `MemorySwap` as 9223372036854771712
 *   instead of 0 (no limit in effect, also after a restart). An original swap of -1 is restored
 *   as -1 with `memory.memsw.limit_in_bytes` unlimited, as Docker sets it when it creates a
 *   container with `--memory-swap -1`. (An earlier `docker update --memory-swap -1` is stored but
 *   never reaches the cgroup, so such a container may have had a lower memsw than inspect said;
 *   rollback then leaves memsw unlimited, which is what inspect says.)
 * - Pids: restored exactly (`PidsLimit: 0` is accepted and means no limit).
 *
 * Memory below current usage: the kernel first reclaims what it can (page cache); if the usage
 * still does not fit, the engine answers with an error, nothing changes, and the injection fails
 * with that message. The squeeze itself never kills a process; a process that later allocates
 * past the limit meets the container's OOM killer (that is the fault), and rollback does not
 * restart a container the OOM killer stopped.
 *
 * @example
 * Docker.squeeze(api, { cpus: 0.1, memory: 64 * 1024 * 1024, pids: 32 })
 */
export const squeeze = (target: ContainerTarget, options: SqueezeOptions) => {
  const id = options.id ?? `squeeze ${target.id}`
  const refuse = (detail: string) => Effect.fail(fail(new InjectionFailed({ fault: id, target: target.id, detail })))
  const planOf = (c: Container) => {
    const r = c.resources
    const squeeze: Record<string, number> = {}
    const restore: Array<Record<string, number>> = []
    const original: Record<string, number> = {}
    if (options.cpus !== undefined) {
      if (r.nanoCpus > 0) {
        squeeze["nanoCpus"] = Math.round(options.cpus * 1e9)
        original["nanoCpus"] = r.nanoCpus
        restore.push({ nanoCpus: r.nanoCpus })
      } else {
        const period = r.cpuPeriod > 0 ? r.cpuPeriod : cfsDefaultPeriod
        squeeze["cpuQuota"] = Math.round(options.cpus * period)
        original["cpuQuota"] = r.cpuQuota
        restore.push({ cpuQuota: r.cpuQuota > 0 ? r.cpuQuota : -1 })
      }
    }
    if (options.memory !== undefined) {
      squeeze["memory"] = options.memory
      squeeze["memorySwap"] = options.memory
      original["memory"] = r.memory
      original["memorySwap"] = r.memorySwap
      const memory = r.memory > 0 ? r.memory : unlimitedMemory
      // Opening swap first keeps memory ≤ memsw for the kernel; Docker passes swap on only when > 0.
      restore.push({ memory, memorySwap: unlimitedMemory })
      if (r.memory > 0 && r.memorySwap > 0 && r.memorySwap !== unlimitedMemory) restore.push({ memory, memorySwap: r.memorySwap })
      // -1 (unlimited swap) is stored as given and not passed on to the cgroup, whose memsw is unlimited already.
      if (r.memorySwap === -1) restore.push({ memorySwap: -1 })
    }
    if (options.pids !== undefined) {
      squeeze["pidsLimit"] = options.pids
      original["pidsLimit"] = r.pidsLimit
      restore.push({ pidsLimit: r.pidsLimit })
    }
    return { squeeze, saved: { id: c.id, name: c.name, original, restore } }
  }
  const describe = (s: SavedResources) =>
    `${s.name}: ${Object.entries(s.original)
      .map(([k, v]) => (k === "memory" || k === "memorySwap" ? `${k} ${v === 0 ? "unlimited" : fmtBytes(v)}` : k === "pidsLimit" && v <= 0 ? `${k} unlimited` : k === "cpuQuota" && v <= 0 ? `${k} unlimited` : `${k} ${v}`))
      .join(", ")}`
  const parts = [
    options.cpus === undefined ? "" : `${options.cpus} CPU`,
    options.memory === undefined ? "" : fmtBytes(options.memory),
    options.pids === undefined ? "" : `${options.pids} pids`,
  ].filter((s) => s !== "")
  return DockerFault.make({
    id,
    title: `squeeze ${target.id} to ${parts.join(", ")}`,
    target,
    kind: Update,
    capture: (list) =>
      Effect.gen(function* () {
        if (parts.length === 0) return yield* refuse("give at least one of cpus, memory, pids")
        if (options.cpus !== undefined && !(options.cpus >= 0.01 && Number.isFinite(options.cpus))) return yield* refuse(`cpus must be at least 0.01, got ${options.cpus}`)
        if (options.memory !== undefined && !(Number.isInteger(options.memory) && options.memory >= 6 * 1_048_576)) return yield* refuse(`memory must be a whole number of bytes, at least 6 MiB (Docker's minimum), got ${options.memory}`)
        if (options.pids !== undefined && !(Number.isInteger(options.pids) && options.pids >= 1)) return yield* refuse(`pids must be a whole number ≥ 1, got ${options.pids}`)
        const planned = list.map(planOf)
        const saved = planned.map((p) => p.saved)
        return { record: { description: `restore the limits of ${saved.map(describe).join("; ")}`, saved }, plan: new Map(list.map((c, i) => [c.id, planned[i]!.squeeze])) }
      }),
    inject: (list, engine, plan) => DockerFault.eachOf(list, (c) => engine.update(c.id, plan?.get(c.id) ?? planOf(c).squeeze)),
  })
}

