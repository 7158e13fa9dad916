/**
 * Container faults: pause, stop, kill, crash, restart, resource squeeze, file tamper, rogue listener.
 * Each is a core Fault whose compensation is serialisable data recorded in the ledger before the
 * change, and whose compensator is idempotent (a second replay finds nothing to undo).
 */
import { Effect } from "effect"
import { RunContext } from "../RunContext.ts"
import { fail, InjectionFailed, type ShiftupError } from "../ShiftupError.ts"
import type { ContainerTarget } from "./Container.ts"
import type { Container, EngineCallError, Resources } from "./Engine.ts"
import * as DockerFault from "./internal/fault.ts"
import { processOf } from "./internal/netns.ts"
import { pack, unpack } from "./internal/tar.ts"
import { runLabel } from "./Reaper.ts"

/** Errors of a container that was removed since: nothing left to undo there. */
const gone = <A>(e: Effect.Effect<A, EngineCallError | ShiftupError>) => Effect.catchIf(e, (x) => "status" in x && x.status === 404, () => Effect.void)

const ids = (c: Record<string, unknown>, field: string): ReadonlyArray<string> => (Array.isArray(c[field]) ? (c[field] as ReadonlyArray<unknown>).map(String) : [])

/**
 * The engine's "no memory limit": cgroup v1 clamps any larger limit to this (2^63 − 4096), and
 * `memory.limit_in_bytes` then reads exactly as in a container created without a limit.
 * Docker's update API ignores `Memory: 0` and rejects `-1`, so this is how a squeezed container
 * that had no limit gets its limit removed again (see `squeeze`).
 */
export const unlimitedMemory = 9_223_372_036_854_771_712

/** One container's resource restore, as recorded in a `docker.update` compensation. */
interface SavedResources {
  readonly id: string
  readonly name: string
  /** The values `engine.inspect` showed before the squeeze. */
  readonly original: Readonly<Record<string, number>>
  /** Update calls (in order) that restore them; see `squeeze`. */
  readonly restore: ReadonlyArray<Readonly<Record<string, number>>>
}

/** Whether `now` already shows what the last restore call sets (then a replay does nothing). */
const restored = (now: Resources, s: SavedResources): boolean => {
  const want: Record<string, number> = {}
  for (const call of s.restore) Object.assign(want, call)
  return Object.entries(want).every(([k, v]) => now[k as keyof Resources] === v)
}

/** Whether `now` still shows the original values (the squeeze never reached this container). */
const unchanged = (now: Resources, s: SavedResources): boolean => Object.entries(s.original).every(([k, v]) => now[k as keyof Resources] === v)

/** Reads uid and gid of the first real entry of a tar archive (skipping PAX/GNU metadata). */
const ownerOf = (archive: Buffer): { readonly uid: number; readonly gid: number } => {
  let offset = 0
  while (offset + 512 <= archive.length) {
    const h = archive.subarray(offset, offset + 512)
    const size = Number.parseInt(h.subarray(124, 136).toString("ascii").replace(/\0.*$/s, "").trim() || "0", 8)
    const flag = String.fromCharCode(h[156] ?? 48)
    if (flag !== "x" && flag !== "g" && flag !== "L") {
      const num = (from: number) => Number.parseInt(h.subarray(from, from + 8).toString("ascii").replace(/\0.*$/s, "").trim() || "0", 8)
      return { uid: num(108), gid: num(116) }
    }
    offset += 512 + Math.ceil(size / 512) * 512
  }
  return { uid: 0, gid: 0 }
}

const undo: Readonly<Record<string, DockerFault.Undo>> = {
  "docker.unpause": (c, engine) =>
    DockerFault.eachOf(c["containers"] as ReadonlyArray<string>, (id) =>
      // One call in the common case; when the engine refuses (already unpaused, say: it answers
      // 500 "is not paused"), the container's state decides whether anything is left to undo.
      engine.unpause(id).pipe(
        Effect.catch((refused) =>
          engine.inspect(id).pipe(
            Effect.flatMap((now) => (now.state.paused ? Effect.fail(refused) : Effect.void)),
            // A container removed since is not paused any more: nothing to undo.
            Effect.catchIf((e) => "status" in e && e.status === 404, () => Effect.void),
          ),
        ),
      ),
    ),
  /**
   * `containers` were running before the fault: start each that is not running now (a restart
   * policy may have brought it back already), and pause again each of `paused` that is not.
   */
  "docker.start": (c, engine) => {
    const paused = new Set(ids(c, "paused"))
    return DockerFault.eachOf(ids(c, "containers"), (id) =>
      gone(
        Effect.gen(function* () {
          const now = yield* engine.inspect(id)
          if (!now.state.running) yield* engine.start(id)
          if (paused.has(id) && !(now.state.running && now.state.paused)) yield* engine.pause(id)
        }),
      ),
    )
  },
  /** Puts back each container's saved resource limits, unless inspect already shows them. */
  "docker.update": (c, engine) =>
    DockerFault.eachOf((Array.isArray(c["saved"]) ? c["saved"] : []) as unknown as ReadonlyArray<SavedResources>, (s) =>
      gone(
        Effect.gen(function* () {
          const now = yield* engine.inspect(s.id)
          // Never squeezed (the injection failed before this container) or restored already.
          if (unchanged(now.resources, s) || restored(now.resources, s)) return
          for (const call of s.restore) yield* engine.update(s.id, call)
        }),
      ),
    ),
  /** Extracts each saved original archive (content, mode, owner, mtime) back into its folder, unless the file already matches it. */
  "docker.archive-restore": (c, engine) => {
    const dir = String(c["dir"])
    const path = String(c["path"])
    const files = (Array.isArray(c["files"]) ? c["files"] : []) as unknown as ReadonlyArray<{ readonly id: string; readonly archive: string }>
    return DockerFault.eachOf(files, (f) =>
      gone(
        Effect.gen(function* () {
          const original = Buffer.from(f.archive, "base64")
          const now = yield* engine.getArchive(f.id, path).pipe(Effect.catchIf((e) => e.status === 404, () => Effect.succeed(undefined)))
          if (now !== undefined) {
            const [a] = unpack(original)
            const [b] = unpack(now)
            const same = a !== undefined && b !== undefined && a.type === b.type && (a.mode & 0o7777) === (b.mode & 0o7777) && a.content.equals(b.content) && JSON.stringify(ownerOf(original)) === JSON.stringify(ownerOf(now))
            if (same) return
          }
          yield* engine.putArchive(f.id, dir, original)
        }),
      ),
    )
  },
  /** Removes every container carrying all of `labels` (created by a fault); none left is fine. */
  "docker.remove-labelled": (c, engine) =>
    Effect.gen(function* () {
      const labels = (typeof c["labels"] === "object" && c["labels"] !== null ? c["labels"] : {}) as Readonly<Record<string, string>>
      const selector = Object.entries(labels).map(([k, v]) => `${k}=${v}`)
      // Never "every container": a compensation without labels removes nothing.
      if (selector.length === 0) return
      const found = yield* engine.list({ all: true, labels: selector })
      yield* DockerFault.eachOf(found, (s) => engine.remove(s.id))
    }),
}

/** Compensators of this module's faults, by kind. */
export const compensators = DockerFault.compensators(undo)

export interface FaultOptions {
  /** Step id; default `<kind> <target>`. */
  readonly id?: string
}

/**
 * Freezes every process of the target's containers (cgroup freezer): connections hang rather
 * than fail. Rollback unpauses them.
 *
 * @example
 * Docker.pause(auth)
 */
export const pause = (target: ContainerTarget, options: FaultOptions = {}) =>
  DockerFault.make({
    id: options.id ?? `pause ${target.id}`,
    title: `pause ${target.id}`,
    target,
    kind: "docker.unpause",
    // Only the members this fault pauses: one that was paused already stays paused after rollback.
    capture: (list) => {
      const running = list.filter((c) => !c.state.paused)
      return Effect.succeed({ description: running.length === 0 ? "nothing to unpause (every member was already paused)" : `unpause ${DockerFault.names(running)}`, containers: running.map((c) => c.id) })
    },
    inject: (list, engine) => DockerFault.eachOf(list, (c) => (c.state.paused ? Effect.void : engine.pause(c.id))),
    compensators,
  })

/** What a stop, kill or restart must bring back: the running members, and which of them were paused. */
const runningState = (list: ReadonlyArray<Container>, verb: (names: string) => string) => {
  const running = list.filter((c) => c.state.running)
  const paused = running.filter((c) => c.state.paused)
  const description = running.length === 0 ? "nothing to start (no member was running)" : `${verb(DockerFault.names(running))}${paused.length === 0 ? "" : `, then pause ${DockerFault.names(paused)} again`}`
  return { description, containers: running.map((c) => c.id), paused: paused.map((c) => c.id) }
}

export interface StopOptions extends FaultOptions {
  /** Seconds between SIGTERM and SIGKILL; default 10 (Docker's). */
  readonly timeoutS?: number
}

/**
 * Stops the target's running containers (SIGTERM, then SIGKILL after `timeoutS`). Rollback
 * starts again each one that was running (and pauses again the ones that were paused).
 *
 * @example
 * Docker.stop(auth, { timeoutS: 2 })
 */
export const stop = (target: ContainerTarget, options: StopOptions = {}) =>
  DockerFault.make({
    id: options.id ?? `stop ${target.id}`,
    title: `stop ${target.id}`,
    target,
    kind: "docker.start",
    capture: (list) => Effect.succeed(runningState(list, (n) => `start ${n} again (was running)`)),
    inject: (list, engine) => DockerFault.eachOf(list, (c) => (c.state.running ? engine.stop(c.id, options.timeoutS) : Effect.void)),
    compensators,
  })

export interface KillOptions extends FaultOptions {
  /** Default `SIGKILL`. A signal the process survives leaves it running; rollback then has nothing to do. */
  readonly signal?: string
}

/**
 * Sends a signal to the main process of the target's running containers. Rollback starts each
 * one that was running and is not running at replay time (a restart policy may have restarted it).
 *
 * @example
 * Docker.kill(auth) // SIGKILL
 * Docker.kill(auth, { signal: "SIGTERM" })
 */
export const kill = (target: ContainerTarget, options: KillOptions = {}) => {
  const signal = options.signal ?? "SIGKILL"
  return DockerFault.make({
    id: options.id ?? `kill ${target.id}`,
    title: `kill ${target.id} (${signal})`,
    target,
    kind: "docker.start",
    capture: (list) => Effect.succeed(runningState(list, (n) => `start ${n} again if not running (was running)`)),
    inject: (list, engine) => DockerFault.eachOf(list, (c) => (c.state.running ? engine.kill(c.id, signal) : Effect.void)),
    compensators,
  })
}

/**
 * Restarts the target's running containers. A restart cannot be undone; rollback ensures each
 * one is running (a restart that failed half-way leaves it stopped), and paused again if it was.
 *
 * @example
 * Docker.restart(auth, { timeoutS: 1 })
 */
export const restart = (target: ContainerTarget, options: StopOptions = {}) =>
  DockerFault.make({
    id: options.id ?? `restart ${target.id}`,
    title: `restart ${target.id}`,
    target,
    kind: "docker.start",
    capture: (list) => Effect.succeed(runningState(list, (n) => `ensure ${n} running (a restart cannot be undone)`)),
    // Only running members: restarting a stopped one would start it, which rollback would not undo.
    inject: (list, engine) => DockerFault.eachOf(list, (c) => (c.state.running ? engine.restart(c.id, options.timeoutS) : Effect.void)),
    compensators,
  })

/** Why `crash` cannot kill a container's process from here, or `undefined` when it can. */
const notLocal = (c: Container, owner: "container" | "gone" | "other") =>
  owner === "container"
    ? undefined
    : `process ${c.state.pid} on this machine is ${owner === "gone" ? "not there" : "not"} container ${c.name}'s: is the engine on another machine or in a VM? crash kills the container's process from the engine's own host`

/**
 * Crashes the target's running containers the way a segfault or the OOM killer does: SIGKILL to
 * each one's main process (`State.Pid`) from the host, not through the engine's API, so the
 * engine sees the process die on its own and applies the container's restart policy ("always",
 * "on-failure", "unless-stopped" restart it; "no" leaves it exited). Needs root on the engine's
 * own host: each pid is checked to belong to that container (its `/proc/<pid>/cgroup` names the
 * container id) when the compensation is captured (before anything changes; refused otherwise)
 * and again right before the kill, so a pid of an
 * engine on another machine, in a VM, or reused since, is never signalled. Paused members are
 * left alone (a frozen process would only die once thawed). Rollback (`docker.start`) starts each
 * one that was running and is not running at replay time (its restart policy may have done it).
 *
 * @example
 * Docker.crash(auth)
 * Expect.that(Docker.timeToRecover(auth, { within: "20 seconds", healthy: true }), Expect.range(0, 10_000))
 */
export const crash = (target: ContainerTarget, options: FaultOptions = {}) => {
  const id = options.id ?? `crash ${target.id}`
  const refuse = (detail: string) => Effect.fail(fail(new InjectionFailed({ fault: id, target: target.id, detail })))
  const live = (list: ReadonlyArray<Container>) => list.filter((c) => c.state.running && !c.state.paused && c.state.pid > 0)
  return DockerFault.make({
    id,
    title: `crash ${target.id} (SIGKILL to its process from the host)`,
    target,
    kind: "docker.start",
    capture: (list) =>
      Effect.gen(function* () {
        for (const c of live(list)) {
          const why = notLocal(c, yield* processOf(c.state.pid, c.id))
          if (why !== undefined) return yield* refuse(why)
        }
        const running = live(list)
        return {
          description: running.length === 0 ? "nothing to start (no member was running unpaused)" : `start ${DockerFault.names(running)} again if not running (was running; its restart policy may restart it first)`,
          containers: running.map((c) => c.id),
          paused: [],
        }
      }),
    inject: (list, engine) =>
      DockerFault.eachOf(live(list), (planned) =>
        Effect.gen(function* () {
          // The pid as it is now: the container may have restarted since the plan.
          const c = yield* engine.inspect(planned.id)
          if (!c.state.running || c.state.paused || c.state.pid <= 0) return
          const owner = yield* processOf(c.state.pid, c.id)
          if (owner === "gone") return
          const why = notLocal(c, owner)
          if (why !== undefined) return yield* refuse(why)
          yield* Effect.try({
            try: () => process.kill(c.state.pid, "SIGKILL"),
            catch: (e) => (e as NodeJS.ErrnoException).code ?? String(e),
          }).pipe(
            Effect.catch((code) =>
              code === "ESRCH" ? Effect.void : refuse(code === "EPERM" ? `killing process ${c.state.pid} of ${c.name} needs root on the engine's host (EPERM)` : `kill ${c.state.pid} (${c.name}): ${code}`),
            ),
          )
        }),
      ),
    compensators,
  })
}

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
  const plans = new Map<string, { readonly squeeze: Partial<Resources>; readonly saved: SavedResources }>()
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
    kind: "docker.update",
    capture: (list) =>
      Effect.gen(function* () {
        if (parts.length === 0) return yield* refuse("give at least one of cpus, memory, pids")
        if (options.cpus !== undefined && !(options.cpus >= 0.01 && Number.isFinite(options.cpus))) return yield* refuse(`cpus must be at least 0.01, got ${options.cpus}`)
        if (options.memory !== undefined && !(Number.isInteger(options.memory) && options.memory >= 6 * 1_048_576)) return yield* refuse(`memory must be a whole number of bytes, at least 6 MiB (Docker's minimum), got ${options.memory}`)
        if (options.pids !== undefined && !(Number.isInteger(options.pids) && options.pids >= 1)) return yield* refuse(`pids must be a whole number ≥ 1, got ${options.pids}`)
        const saved = list.map((c) => {
          const p = planOf(c)
          plans.set(c.id, p)
          return p.saved
        })
        return { description: `restore the limits of ${saved.map(describe).join("; ")}`, saved: saved as unknown as DockerFault.Json }
      }),
    inject: (list, engine) =>
      DockerFault.eachOf(list, (c) => {
        const p = plans.get(c.id) ?? planOf(c)
        plans.delete(c.id)
        return engine.update(c.id, p.squeeze)
      }),
    compensators,
  })
}

export interface TamperOptions extends FaultOptions {
  /** Absolute path of an existing regular file in the container. */
  readonly path: string
  readonly content: string | Buffer
  /** Permission bits of the tampered file; default the original's. */
  readonly mode?: number
}

/** The largest original file `tamper` saves (and so will tamper with). */
export const maxTamperBytes = 1_048_576

/**
 * Overwrites a file in the target's containers (a config, a key, a policy). `destroy` class: lab
 * targets only. The original (content, mode, owner, mtime, as the engine's tar archive) is saved
 * into the compensation before the write, and rollback puts it back. Only an existing regular
 * file of at most 1 MiB is tampered with; anything else is refused before any change.
 *
 * @example
 * Docker.tamper(gateway, { path: "/etc/gateway/policy.json", content: '{"allow":"*"}' })
 */
export const tamper = (target: ContainerTarget, options: TamperOptions) => {
  const id = options.id ?? `tamper ${target.id} ${options.path}`
  const path = options.path
  const cut = path.lastIndexOf("/")
  const dir = cut <= 0 ? "/" : path.slice(0, cut)
  const name = path.slice(cut + 1)
  const content = typeof options.content === "string" ? Buffer.from(options.content) : options.content
  const refuse = (detail: string) => Effect.fail(fail(new InjectionFailed({ fault: id, target: target.id, detail })))
  const originals = new Map<string, Buffer>()
  return DockerFault.make({
    id,
    title: `tamper with ${path} in ${target.id}`,
    target,
    safety: "destroy",
    kind: "docker.archive-restore",
    capture: (list, engine) =>
      Effect.gen(function* () {
        if (!path.startsWith("/") || name === "" || name === "." || name === "..") return yield* refuse(`path must be the absolute path of a file, got "${path}"`)
        if (options.mode !== undefined && !(Number.isInteger(options.mode) && options.mode >= 0 && options.mode <= 0o7777)) return yield* refuse(`mode must be permission bits (0 to 0o7777), got ${options.mode}`)
        const files = yield* Effect.forEach(
          list,
          (c) =>
            Effect.gen(function* () {
              const archive = yield* engine
                .getArchive(c.id, path)
                .pipe(Effect.catchIf((e) => e.status === 404, () => refuse(`${path} does not exist in ${c.name}: tamper only changes existing files (so rollback can restore them)`)))
              const entries = unpack(archive)
              const entry = entries[0]
              if (entry === undefined || entries.length !== 1 || entry.type !== "file") return yield* refuse(`${path} in ${c.name} is not a regular file (${entry?.type ?? "empty archive"})`)
              if (entry.content.length > maxTamperBytes) return yield* refuse(`${path} in ${c.name} is ${entry.content.length} bytes; tamper saves at most ${maxTamperBytes} bytes of original`)
              originals.set(c.id, archive)
              // The engine's headers carry the file type bits too (0o100644): keep the permission bits.
              return { id: c.id, name: c.name, size: entry.content.length, mode: entry.mode & 0o7777, archive: archive.toString("base64") }
            }),
          { concurrency: DockerFault.concurrency },
        )
        const show = (f: (typeof files)[number]) => `${f.name} (${f.size} bytes, mode ${f.mode.toString(8).padStart(4, "0")})`
        return { description: `restore ${path} in ${files.map(show).join(", ")}`, path, dir, files }
      }),
    inject: (list, engine) =>
      DockerFault.eachOf(list, (c) =>
        Effect.gen(function* () {
          const original = originals.get(c.id) ?? (yield* engine.getArchive(c.id, path))
          originals.delete(c.id)
          const entry = unpack(original)[0]
          const owner = ownerOf(original)
          const tar = pack([{ path: name, type: "file", content, mode: options.mode ?? (entry === undefined ? 0o644 : entry.mode & 0o7777), uid: owner.uid, gid: owner.gid, mtime: Math.floor(Date.now() / 1000) }])
          yield* engine.putArchive(c.id, dir, tar)
        }),
      ),
    compensators,
  })
}

export interface RogueListenerOptions extends FaultOptions {
  /** The port it listens on, inside its container and published on 127.0.0.1. */
  readonly port: number
  /** Default `shiftup-lab/rogue:latest` (listens on `$PORT`). */
  readonly image?: string
  /** The network to join; default the target container's first network. Must be one of its networks. */
  readonly network?: string
}

const safeName = (s: string) => s.replace(/[^a-zA-Z0-9_.-]/g, "-").slice(0, 60)

/**
 * "Does anybody notice a new open port?": starts a labelled container that listens on `port`,
 * published on 127.0.0.1 and attached to the network of the target's (first) container, so a
 * detector scanning that network sees it. The target is the container whose network it joins
 * (policy and budget are checked against it; safety `disrupt`). Rollback removes every container
 * labelled with this run and fault: idempotent, and it also removes one created just before a crash.
 *
 * @example
 * Docker.rogueListener(auth, { port: 4444 })
 */
export const rogueListener = (target: ContainerTarget, options: RogueListenerOptions) => {
  const id = options.id ?? `rogue listener ${options.port} next to ${target.id}`
  const image = options.image ?? "shiftup-lab/rogue:latest"
  const refuse = (detail: string) => Effect.fail(fail(new InjectionFailed({ fault: id, target: target.id, detail })))
  const networks = new Map<string, string>()
  const labelsFor = (runId: string) => ({ [runLabel]: runId, "shiftup.fault": id })
  return DockerFault.make({
    id,
    title: `start a rogue listener on port ${options.port} next to ${target.id}`,
    target,
    kind: "docker.remove-labelled",
    capture: (list) =>
      Effect.gen(function* () {
        const runId = (yield* RunContext).runId
        if (!(Number.isInteger(options.port) && options.port >= 1 && options.port <= 65_535)) return yield* refuse(`port must be 1–65535, got ${options.port}`)
        const first = list[0]
        if (first === undefined) return yield* refuse("the target has no container")
        const joinable = Object.keys(first.networks).filter((n) => n !== "host" && n !== "none")
        const network = options.network ?? joinable[0]
        if (network === undefined) return yield* refuse(`${first.name} is on no network a container can join (${Object.keys(first.networks).join(", ") || "none"})`)
        if (!joinable.includes(network)) return yield* refuse(`${first.name} is not on network "${network}" (it is on ${joinable.join(", ") || "none"})`)
        networks.set(runId, network)
        const labels = labelsFor(runId)
        return {
          description: `remove the rogue listener on port ${options.port} in network ${network} (containers labelled ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(", ")})`,
          labels,
          containers: [],
        }
      }),
    inject: (_list, engine) =>
      Effect.gen(function* () {
        const runId = (yield* RunContext).runId
        const network = networks.get(runId)
        networks.delete(runId)
        if (network === undefined) return yield* refuse("no network was captured for this run")
        yield* engine.run({
          name: `shiftup-rogue-${safeName(runId)}-${options.port}`,
          image,
          env: { PORT: String(options.port) },
          labels: labelsFor(runId),
          publish: [{ containerPort: options.port, hostPort: options.port }],
          network,
        })
      }),
    compensators,
  })
}
