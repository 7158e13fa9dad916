/**
 * What the namespace faults (`partition`, `bandwidth`) share: which containers' namespaces they
 * may enter, which namespace each one entered, and how a rollback finds that very namespace
 * again — never another one, never the host's.
 *
 * - At plan time (`preflight`), a member on the host's network (`network_mode: host`) is
 *   refused: its "namespace" is this machine's own, and the rules would land on the host. So is a
 *   member that shares another container's namespace (`container:<x>`) unless `x` is planned in
 *   the same target (then the policy checked it too), one whose namespace an unplanned container
 *   shares, and one with no network at all (`none`: nothing to partition or shape).
 * - At injection, each namespace is recorded by identity (its inode, and the pid it was entered
 *   through) in the ledger, and entered through a descriptor held open, checked to be that one.
 * - At rollback, the recorded namespace is looked for on the whole machine (the container's
 *   current process, the recorded pid, every process, every bind mount): found, the rollback
 *   enters it (checked again: that inode, not the host's) and proves the fault's rules or qdisc
 *   gone; not found anywhere, the namespace was destroyed with everything in it. (The kernel may
 *   give a destroyed namespace's inode to a later one; entering that one removes nothing, as only
 *   what carries the fault's own tag or handle is removed.)
 */
import { Effect } from "effect"
import type { Refusal } from "../../Fault.ts"
import { fail, InjectionFailed, RollbackFailed, type ShiftupError } from "../../ShiftupError.ts"
import type { Container, DockerEngine, EngineCallError } from "../model.ts"
import { differences } from "./fault.ts"
import * as Netns from "./netns.ts"

/** One namespace a fault entered, as its ledger records it. */
export interface Entered {
  /** The member it was entered through (others in `containers` may share it). */
  readonly container: string
  readonly name: string
  readonly pid: number
  /** The namespace's inode: its identity. */
  readonly netns: number
}

/** A fault's words for messages: `partition` / `add iptables rules to`. */
export interface What {
  readonly fault: string
  readonly changes: string
}

const modeOf = (c: Pick<Container, "networkMode">) => c.networkMode

/** The container whose namespace `c` joins (`container:<id>`), followed through chains; `undefined` when it is gone. */
const ownerOf = (engine: DockerEngine, c: Container): Effect.Effect<Container | undefined, EngineCallError> =>
  Effect.gen(function* () {
    let at = c
    for (let hop = 0; hop < 8 && modeOf(at).startsWith("container:"); hop++) {
      const next = yield* engine.inspect(modeOf(at).slice("container:".length)).pipe(Effect.catchIf((e) => e.status === 404, () => Effect.succeed(undefined)))
      if (next === undefined) return undefined
      at = next
    }
    return at
  })

/** Plan-time refusals of a namespace fault on `list` (the members planned for the run). */
export const preflight =
  (targetId: string, what: What) =>
  (list: ReadonlyArray<Container>, engine: DockerEngine): Effect.Effect<ReadonlyArray<Refusal>, EngineCallError> =>
    Effect.gen(function* () {
      const planned = new Set(list.map((c) => c.id))
      const host = Netns.hostNamespaces()
      const everyone = yield* engine.list({ all: true })
      const refusals: Array<Refusal> = []
      const onHost = (c: Container, via = "") =>
        refusals.push({
          rule: "docker.netns-host",
          detail: `container ${c.name} ${via}uses the host's network (network_mode: host): a ${what.fault} would ${what.changes} this machine's own network namespace. Namespace faults need a container with a network namespace of its own; for a service on the host's network, put a shiftup/net proxy in front of it`,
        })
      const shared = (detail: string) => refusals.push({ rule: "docker.netns-shared", detail })
      for (const c of list) {
        const mode = modeOf(c)
        if (mode === "host") {
          onHost(c)
          continue
        }
        if (mode === "none") {
          refusals.push({ rule: "docker.netns-none", detail: `container ${c.name} has no network (network_mode: none): there is no traffic but loopback to ${what.fault}, so the fault would test nothing; target a container with a network` })
          continue
        }
        if (mode.startsWith("container:")) {
          const owner = yield* ownerOf(engine, c)
          if (owner === undefined) shared(`container ${c.name} shares the network namespace of ${mode}, which no longer exists; a ${what.fault} of it cannot be checked`)
          else if (modeOf(owner) === "host") onHost(c, `shares the namespace of ${owner.name}, which `)
          else if (!planned.has(owner.id))
            shared(
              `container ${c.name} shares the network namespace of container ${owner.name} (network_mode: container:${owner.name}): a ${what.fault} would act on ${owner.name} and every container in that namespace, which this plan did not classify. Select ${owner.name} into "${targetId}" too (then it is classified and checked with it), or target ${owner.name} itself`,
            )
        }
        for (const s of everyone)
          if (!planned.has(s.id) && modeOf(s) === `container:${c.id}`)
            shared(
              `container ${s.name} shares the network namespace of ${c.name} (network_mode: container:${c.name}) and is not in "${targetId}": a ${what.fault} of ${c.name} would act on ${s.name} too, which this plan did not classify. Select ${s.name} into the target too`,
            )
        // Whatever the engine says: the namespace itself must not be this machine's own.
        const inode = c.state.running ? Netns.inodeOf(c.state.pid) : undefined
        if (mode !== "host" && inode !== undefined && host.has(inode)) onHost(c, `(its process ${c.state.pid} is in the host's namespace) `)
      }
      return refusals
    })

const elsewhere = (pid: number, c: Container) =>
  `process ${pid} on this machine is not container ${c.name}'s: is the engine on another machine or in a VM? Network faults enter the container's namespace from the engine's own host`

/** The pid of a running member whose namespace this machine can enter. */
export const running = (fault: string, target: string, c: Container, verb: string): Effect.Effect<number, ShiftupError> => {
  const failed = (detail: string) => fail(new InjectionFailed({ fault, target, detail }))
  return Effect.gen(function* () {
    if (!c.state.running || c.state.pid <= 0) return yield* Effect.fail(failed(`container ${c.name} is ${c.state.status}: it has no network namespace to ${verb}`))
    const owner = yield* Netns.processOf(c.state.pid, c.id)
    if (owner === "gone") return yield* Effect.fail(failed(`container ${c.name} stopped: it has no network namespace to ${verb}`))
    if (owner === "other") return yield* Effect.fail(failed(elsewhere(c.state.pid, c)))
    return c.state.pid
  })
}

/**
 * The namespaces of the members, each once (members may share one), identified before anything
 * changes; refused when a member has no namespace this machine can enter, or it is the host's.
 */
export const capture = (fault: string, target: string, list: ReadonlyArray<Container>, verb: string): Effect.Effect<ReadonlyArray<Entered>, ShiftupError> =>
  Effect.gen(function* () {
    const out: Array<Entered> = []
    for (const c of list) {
      const pid = yield* running(fault, target, c, verb)
      const netns = yield* Netns.withNamespace(`/proc/${pid}/ns/net`, (ns) => Effect.succeed(ns.inode)).pipe(
        Effect.mapError((e) => fail(new InjectionFailed({ fault, target, detail: `container ${c.name}: ${e.detail}` }))),
      )
      if (!out.some((e) => e.netns === netns)) out.push({ container: c.id, name: c.name, pid, netns })
    }
    return out
  })

/** Runs `use` in a namespace recorded at capture, entered through the recorded pid: refused if that pid's namespace is another one now. */
export const inCaptured = <A>(e: Entered, use: (ns: Netns.Namespace) => Effect.Effect<A, Netns.CommandFailed>): Effect.Effect<A, Netns.CommandFailed> =>
  Netns.withNamespace(`/proc/${e.pid}/ns/net`, use, e.netns)

/**
 * Runs `use` in a recorded namespace wherever it is now; `undefined` when it exists nowhere on
 * this machine any more (destroyed, and everything in it). A holder that exits between being
 * found and being opened sends the search round again.
 */
export const inRecorded = <A>(engine: DockerEngine, e: Entered, use: (ns: Netns.Namespace) => Effect.Effect<A, Netns.CommandFailed>): Effect.Effect<A | undefined, Netns.CommandFailed | EngineCallError> =>
  Effect.gen(function* () {
    if (Netns.hostNamespaces().has(e.netns))
      return yield* Effect.fail<Netns.CommandFailed>({
        _tag: "CommandFailed",
        command: `enter net:[${e.netns}]`,
        reason: "host-namespace",
        detail: `the compensation names network namespace ${e.netns}, which is this machine's own: shiftup never enters the host's namespace (a damaged or hand-edited ledger?)`,
        exitCode: -1,
        stderr: "",
      })
    let last: Netns.CommandFailed | undefined
    for (let round = 0; round < 3; round++) {
      const now = yield* engine.inspect(e.container).pipe(Effect.catchIf((x) => x.status === 404, () => Effect.succeed(undefined)))
      const path = yield* Netns.locate(e.netns, [now?.state.running === true ? now.state.pid : 0, e.pid])
      if (path === undefined) return undefined
      const r = yield* Effect.result(Netns.withNamespace(path, use, e.netns))
      if (r._tag === "Success") return r.success
      if (r.failure.reason !== "namespace-gone" && r.failure.reason !== "namespace-changed") return yield* Effect.fail(r.failure)
      last = r.failure
    }
    return yield* Effect.fail<Netns.CommandFailed>({ ...(last as Netns.CommandFailed), detail: `network namespace ${e.netns} kept moving while shiftup tried to enter it: ${last?.detail ?? ""}` })
  })

/** The lines of `tool -S` (filter table) carrying `tag`, as printed. */
const taggedLines = (ns: Netns.Namespace, tool: string, tag: string): Effect.Effect<ReadonlyArray<string>, Netns.CommandFailed> =>
  Netns.inNetns(ns, tool, ["-w", "5", "-S"]).pipe(
    Effect.map((out) =>
      out.split("\n").filter((line) => {
        const a = Netns.splitRule(line)
        return a[0] === "-A" && Netns.commentOf(a) === tag
      }),
    ),
  )

/**
 * Deletes every rule of `tool`'s filter table carrying `tag`, then reads the table again:
 * `undefined` once none is left, else what is. The deletions go in one atomic
 * `iptables-restore --noflush` (hundreds of rules in milliseconds, so a rollback meets its
 * deadline); when a rule went meanwhile (a concurrent replay) that batch fails as a whole and the
 * rules are deleted one by one.
 */
export const removeTagged = (ns: Netns.Namespace, tool: string, tag: string): Effect.Effect<string | undefined, Netns.CommandFailed> =>
  Effect.gen(function* () {
    const lines = yield* taggedLines(ns, tool, tag)
    if (lines.length > 0) {
      const batch = `*filter\n${lines.map((l) => `-D${l.slice(2)}`).join("\n")}\nCOMMIT\n`
      yield* Netns.inNetns(ns, `${tool}-restore`, ["--noflush", "--wait", "5"], { input: batch }).pipe(
        Effect.catchIf(
          (e) => e.reason === "failed",
          () =>
            Effect.forEach(lines, (line) =>
              Netns.inNetns(ns, tool, ["-w", "5", "-D", ...Netns.splitRule(line).slice(1)]).pipe(
                // Deleted meanwhile (a concurrent replay): fine.
                Effect.catchIf((e) => e.reason === "failed" && /does a matching rule exist|No chain\/target\/match/.test(e.stderr), () => Effect.void),
              ),
            ),
        ),
      )
    }
    return yield* rulesLeft(ns, tool, tag)
  })

/** What is left of a fault's rules in a namespace, as a line; `undefined` when nothing. */
export const rulesLeft = (ns: Netns.Namespace, tool: string, tag: string): Effect.Effect<string | undefined, Netns.CommandFailed> =>
  taggedLines(ns, tool, tag).pipe(Effect.map((left) => (left.length === 0 ? undefined : `${left.length} ${tool} rule(s) tagged ${tag} are still in network namespace ${ns.inode}`)))

const ours = (qs: ReadonlyArray<Netns.Qdisc>, handle: string) => qs.filter((q) => q.root && q.kind === "tbf" && q.handle === handle)

/** What is left of a fault's tbf in a namespace, as a line; `undefined` when nothing. */
export const tbfLeft = (ns: Netns.Namespace, handle: string): Effect.Effect<string | undefined, Netns.CommandFailed> =>
  Netns.qdiscs(ns).pipe(
    Effect.map((qs) => {
      const left = ours(qs, handle)
      return left.length === 0 ? undefined : `the tbf ${handle} is still the root qdisc of ${left.map((q) => q.dev).join(", ")} in network namespace ${ns.inode}`
    }),
  )

/** Deletes the root tbf with `handle` on every interface that still has it (the kernel puts its default qdisc back); `undefined` once none is left. */
export const removeTbf = (ns: Netns.Namespace, handle: string): Effect.Effect<string | undefined, Netns.CommandFailed> =>
  Effect.gen(function* () {
    for (const q of ours(yield* Netns.qdiscs(ns), handle)) {
      yield* Netns.inNetns(ns, "tc", ["qdisc", "del", "dev", q.dev, "root", "handle", handle]).pipe(
        // Gone meanwhile (a concurrent replay, or the interface went with a disconnect): fine.
        Effect.catchIf((e) => e.reason === "failed" && /Cannot find device|handle of zero|Invalid handle|No such file or directory/.test(e.stderr), () => Effect.void),
      )
    }
    return yield* tbfLeft(ns, handle)
  })

// ── Compensators of namespace faults ──

/** What a namespace fault's record holds: the namespaces it entered, for the rollback. */
export interface NamespaceRecord {
  readonly kind: string
  readonly target: string
  readonly namespaces: ReadonlyArray<Entered>
}

const rollbackFailed = (r: NamespaceRecord, detail: string): ShiftupError => fail(new RollbackFailed({ fault: r.kind, target: r.target, detail }))

/** Runs `check` in each recorded namespace that still exists; every line it returns, joined. */
export const inEachNamespace = (r: NamespaceRecord, engine: DockerEngine, check: (ns: Netns.Namespace) => Effect.Effect<string | undefined, Netns.CommandFailed>) =>
  differences(r.namespaces, (e) =>
    inRecorded(engine, e, check).pipe(Effect.mapError((x): EngineCallError | ShiftupError => (x._tag === "CommandFailed" ? rollbackFailed(r, `container ${e.name}: ${x.detail}`) : x))),
  )

/** Removal in each namespace must end with nothing left (proved by reading it again), or the rollback failed. */
export const proveGone = (r: NamespaceRecord, engine: DockerEngine, remove: (ns: Netns.Namespace) => Effect.Effect<string | undefined, Netns.CommandFailed>) =>
  inEachNamespace(r, engine, remove).pipe(Effect.flatMap((left) => (left === undefined ? Effect.void : Effect.fail(rollbackFailed(r, left)))))
