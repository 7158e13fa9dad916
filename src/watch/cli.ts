/**
 * `shiftup watch` and `shiftup findings`: loaded only for these commands (with croner,
 * prom-client and node:sqlite, which nothing else loads).
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import type { Config } from "../Config.ts"
import type { CliIo } from "../cli/main.ts"
import { loadConfig, loadFile } from "../cli/load.ts"
import { fail, InvalidArguments } from "../ShiftupError.ts"
import { renderOpen, type Format } from "./findings.ts"
import { renderHtml } from "./findings-html.ts"
import { logger, type LogFormat } from "./log.ts"
import { openConfiguredStore } from "./store/open.ts"
import { shutdownMs, startWatch } from "./watch.ts"

export interface WatchArgs {
  readonly config: string | undefined
  readonly stateDir: string | undefined
  readonly log: string | undefined
}

/** Runs until `signal` aborts (the CLI's SIGTERM/SIGINT); exit 0 after a clean stop, 3 when a job had to be abandoned. */
export const watchCommand = async (args: WatchArgs, io: CliIo, signal: AbortSignal | undefined): Promise<number> => {
  if (args.log !== undefined && args.log !== "json" && args.log !== "human") throw fail(new InvalidArguments({ detail: `--log takes json or human, not "${args.log}"` }))
  const format: LogFormat = (args.log as LogFormat | undefined) ?? (io.tty ? "human" : "json")
  const config = await loadConfig(args.config)
  const stateDir = args.stateDir ?? config.stateDir ?? ".shiftup"
  const log = logger(format, io.out)
  const watcher = await startWatch({ config, stateDir, log, load: async (file) => (await loadFile(file, io.err)).experiments })
  await new Promise<void>((resolve) => (signal === undefined ? undefined : signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })))
  log("info", "watch.stopping", { reason: String(signal?.reason ?? "signal"), deadlineMs: shutdownMs(config) })
  const state = await watcher.stop(shutdownMs(config))
  return state.clean ? 0 : 3
}

export interface FindingsArgs {
  readonly rest: ReadonlyArray<string>
  readonly config: string | undefined
  readonly stateDir: string | undefined
  readonly format: ReadonlyArray<string>
  readonly until: string | undefined
  /** Write the rendering to this file instead of stdout. */
  readonly out?: string | undefined
}

/** `shiftup findings [--format …]`: the open set; `shiftup findings accept <fingerprint> --until <date> <reason…>`: accept a risk. */
export const findingsCommand = async (args: FindingsArgs, io: CliIo): Promise<number> => {
  const format = args.format[0] ?? "text"
  if (args.format.length > 1 || !["text", "json", "sarif", "html"].includes(format)) throw fail(new InvalidArguments({ detail: `\`shiftup findings\` takes one --format: text, json, sarif or html` }))
  const [sub, fp, ...reason] = args.rest
  if (sub !== undefined && sub !== "accept") throw fail(new InvalidArguments({ detail: `\`shiftup findings\` takes no files; \`shiftup findings accept <fingerprint> --until <date> <reason…>\` accepts a risk` }))
  const until = args.until === undefined ? Number.NaN : Date.parse(args.until)
  if (sub === "accept" && (fp === undefined || reason.length === 0 || Number.isNaN(until)))
    throw fail(new InvalidArguments({ detail: "`shiftup findings accept` needs a fingerprint, --until <date> (e.g. 2027-01-31) and a reason" }))
  const config = await loadConfig(args.config)
  const store = await openConfiguredStore(config, args.stateDir)
  try {
    if (sub === "accept") {
      const t = await store.accept(fp as string, reason.join(" "), new Date(until), new Date())
      io.out(`${t.fingerprint} ${t.from ?? "new"} → accepted-risk until ${t.finding.acceptedUntil ?? ""}: ${t.finding.acceptedReason ?? ""}\n`)
    } else {
      const open = await store.open()
      // The feedback loop of findings that have a regression experiment: its runs' journals are in the state dir.
      const { loops } = await import("./feedback/loop.ts")
      const loopsOf = await loops(store, join(args.stateDir ?? config.stateDir ?? ".shiftup", "journals"))
      const text = format === "html" ? renderHtml(open, { profiles: profilesLine(config), loops: loopsOf }) : renderOpen(open, format as Format, loopsOf)
      if (args.out === undefined) io.out(text)
      else {
        mkdirSync(dirname(args.out), { recursive: true })
        writeFileSync(args.out, text)
        io.err(`shiftup findings: ${open.length} open finding(s) written to ${args.out}\n`)
      }
    }
  } finally {
    await store.close()
  }
  return 0
}

/** The misconfiguration profiles in force, as the config chooses them (docs/misconfig.md). */
const profilesLine = (config: Config): string => {
  const m = config.misconfig ?? {}
  const parts = [`${m.profile ?? "web"} by default`, ...Object.entries(m.environments ?? {}).map(([env, p]) => `${p} in ${env}`), ...Object.entries(m.targets ?? {}).map(([t, p]) => `${p} for ${t}`)]
  return parts.join(", ")
}
