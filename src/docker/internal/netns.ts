/**
 * Commands inside a container's network namespace, run from the host: `nsenter --net=<fd>
 * iptables …`, `tc …`, `ip …`, through a descriptor of the namespace held open, so a command
 * acts on exactly the namespace that was checked — and never on the host's own. Every command is
 * a program with arguments (never a shell string), with a deadline, in a process group of its
 * own; every failure is mapped to what a person does about it: a missing tool names its Debian
 * package, a permission error says root is needed, and a namespace that has gone (the
 * container's process exited) is told apart.
 */
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, statSync } from "node:fs"
import { Effect } from "effect"
import { type HelperFailure, runHelper } from "./helper.ts"

/** Why a command failed. */
export type FailureReason =
  /** The program is not installed (on the host, or not found by nsenter). */
  | "missing-tool"
  /** Not root (entering a namespace, changing netfilter or qdiscs needs CAP_SYS_ADMIN/CAP_NET_ADMIN). */
  | "not-root"
  /** The process whose namespace was asked for does not exist any more. */
  | "namespace-gone"
  /** The namespace is not the one recorded (the container restarted since). */
  | "namespace-changed"
  /** The namespace is this machine's own: refused, always. */
  | "host-namespace"
  | "timeout"
  /** The program ran and said no (bad rule, no such device…); `detail` has its stderr. */
  | "failed"

export interface CommandFailed {
  readonly _tag: "CommandFailed"
  /** The command line, for messages (arguments are never passed through a shell). */
  readonly command: string
  readonly reason: FailureReason
  /** One line a person acts on. */
  readonly detail: string
  /** The program's exit code (-1 when it never ran or was killed). */
  readonly exitCode: number
  readonly stderr: string
}

/** Default deadline of one command. */
export const defaultTimeoutMs = 10_000

/** Debian packages of the tools used here, for "not installed" messages. */
const packages: Readonly<Record<string, string>> = {
  nsenter: "util-linux",
  iptables: "iptables",
  ip6tables: "iptables",
  "iptables-legacy": "iptables",
  "iptables-nft": "iptables",
  "ip6tables-legacy": "iptables",
  "ip6tables-nft": "iptables",
  "iptables-restore": "iptables",
  "ip6tables-restore": "iptables",
  tc: "iproute2",
  ip: "iproute2",
}

const missing = (tool: string) => `${tool} not installed: apt-get install ${packages[tool] ?? tool}`

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)

/** A command line as a person would type it (for messages only). */
export const show = (file: string, args: ReadonlyArray<string>): string => [file, ...args].map(quote).join(" ")

const classify = (file: string, args: ReadonlyArray<string>, e: HelperFailure, timeoutMs: number): CommandFailed => {
  const command = show(file, args)
  const stderr = e.stderr.trim()
  const exitCode = typeof e.code === "number" ? e.code : -1
  const made = (reason: FailureReason, detail: string): CommandFailed => ({ _tag: "CommandFailed", command, reason, detail, exitCode, stderr })
  if (e.code === "ENOENT") return made("missing-tool", missing(file))
  if (e.code === "EACCES") return made("not-root", `${file} cannot be run by this user (EACCES)`)
  if (e.killed) return made("timeout", `\`${command}\` did not finish within ${timeoutMs} ms`)
  const inner = file === "nsenter" ? nsenterTarget(args) : file
  const notExecuted = /nsenter: failed to execute (\S+): No such file or directory/.exec(stderr)
  if (notExecuted !== null) return made("missing-tool", missing(notExecuted[1] ?? inner))
  if (/nsenter: .*(Permission denied|Operation not permitted)/.test(stderr)) return made("not-root", `nsenter needs root (CAP_SYS_ADMIN) to enter a container's network namespace: ${lastLine(stderr)}`)
  if (/you must be root|Permission denied|Operation not permitted/.test(stderr)) return made("not-root", `${inner} needs root (CAP_NET_ADMIN): ${lastLine(stderr)}`)
  if (/Couldn't load (match|target)|Extension \S+ revision 0 not supported|No chain\/target\/match by that name/.test(stderr))
    return made("failed", `${inner}: a netfilter extension is missing in this kernel: ${lastLine(stderr)}`)
  return made("failed", `\`${command}\` failed (exit ${exitCode}): ${stderr === "" ? e.message : firstLines(stderr)}`)
}

const lastLine = (s: string) => s.split("\n").filter((l) => l.trim() !== "").pop() ?? s
const firstLines = (s: string) => s.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("Try `")).slice(0, 3).join(" / ")

/** The program nsenter is asked to run: the first argument after the options. */
const nsenterTarget = (args: ReadonlyArray<string>) => args.find((a) => !a.startsWith("-")) ?? "nsenter"

export interface RunOptions {
  readonly timeoutMs?: number
  /** Written to the program's standard input. */
  readonly input?: string
}

/**
 * Runs a program (no shell) and resolves with its stdout. It runs in a process group of its own
 * (see `helper.ts`): a Ctrl-C to the terminal's group cannot cut a rollback's command short.
 */
export const run = (file: string, args: ReadonlyArray<string>, options: RunOptions & { readonly fds?: ReadonlyArray<number> } = {}): Effect.Effect<string, CommandFailed> => {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs
  return runHelper(file, args, { timeoutMs, ...(options.fds === undefined ? {} : { fds: options.fds }), ...(options.input === undefined ? {} : { input: options.input }) }).pipe(Effect.mapError((e) => classify(file, args, e, timeoutMs)))
}

// ---------------------------------------------------------------------------------------------
// Namespaces by identity.

/**
 * A network namespace held open. The descriptor pins it: commands enter exactly this namespace
 * (`nsenter --net=/proc/self/fd/3`), never "whatever namespace pid N has now" — a pid can exit and
 * be reused between a check and a command. `inode` is the namespace's identity (what
 * `/proc/<pid>/ns/net` links to: `net:[inode]`), recorded in the ledger.
 */
export interface Namespace {
  readonly fd: number
  readonly inode: number
  /** Where it was opened from (`/proc/<pid>/ns/net`, a bind mount), for messages. */
  readonly source: string
}

const failed = (command: string, reason: FailureReason, detail: string): CommandFailed => ({ _tag: "CommandFailed", command, reason, detail, exitCode: -1, stderr: "" })

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String(e)

/** The inode of a namespace file, or `undefined` when it does not exist (or cannot be read: another user's, a more privileged process's). */
const inodeAt = (path: string): number | undefined => {
  try {
    return statSync(path).ino
  } catch (e) {
    // ENOENT/ESRCH: no such process any more; EACCES: not ours to read. Neither is this namespace.
    if (["ENOENT", "ESRCH", "EACCES", "EPERM", "ENOTDIR"].includes(errno(e))) return undefined
    throw e
  }
}

/** The network namespace of host process `pid` (its inode), or `undefined` when the process is gone. */
export const inodeOf = (pid: number): number | undefined => (pid > 0 ? inodeAt(`/proc/${pid}/ns/net`) : undefined)

/**
 * The identities of this machine's own network namespace, as far as this process can see them:
 * its own, init's (unreadable in some sandboxes), and the engine's `default` (the host's, as
 * Docker bind-mounts it). A namespace fault never enters one of these.
 */
export const hostNamespaces = (): ReadonlySet<number> =>
  new Set(["/proc/self/ns/net", "/proc/1/ns/net", "/run/docker/netns/default", "/var/run/docker/netns/default"].map(inodeAt).filter((i): i is number => i !== undefined))

/** Opens a namespace file; `undefined` when it is gone (the process exited). */
export const open = (path: string): Effect.Effect<Namespace | undefined, CommandFailed> =>
  Effect.try({
    try: () => {
      let fd: number
      try {
        fd = openSync(path, "r")
      } catch (e) {
        if (["ENOENT", "ESRCH"].includes(errno(e))) return undefined
        throw e
      }
      return { fd, inode: fstatSync(fd).ino, source: path }
    },
    catch: (e) =>
      ["EACCES", "EPERM"].includes(errno(e))
        ? failed(`open ${path}`, "not-root", `opening ${path} needs root (CAP_SYS_ADMIN, and the right to trace that process): ${errno(e)}`)
        : failed(`open ${path}`, "failed", `cannot open ${path}: ${String(e)}`),
  })

const close = (ns: Namespace) => Effect.sync(() => closeSync(ns.fd))

const notHost = (ns: Namespace, what: string): Effect.Effect<Namespace, CommandFailed> =>
  Effect.suspend(() =>
    hostNamespaces().has(ns.inode)
      ? Effect.fail(failed(what, "host-namespace", `${ns.source} is this machine's own network namespace (net:[${ns.inode}]): shiftup never enters or changes the host's network`))
      : Effect.succeed(ns),
  )

/**
 * Runs `use` with namespace `path` held open — refused when it is the host's, or when `expected`
 * is given and it is not that namespace (an inode recorded earlier).
 */
export const withNamespace = <A, E>(path: string, use: (ns: Namespace) => Effect.Effect<A, E>, expected?: number): Effect.Effect<A, E | CommandFailed> =>
  Effect.acquireUseRelease(
    open(path).pipe(
      Effect.flatMap((ns) =>
        ns === undefined ? Effect.fail(failed(`open ${path}`, "namespace-gone", `the network namespace ${path} is gone (its process exited)`)) : Effect.succeed(ns),
      ),
    ),
    (ns) =>
      expected !== undefined && ns.inode !== expected
        ? Effect.fail(failed(`open ${path}`, "namespace-changed", `${path} is network namespace ${ns.inode} now, not ${expected} (the container restarted since)`))
        : Effect.flatMap(notHost(ns, `open ${path}`), use),
    close,
  )

/** Where to run a command: an open namespace, or (for tests and one-off reads) a host pid whose namespace is opened for it. */
export type NetnsRef = Namespace | number

/**
 * Runs `file args` inside a network namespace — never the host's: a namespace that is this
 * machine's own is refused here, below every fault and compensator.
 */
export const inNetns = (where: NetnsRef, file: string, args: ReadonlyArray<string>, options: RunOptions = {}): Effect.Effect<string, CommandFailed> => {
  if (typeof where === "number")
    return where > 0
      ? withNamespace(`/proc/${where}/ns/net`, (ns) => inNetns(ns, file, args, options))
      : Effect.fail(failed(show(file, args), "namespace-gone", "the container is not running: it has no network namespace"))
  return Effect.flatMap(notHost(where, show(file, args)), (ns) => run("nsenter", ["--net=/proc/self/fd/3", file, ...args], { ...options, fds: [ns.fd] }))
}

/**
 * Finds network namespace `inode` on this machine, trying `pids` first, then every process and
 * every bind-mounted namespace (`nsfs` mounts, e.g. the engine's `/run/docker/netns/*`).
 * `undefined` when nothing holds it any more: then it is destroyed, with every rule and qdisc in it.
 */
export const locate = (inode: number, pids: ReadonlyArray<number>): Effect.Effect<string | undefined> =>
  Effect.sync(() => {
    const candidates = function* () {
      for (const pid of pids) if (pid > 0) yield `/proc/${pid}/ns/net`
      for (const entry of readdirSync("/proc")) if (/^\d+$/.test(entry)) yield `/proc/${entry}/ns/net`
      for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
        const fields = line.split(" ")
        const dash = fields.indexOf("-")
        if (dash !== -1 && fields[dash + 1] === "nsfs" && fields[3] === `net:[${inode}]` && fields[4] !== undefined) yield fields[4].replace(/\\040/g, " ")
      }
    }
    for (const path of candidates()) if (inodeAt(path) === inode) return path
    return undefined
  })

/** The interfaces of a namespace, without loopback (`ip -j link show`). */
export const interfaces = (where: NetnsRef): Effect.Effect<ReadonlyArray<string>, CommandFailed> =>
  inNetns(where, "ip", ["-j", "link", "show"]).pipe(
    Effect.flatMap((out) => parseJson<ReadonlyArray<{ readonly ifname?: string; readonly link_type?: string; readonly flags?: ReadonlyArray<string> }>>(out, "ip -j link show")),
    Effect.map((links) => links.filter((l) => typeof l.ifname === "string" && l.link_type !== "loopback" && !(l.flags ?? []).includes("LOOPBACK")).map((l) => String(l.ifname))),
  )

export interface Qdisc {
  readonly dev: string
  readonly kind: string
  /** `0:` for the default qdisc the kernel attached itself; `8001:`… for one someone added. */
  readonly handle: string
  readonly root: boolean
  readonly options: Readonly<Record<string, unknown>>
}

/** Every qdisc of a namespace (`tc -j qdisc show`). */
export const qdiscs = (where: NetnsRef): Effect.Effect<ReadonlyArray<Qdisc>, CommandFailed> =>
  inNetns(where, "tc", ["-j", "qdisc", "show"]).pipe(
    Effect.flatMap((out) => parseJson<ReadonlyArray<Record<string, unknown>>>(out === "" ? "[]" : out, "tc -j qdisc show")),
    Effect.map((list) =>
      list.map((q) => ({
        dev: String(q["dev"] ?? ""),
        kind: String(q["kind"] ?? ""),
        handle: String(q["handle"] ?? ""),
        root: q["root"] === true,
        options: typeof q["options"] === "object" && q["options"] !== null ? (q["options"] as Record<string, unknown>) : {},
      })),
    ),
  )

const parseJson = <A>(out: string, what: string): Effect.Effect<A, CommandFailed> =>
  Effect.try({
    try: () => JSON.parse(out) as A,
    catch: () => ({ _tag: "CommandFailed" as const, command: what, reason: "failed" as const, detail: `${what} printed something that is not JSON: ${out.slice(0, 200)}`, exitCode: 0, stderr: "" }),
  })

/**
 * Whether host process `pid` is container `containerId`'s, from `/proc/<pid>/cgroup` (its
 * cgroup path names the container): a pid from an engine on another machine, or in a VM, must
 * never be entered here. `gone` when no such process exists.
 */
export const processOf = (pid: number, containerId: string): Effect.Effect<"container" | "gone" | "other"> =>
  Effect.promise(async () => {
    const { readFile } = await import("node:fs/promises")
    const text = pid > 0 ? await readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => undefined) : undefined
    return text === undefined ? "gone" : containerId !== "" && text.includes(containerId) ? "container" : "other"
  })

/** The IPv6 addresses of a namespace other than loopback, from `/proc/<pid>/net/if_inet6` (empty when IPv6 is off). */
export const hasIpv6 = (pid: number): Effect.Effect<boolean> =>
  Effect.promise(async () => {
    const { readFile } = await import("node:fs/promises")
    const text = await readFile(`/proc/${pid}/net/if_inet6`, "utf8").catch(() => "")
    return text.split("\n").some((line) => {
      const cols = line.trim().split(/\s+/)
      return cols.length >= 6 && cols[5] !== "lo" && !(cols[0] ?? "").startsWith("fe80")
    })
  })

/**
 * Splits one line of `iptables -S` into arguments: words, and double-quoted strings with
 * backslash escapes (how iptables prints comments).
 */
export const splitRule = (line: string): Array<string> => {
  const out: Array<string> = []
  let i = 0
  while (i < line.length) {
    while (line[i] === " " || line[i] === "\t") i++
    if (i >= line.length) break
    let word = ""
    if (line[i] === '"') {
      i++
      while (i < line.length && line[i] !== '"') {
        if (line[i] === "\\" && i + 1 < line.length) i++
        word += line[i]
        i++
      }
      i++
    } else {
      while (i < line.length && line[i] !== " " && line[i] !== "\t") word += line[i++]
    }
    out.push(word)
  }
  return out
}

/** The `--comment` of a rule's arguments, if any. */
export const commentOf = (args: ReadonlyArray<string>): string | undefined => {
  const i = args.indexOf("--comment")
  return i === -1 ? undefined : args[i + 1]
}

/** `iptables v1.8.9 (nf_tables)` → `nf_tables`; `legacy` for the legacy backend; `unknown` otherwise. */
export const backendOf = (version: string): string => /\((nf_tables|legacy)\)/.exec(version)?.[1] ?? (version.includes("iptables v") ? "legacy" : "unknown")
