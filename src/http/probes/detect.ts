/**
 * Detection checks: did anybody notice? An alert sink the run starts (an HTTP receiver your
 * alerting pipeline posts to), whose alerts are matched to the run by its id; a log-file watcher
 * (a line matching a pattern, carrying the run id); and `detected`, which turns any counting
 * probe into a time-to-detect check ("detected within 30 s", failing with the measured time).
 */
import { open } from "node:fs/promises"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import * as Expect from "../../Expect.ts"
import * as Probe from "../../Probe.ts"
import * as Resource from "../../Resource.ts"
import { RunContext } from "../../RunContext.ts"
import * as Target from "../../Target.ts"

export interface ReceivedAlert {
  /** Epoch milliseconds when the sink received it. */
  readonly at: number
  /** The run it was matched to: the `x-shiftup-run-id` header, or a run id found in the body. */
  readonly runId: string | null
  readonly body: string
}

export interface AlertSinkOptions {
  readonly id?: string
  /** Loopback port to listen on; default 0 (a free port: read `url()` after the start step). */
  readonly port?: number
  /** Path alerts are posted to; default `/alerts`. */
  readonly path?: string
}

export interface AlertSink {
  readonly target: Target.Target
  /**
   * The receiver as a run-owned resource: put it in the experiment's `resources`; the run starts
   * it after the plan is accepted and stops it at the very end. It is not a fault: it does not
   * count against the fault budget nor start the time-to-detect clock.
   */
  readonly resource: Resource.Resource<void>
  /** Alerts matched to the current run. */
  readonly alerts: Probe.Probe<ReadonlyArray<ReceivedAlert>>
  /** How many alerts were matched to the current run. */
  readonly received: Probe.Probe<number>
  /** Where to post, once started. */
  readonly url: () => string
  /** Every alert received, matched or not (for tests). */
  readonly all: () => ReadonlyArray<ReceivedAlert>
}

const runIdPattern = /\b\d{8}T\d{6}-[0-9a-f]{6}\b/

/**
 * An HTTP receiver for alerts, owned by the run: declare `sink.resource` in the experiment's
 * `resources`, point your alerting pipeline's webhook at its port, and check what it received.
 *
 * @example
 * const sink = Detect.alertSink({ port: 9099 })
 * resources: { sink: sink.resource },
 * method: [authDown, Detect.detected(sink.received, { within: "30 seconds" })]
 */
export const alertSink = (options: AlertSinkOptions = {}): AlertSink => {
  const id = options.id ?? "alert-sink"
  const path = options.path ?? "/alerts"
  const received: Array<ReceivedAlert> = []
  let server: http.Server | undefined
  let port = options.port ?? 0
  const target = Target.make(id, { kind: "alert-sink", environment: "lab", facts: { hostnames: ["127.0.0.1"], ...(port === 0 ? {} : { ports: [port] }) } })
  const resource = Resource.make({
    id,
    title: `the alert sink ${id}`,
    acquire: () =>
      new Promise<void>((resolve, reject) => {
        const s = http.createServer((req, res) => {
          const chunks: Array<Buffer> = []
          req.on("data", (c: Buffer) => {
            if (chunks.length < 256) chunks.push(c)
          })
          req.on("end", () => {
            const body = Buffer.concat(chunks).toString("utf8").slice(0, 16_384)
            const header = req.headers["x-shiftup-run-id"]
            if (req.method === "POST" && new URL(req.url ?? "/", "http://sink").pathname === path) {
              received.push({ at: Date.now(), runId: typeof header === "string" ? header : (runIdPattern.exec(body)?.[0] ?? null), body })
              res.writeHead(202).end()
            } else res.writeHead(404).end()
          })
        })
        s.once("error", reject)
        s.listen(port, "127.0.0.1", () => {
          port = (s.address() as AddressInfo).port
          server = s
          resolve()
        })
      }),
    release: (): Promise<void> =>
      new Promise<void>((resolve) => {
        const s = server
        server = undefined
        if (s === undefined) return resolve()
        s.closeAllConnections()
        s.close(() => resolve())
      }),
  })
  const alerts = Probe.make({
    id: `alerts received by ${id}`,
    target,
    observe: Effect.map(RunContext, (run) => received.filter((a) => a.runId === run.runId)),
  })
  return {
    target,
    resource,
    alerts,
    received: Probe.map(alerts, (a) => a.length, `alerts of this run received by ${id}`),
    url: () => `http://127.0.0.1:${port}${path}`,
    all: () => received,
  }
}

export interface LogWatchOptions {
  readonly id?: string
  /** The log file. */
  readonly file: string
  /** What a detection line looks like. */
  readonly pattern: RegExp
  /** Count only lines that carry the run id (default true: correlation, invariant 6). */
  readonly thisRunOnly?: boolean
  /** Bytes read from the end of the file at most; default 8 MiB. */
  readonly tailBytes?: number
}

/** Lines of a log file matching `pattern` (and, by default, carrying this run's id): a count. */
export const logWatch = (target: Target.Target, options: LogWatchOptions): Probe.Probe<number> =>
  Probe.make({
    id: options.id ?? `lines matching ${String(options.pattern)} in ${options.file}`,
    target,
    observe: Effect.gen(function* () {
      const run = yield* RunContext
      const text = yield* Effect.tryPromise({
        try: async () => {
          const fh = await open(options.file, "r").catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? null : Promise.reject(e)))
          if (fh === null) return ""
          try {
            const { size } = await fh.stat()
            const n = Math.min(size, options.tailBytes ?? 8 * 1024 * 1024)
            const buf = Buffer.alloc(n)
            await fh.read(buf, 0, n, size - n)
            return buf.toString("utf8")
          } finally {
            await fh.close()
          }
        },
        catch: (e) => e,
      }).pipe(Effect.orDie)
      return text.split("\n").filter((line) => {
        options.pattern.lastIndex = 0
        return options.pattern.test(line) && (options.thisRunOnly === false || line.includes(run.runId))
      }).length
    }),
  })

export interface DetectedOptions extends Omit<Expect.EventuallyOptions, "within"> {
  readonly within: Expect.EventuallyOptions["within"]
  /** How many detections are needed; default 1. */
  readonly atLeast?: number
}

/**
 * Time-to-detect: polls a counting probe (alerts received, log lines, a SIEM query) until it
 * reaches `atLeast`; the clock starts at the last injection. Fails with the measured time.
 */
export const detected = (probe: Probe.Probe<number>, options: DetectedOptions): Expect.Check<number> => {
  const { atLeast = 1, ...rest } = options
  return Expect.detects(probe, Expect.predicate(`at least ${atLeast}`, (n: number) => n >= atLeast), { severity: "high", cwe: "CWE-778", remediation: "Alert on this failure, tagged with the request's correlation id, and route it to the on-call.", ...rest })
}
