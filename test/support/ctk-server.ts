/**
 * A loopback HTTP service for the Chaos Toolkit tests: it records every request (method, path,
 * query, headers, body) and has a fault switch (`POST /fault/on`, `/fault/off`) that makes
 * `/health` answer 503 while it is on. Other paths: `/status/<n>` answers n, `/text` a version
 * line, `/slow` answers after 600 ms, `/metric` the text 42, `/echo-auth` the
 * Authorization header it got; anything else 200 "ok".
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import type { TestContext } from "vitest"
import { main } from "../../src/cli/main.ts"
import { fixture, readJournal, testScope, type JournalDoc } from "./proc-cli.ts"

export interface Seen {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

export interface CtkServer {
  readonly url: string
  readonly seen: () => ReadonlyArray<Seen>
  /** Requests to `path` (without the query). */
  readonly to: (path: string) => ReadonlyArray<Seen>
  /** Resolves when a request to `path` has arrived. */
  readonly arrived: (path: string) => Promise<Seen>
  readonly faulty: () => boolean
  readonly close: () => Promise<void>
}

const healthy = { status: "ok", items: [{ name: "a", up: true }, { name: "b", up: true }] }

export const startCtkServer = async (): Promise<CtkServer> => {
  const seen: Array<Seen> = []
  const waiting: Array<{ readonly path: string; readonly resolve: (s: Seen) => void }> = []
  let faulty = false
  const server = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x")
      const s: Seen = { method: req.method ?? "", path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body: Buffer.concat(chunks).toString("utf8") }
      seen.push(s)
      for (const w of waiting.filter((x) => x.path === s.path)) {
        waiting.splice(waiting.indexOf(w), 1)
        w.resolve(s)
      }
      const p = url.pathname
      const status = /^\/status\/(\d{3})$/.exec(p)
      if (p === "/fault/on" || p === "/fault/off") {
        faulty = p === "/fault/on"
        return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ faulty }))
      }
      if (p === "/health") return res.writeHead(faulty ? 503 : 200, { "content-type": "application/json" }).end(JSON.stringify(faulty ? { status: "down" } : healthy))
      if (status !== null) return res.writeHead(Number(status[1]), { "content-type": "text/plain" }).end(`status ${status[1]}`)
      if (p === "/text") return res.writeHead(200, { "content-type": "text/plain" }).end("service is healthy, version v1.2.3")
      if (p === "/slow") return void setTimeout(() => res.writeHead(200, { "content-type": "text/plain" }).end("slow"), 600)
      if (p === "/metric") return res.writeHead(200, { "content-type": "text/plain" }).end("42")
      if (p === "/echo-auth") return res.writeHead(200, { "content-type": "text/plain" }).end(`you sent ${req.headers["authorization"] ?? "nothing"}`)
      res.writeHead(200, { "content-type": "text/plain" }).end("ok")
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    seen: () => seen,
    to: (path) => seen.filter((s) => s.path === path),
    arrived: (path) => {
      const found = seen.find((s) => s.path === path)
      return found !== undefined ? Promise.resolve(found) : new Promise((resolve) => waiting.push({ path, resolve }))
    },
    faulty: () => faulty,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

export interface Ran {
  readonly r: { readonly code: number | null; readonly output: string; readonly stderr: string }
  readonly server: CtkServer
  /** The run's journal; reading it when the command wrote none (invalid input, `import`) throws. */
  readonly journal: JournalDoc
  readonly state: string
}

/**
 * Runs `shiftup <command> <fixture> …extra` on a Chaos Toolkit fixture, with a fresh service
 * of its own: through the CLI's own `main` in this process (a spawned bin costs ~1.5 s of CPU
 * each, too much for many runs on a shared machine), so such runs go one after the other — the
 * files read CTK_BASE_URL from the environment; a `.yaml` file goes through the real bin, which
 * also proves that `yaml` loads there.
 */
export const runCtk = async (context: TestContext, file: string, extra: ReadonlyArray<string> = [], env: Readonly<Record<string, string>> = {}, command: ReadonlyArray<string> = ["run"]): Promise<Ran> => {
  const scope = testScope(context)
  const server = await startCtkServer()
  context.onTestFinished(() => server.close())
  const state = scope.tempDir("shiftup-ctk-state-")
  const journal = join(state, "run.json")
  const args = [...command, fixture("ctk", file), ...(command[0] === "run" ? ["--state-dir", state, "--journal", journal] : []), ...extra]
  let r: Ran["r"]
  if (file.endsWith(".yaml")) r = await scope.runCli(args, { env: { CTK_BASE_URL: server.url, ...env } })
  else {
    const vars = { CTK_BASE_URL: server.url, ...env }
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
    Object.assign(process.env, vars)
    let output = ""
    let stderr = ""
    try {
      const code = await main(args, { io: { out: (t) => void (output += t), err: (t) => void ((stderr += t), (output += t)), tty: false } })
      r = { code, output, stderr }
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
  const result = { r, server, state }
  return Object.defineProperty(result, "journal", { get: () => readJournal(journal), enumerable: true }) as Ran
}

