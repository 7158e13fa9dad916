/**
 * The watcher's Prometheus metrics (prom-client, its own registry — never the global one) and
 * its HTTP endpoint (127.0.0.1 by default): `/metrics` in the Prometheus text format, `/healthz` (200 with
 * the jobs' last runs as JSON while the watcher runs; 503 while it shuts down).
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Counter, Gauge, Histogram, Registry } from "prom-client"
import type { ProbeBudget } from "../RunContext.ts"
import type { FindingStore } from "./store/Store.ts"

export interface Metrics {
  readonly registry: Registry
  readonly jobDuration: Histogram<"job" | "outcome">
  readonly lastSuccess: Gauge<"job">
  readonly runs: Counter<"job" | "outcome">
  readonly skipped: Counter<"job">
  readonly transitions: Counter<"to">
}

export const metrics = (store: FindingStore, probes?: ProbeBudget): Metrics => {
  const registry = new Registry()
  if (probes !== undefined)
    new Counter({
      name: "shiftup_watch_probes_total",
      help: "Probes every job together sent under the shared probe budget (watch.probes): its rate is the probe rate used",
      registers: [registry],
      collect() {
        this.reset()
        this.inc(probes.booked())
      },
    })
  new Gauge({
    name: "shiftup_watch_open_findings",
    help: "Findings not resolved (new, open, regressed, accepted-risk), by severity and rule",
    labelNames: ["severity", "rule"] as const,
    registers: [registry],
    async collect() {
      const counts = await store.countOpen()
      this.reset()
      for (const c of counts) this.set({ severity: c.severity, rule: c.rule }, c.count)
    },
  })
  return {
    registry,
    jobDuration: new Histogram({ name: "shiftup_watch_job_duration_seconds", help: "How long each job run took", labelNames: ["job", "outcome"] as const, buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: [registry] }),
    lastSuccess: new Gauge({ name: "shiftup_watch_job_last_success_timestamp_seconds", help: "When each job last completed a scan (Unix time)", labelNames: ["job"] as const, registers: [registry] }),
    runs: new Counter({ name: "shiftup_watch_job_runs_total", help: "Job runs by outcome: ok (a complete scan), incomplete (refused, aborted, invalid: nothing recorded), error", labelNames: ["job", "outcome"] as const, registers: [registry] }),
    skipped: new Counter({ name: "shiftup_watch_job_skipped_total", help: "Ticks skipped: the same job was still running here, or another watcher held its lease", labelNames: ["job"] as const, registers: [registry] }),
    transitions: new Counter({ name: "shiftup_watch_finding_transitions_total", help: "Finding state changes, by the state entered", labelNames: ["to"] as const, registers: [registry] }),
  }
}

export interface Endpoint {
  readonly port: number
  readonly close: () => Promise<void>
}

/** Listens on `host` (127.0.0.1 unless the config says otherwise). */
export const serve = async (port: number, registry: Registry, health: () => { readonly ok: boolean; readonly body: unknown }, host = "127.0.0.1"): Promise<Endpoint> => {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]
    if (req.method !== "GET") return res.writeHead(405, { allow: "GET" }).end()
    if (path === "/healthz") {
      const h = health()
      return res.writeHead(h.ok ? 200 : 503, { "content-type": "application/json" }).end(`${JSON.stringify(h.body)}\n`)
    }
    if (path === "/metrics") {
      registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        (e: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${String(e)}\n`),
      )
      return
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("shiftup watch: /healthz or /metrics\n")
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, host, () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
