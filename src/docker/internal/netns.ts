/**
 * Commands inside a container's network namespace, run from the host: `nsenter -t <pid> -n
 * iptables …`, `tc …`, `ip …`. Every command is an `execFile` (never a shell string) with a
 * deadline, and every failure is mapped to what a person does about it: a missing tool names
 * its Debian package, a permission error says root is needed, and a namespace that has gone
 * (the container's process exited) is told apart, because a compensator has nothing to undo
 * there.
 */
import { execFile } from "node:child_process"
import { Effect } from "effect"

/** Why a command failed. */
export type FailureReason =
  /** The program is not installed (on the host, or not found by nsenter). */
  | "missing-tool"
  /** Not root (entering a namespace, changing netfilter or qdiscs needs CAP_SYS_ADMIN/CAP_NET_ADMIN). */
  | "not-root"
  /** The process whose namespace was asked for does not exist any more. */
  | "namespace-gone"
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
  tc: "iproute2",
  ip: "iproute2",
}

const missing = (tool: string) => `${tool} not installed: apt-get install ${packages[tool] ?? tool}`

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)

/** A command line as a person would type it (for messages only). */
export const show = (file: string, args: ReadonlyArray<string>): string => [file, ...args].map(quote).join(" ")

interface ExecError {
  readonly code?: string | number
  readonly killed?: boolean
  readonly signal?: string | null
  readonly stderr?: string
  readonly message?: string
}

const classify = (file: string, args: ReadonlyArray<string>, e: ExecError, timeoutMs: number): CommandFailed => {
  const command = show(file, args)
  const stderr = String(e.stderr ?? "").trim()
  const exitCode = typeof e.code === "number" ? e.code : -1
  const made = (reason: FailureReason, detail: string): CommandFailed => ({ _tag: "CommandFailed", command, reason, detail, exitCode, stderr })
  if (e.code === "ENOENT") return made("missing-tool", missing(file))
  if (e.code === "EACCES") return made("not-root", `${file} cannot be run by this user (EACCES)`)
  if (e.killed === true || e.signal === "SIGTERM") return made("timeout", `\`${command}\` did not finish within ${timeoutMs} ms`)
  const inner = file === "nsenter" ? nsenterTarget(args) : file
  const notExecuted = /nsenter: failed to execute (\S+): No such file or directory/.exec(stderr)
  if (notExecuted !== null) return made("missing-tool", missing(notExecuted[1] ?? inner))
  if (/nsenter: cannot open \/proc\/\d+\/ns\/\w+: No such file or directory/.test(stderr) || /No such process/.test(stderr))
    return made("namespace-gone", `the network namespace of process ${args[1] ?? "?"} is gone (the container's process exited)`)
  if (/nsenter: .*(Permission denied|Operation not permitted)/.test(stderr)) return made("not-root", `nsenter needs root (CAP_SYS_ADMIN) to enter a container's network namespace: ${lastLine(stderr)}`)
  if (/you must be root|Permission denied|Operation not permitted/.test(stderr)) return made("not-root", `${inner} needs root (CAP_NET_ADMIN): ${lastLine(stderr)}`)
  if (/Couldn't load (match|target)|Extension \S+ revision 0 not supported|No chain\/target\/match by that name/.test(stderr))
    return made("failed", `${inner}: a netfilter extension is missing in this kernel: ${lastLine(stderr)}`)
  return made("failed", `\`${command}\` failed (exit ${exitCode}): ${stderr === "" ? (e.message ?? "no output") : firstLines(stderr)}`)
}

const lastLine = (s: string) => s.split("\n").filter((l) => l.trim() !== "").pop() ?? s
const firstLines = (s: string) => s.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("Try `")).slice(0, 3).join(" / ")

/** The program nsenter is asked to run: the first argument after the options. */
const nsenterTarget = (args: ReadonlyArray<string>) => {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? ""
    if (a === "-t") i++
    else if (!a.startsWith("-")) return a
  }
  return "nsenter"
}

export interface RunOptions {
  readonly timeoutMs?: number
}

/** Runs a program (no shell) and resolves with its stdout. */
export const run = (file: string, args: ReadonlyArray<string>, options: RunOptions = {}): Effect.Effect<string, CommandFailed> => {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs
  return Effect.callback<string, CommandFailed>((resume, signal) => {
    execFile(file, [...args], { timeout: timeoutMs, killSignal: "SIGKILL", signal, maxBuffer: 16 * 1024 * 1024, encoding: "utf8", env: { ...process.env, LC_ALL: "C" } }, (error, stdout, stderr) => {
      if (error === null) return resume(Effect.succeed(stdout))
      const e = error as ExecError
      const killed = e.killed === true || e.signal === "SIGKILL"
      resume(Effect.fail(classify(file, args, { ...e, killed, stderr }, timeoutMs)))
    })
  })
}

/** Runs `file args` inside the network namespace of host process `pid`. */
export const inNetns = (pid: number, file: string, args: ReadonlyArray<string>, options: RunOptions = {}): Effect.Effect<string, CommandFailed> =>
  pid > 0
    ? run("nsenter", ["-t", String(pid), "-n", file, ...args], options)
    : Effect.fail({ _tag: "CommandFailed", command: show(file, args), reason: "namespace-gone", detail: "the container is not running: it has no network namespace", exitCode: -1, stderr: "" })

/** The interfaces of a namespace, without loopback (`ip -j link show`). */
export const interfaces = (pid: number): Effect.Effect<ReadonlyArray<string>, CommandFailed> =>
  inNetns(pid, "ip", ["-j", "link", "show"]).pipe(
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
export const qdiscs = (pid: number): Effect.Effect<ReadonlyArray<Qdisc>, CommandFailed> =>
  inNetns(pid, "tc", ["-j", "qdisc", "show"]).pipe(
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
