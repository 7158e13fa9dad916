/**
 * `npm run bench -- net`: the TCP fault proxy against direct loopback, in one run. The proxy
 * runs in a child process (as it would in front of a real service: its own event loop), the
 * clients and servers in this one, so "direct" and "proxied" differ only by the proxy hop.
 * Figures: pass-through throughput ratio of a large transfer, added round-trip latency (p50,
 * p99, µs), throughput ratio with 1,000 concurrent connections (and their errors), and the
 * proxy's peak memory.
 */
import { spawn, type ChildProcess } from "node:child_process"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import type { Line, Section } from "./lib.ts"

const host = "127.0.0.1"

const listen = (server: net.Server) => new Promise<number>((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)))

const closeServer = (server: net.Server, sockets: Set<net.Socket>) =>
  new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy()
    server.close(() => resolve())
  })

/** A sink: counts bytes; when the client half-closes, answers with the count and ends. */
const sinkServer = () => {
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
    s.on("error", () => undefined)
    let n = 0
    s.on("data", (c: Buffer) => (n += c.length))
    s.on("end", () => s.end(String(n)))
  })
  return { server, sockets }
}

/** A source: on the client's first bytes (a decimal count), sends that many bytes and ends. */
const sourceServer = () => {
  const sockets = new Set<net.Socket>()
  const block = Buffer.alloc(256 * 1024, 5)
  const server = net.createServer((s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
    s.on("error", () => undefined)
    s.once("data", async (d: Buffer) => {
      const total = Number(d.toString())
      let sent = 0
      while (sent < total && !s.destroyed) {
        sent += block.length
        if (!s.write(block)) await new Promise((r) => s.once("drain", r))
      }
      s.end()
    })
  })
  return { server, sockets }
}

const echoServer = () => {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((s) => {
    sockets.add(s)
    s.setNoDelay(true)
    s.on("close", () => sockets.delete(s))
    s.on("error", () => undefined)
    s.on("data", (c: Buffer) => s.write(c))
  })
  return { server, sockets }
}

const connect = (port: number) =>
  new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host, port, noDelay: true }, () => resolve(s))
    s.once("error", reject)
  })

/** Sends `total` bytes as fast as the socket takes them; resolves with MB/s once the sink acknowledged. */
const transfer = async (port: number, total: number): Promise<number> => {
  const s = await connect(port)
  const block = Buffer.alloc(256 * 1024, 7)
  const t0 = performance.now()
  const done = new Promise<string>((resolve, reject) => {
    let answer = ""
    s.on("data", (c: Buffer) => (answer += c.toString()))
    s.on("end", () => resolve(answer))
    s.on("error", reject)
  })
  let sent = 0
  while (sent < total) {
    sent += block.length
    if (!s.write(block)) await new Promise((r) => s.once("drain", r))
  }
  s.end()
  const answer = await done
  const ms = performance.now() - t0
  s.destroy()
  if (Number(answer) !== sent) throw new Error(`sink counted ${answer} bytes, ${sent} were sent`)
  return sent / 1e6 / (ms / 1000)
}

/** Receives `total` bytes from the source; resolves with MB/s. */
const download = async (port: number, total: number): Promise<number> => {
  const s = await connect(port)
  const t0 = performance.now()
  let got = 0
  await new Promise<void>((resolve, reject) => {
    s.on("data", (c: Buffer) => (got += c.length))
    s.on("end", () => resolve())
    s.on("error", reject)
    s.write(String(total))
  })
  const ms = performance.now() - t0
  s.destroy()
  if (got !== total) throw new Error(`received ${got} bytes of ${total}`)
  return got / 1e6 / (ms / 1000)
}

/** Sequential round trips of `size` bytes on one connection; returns each one's time in µs. */
const pingPong = async (port: number, count: number, size: number): Promise<Array<number>> => {
  const s = await connect(port)
  const msg = Buffer.alloc(size, 1)
  const times: Array<number> = []
  let got = 0
  let t0 = 0
  let next: () => void = () => undefined
  s.on("data", (c: Buffer) => {
    got += c.length
    if (got >= size) {
      got -= size
      times.push((performance.now() - t0) * 1000)
      next()
    }
  })
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve) => {
      next = resolve
      t0 = performance.now()
      s.write(msg)
    })
  }
  s.destroy()
  return times
}

/** `conns` connections at once, each doing `rounds` round trips of `size` bytes; MB/s both ways and errors. */
const concurrent = async (port: number, conns: number, rounds: number, size: number) => {
  let errors = 0
  const msg = Buffer.alloc(size, 3)
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: conns }, async () => {
      let s: net.Socket
      try {
        s = await connect(port)
      } catch {
        errors++
        return
      }
      await new Promise<void>((resolve) => {
        let got = 0
        let left = rounds
        s.on("error", () => {
          errors++
          resolve()
        })
        s.on("data", (c: Buffer) => {
          got += c.length
          while (got >= size) {
            got -= size
            if (--left === 0) return resolve()
            s.write(msg)
          }
        })
        s.write(msg)
      })
      s.destroy()
    }),
  )
  const ms = performance.now() - t0
  return { mbps: (2 * conns * rounds * size) / 1e6 / (ms / 1000), errors }
}

const percentile = (xs: ReadonlyArray<number>, p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number
}

interface ProxyChild {
  readonly ports: ReadonlyArray<number>
  readonly ask: (command: string) => Promise<Record<string, number>>
  readonly stop: () => Promise<void>
}

/** Starts the proxy process in front of `upstreams`. */
const startProxyChild = async (upstreams: ReadonlyArray<number>): Promise<ProxyChild> => {
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(import.meta.url), "--proxy-child", ...upstreams.map(String)], { stdio: ["pipe", "pipe", "inherit"] })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const waiting: Array<(line: string) => void> = []
  lines.on("line", (line) => waiting.shift()?.(line))
  const nextLine = () => new Promise<string>((resolve) => waiting.push(resolve))
  const ports = JSON.parse(await nextLine()) as Array<number>
  return {
    ports,
    ask: async (command) => {
      const answer = nextLine()
      child.stdin?.write(`${command}\n`)
      return JSON.parse(await answer) as Record<string, number>
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve())
        child.stdin?.end()
        setTimeout(() => child.kill("SIGKILL"), 2000).unref()
      }),
  }
}

/** socat in front of each upstream (one forked process per connection), or undefined if it is not installed. */
const startSocat = async (upstreams: ReadonlyArray<number>) => {
  const free = async () => {
    const probe = net.createServer()
    const port = await listen(probe)
    await new Promise((r) => probe.close(r))
    return port
  }
  const children: Array<ChildProcess> = []
  const ports: Array<number> = []
  for (const upstream of upstreams) {
    const port = await free()
    const child = spawn("socat", ["-b", "65536", `TCP-LISTEN:${port},bind=${host},fork,reuseaddr`, `TCP:${host}:${upstream}`], { stdio: "ignore" })
    const started = await new Promise<boolean>((resolve) => {
      child.once("error", () => resolve(false))
      child.once("spawn", () => resolve(true))
    })
    if (!started) {
      for (const c of children) c.kill()
      return undefined
    }
    children.push(child)
    ports.push(port)
    for (let i = 0; i < 50; i++) {
      const up = await connect(port).then(
        (s) => (s.destroy(), true),
        () => false,
      )
      if (up) break
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  return { ports, stop: () => children.forEach((c) => c.kill()) }
}

/** The child: one proxy per upstream port; answers `mem` and `stats` on stdin; exits when stdin closes. */
const proxyChild = async (upstreams: ReadonlyArray<number>) => {
  const Net = await import("../src/net/index.ts")
  const proxies = upstreams.map((port) => Net.proxy({ upstream: `${host}:${port}`, target: { environment: "lab" } }))
  const ports = await Promise.all(proxies.map(async (p) => (await p.listen()).port))
  console.log(JSON.stringify(ports))
  const lines = createInterface({ input: process.stdin })
  lines.on("line", (line) => {
    if (line === "mem") console.log(JSON.stringify({ rssMB: process.memoryUsage().rss / 1e6, maxRssMB: process.resourceUsage().maxRSS / 1e3 }))
    else console.log(JSON.stringify({ errors: proxies.reduce((n, p) => n + p.stats().errors, 0), accepted: proxies.reduce((n, p) => n + p.stats().accepted, 0) }))
  })
  lines.on("close", () => void Promise.all(proxies.map((p) => p.close())).then(() => process.exit(0)))
}

const run = async (): Promise<ReadonlyArray<Line>> => {
  const sink = sinkServer()
  const source = sourceServer()
  const echo = echoServer()
  const sinkPort = await listen(sink.server)
  const sourcePort = await listen(source.server)
  const echoPort = await listen(echo.server)
  const child = await startProxyChild([sinkPort, sourcePort, echoPort])
  const [proxySink, proxySource, proxyEcho] = child.ports as [number, number, number]
  const socat = await startSocat([sinkPort, sourcePort])
  try {
    const idle = await child.ask("mem")
    // Throughput: this machine's loopback speed drifts a lot from one second to the next, so
    // direct and proxied transfers alternate in rounds (order rotating) and each ratio is the
    // median over the rounds. socat, a C proxy (64 KiB buffer), runs in the same rounds when it is
    // installed: what a userspace proxy can reach at all over two loopback hops on this machine.
    const total = 128 * 1024 * 1024
    // 12 rounds: one round's ratio varies by ±0.2 here, so fewer leave the median to luck.
    const rounds = 12
    const routes = [
      { name: "direct", up: sinkPort, down: sourcePort },
      { name: "shiftup", up: proxySink, down: proxySource },
      ...(socat === undefined ? [] : [{ name: "socat", up: socat.ports[0] as number, down: socat.ports[1] as number }]),
    ]
    const speeds = new Map(routes.map((r) => [r.name, { up: [] as Array<number>, down: [] as Array<number> }]))
    for (let i = -1; i < rounds; i++) {
      const order = routes.map((_, k) => routes[(k + Math.max(0, i)) % routes.length] as (typeof routes)[number])
      for (const r of order) {
        const up = await transfer(r.up, i < 0 ? 32 << 20 : total)
        const down = await download(r.down, i < 0 ? 32 << 20 : total)
        // Round -1 warms every route up and is not counted.
        if (i < 0) continue
        speeds.get(r.name)?.up.push(up)
        speeds.get(r.name)?.down.push(down)
      }
    }
    /** Per-round ratios of a route to direct, in one direction; their median. */
    const ratio = (name: string, dir: "up" | "down") => {
      const direct = speeds.get("direct")?.[dir] ?? []
      const mine = speeds.get(name)?.[dir] ?? []
      return percentile(
        mine.map((x, k) => x / (direct[k] as number)),
        50,
      )
    }
    const up = ratio("shiftup", "up")
    const down = ratio("shiftup", "down")
    const median = (xs: ReadonlyArray<number>) => percentile(xs, 50)
    // Latency: 64-byte round trips, interleaved in blocks so drift affects both alike.
    const d: Array<number> = []
    const p: Array<number> = []
    await pingPong(echoPort, 500, 64)
    await pingPong(proxyEcho, 500, 64)
    for (let i = 0; i < 4; i++) {
      d.push(...(await pingPong(echoPort, 2500, 64)))
      p.push(...(await pingPong(proxyEcho, 2500, 64)))
    }
    // 1,000 concurrent connections, 20 round trips of 4 KiB each.
    const cd = await concurrent(echoPort, 1000, 20, 4096)
    const cp = await concurrent(proxyEcho, 1000, 20, 4096)
    const cd2 = await concurrent(echoPort, 1000, 20, 4096)
    const cp2 = await concurrent(proxyEcho, 1000, 20, 4096)
    const loaded = await child.ask("mem")
    const stats = await child.ask("stats")
    return [
      { name: "net.passthrough_throughput_ratio", value: Math.min(up, down), note: `128 MiB transfers, proxied / direct: the slower direction's median of ${rounds} interleaved rounds (aim ≥ 0.8)` },
      { name: "net.passthrough_upload_ratio", value: up, note: "client → server" },
      { name: "net.passthrough_download_ratio", value: down, note: "server → client" },
      ...(socat === undefined
        ? [{ name: "net.socat_passthrough_ratio", value: "not measured: socat is not installed" }]
        : [
            { name: "net.socat_passthrough_ratio", value: Math.min(ratio("socat", "up"), ratio("socat", "down")), note: "socat (C, -b 65536) in the same rounds, the slower direction: a userspace proxy's ceiling here" },
            { name: "net.socat_upload_ratio", value: ratio("socat", "up") },
            { name: "net.socat_download_ratio", value: ratio("socat", "down") },
          ]),
      { name: "net.direct_upload_mb_s", value: median(speeds.get("direct")?.up ?? []), digits: 0 },
      { name: "net.direct_download_mb_s", value: median(speeds.get("direct")?.down ?? []), digits: 0 },
      { name: "net.direct_rtt_p50_us", value: percentile(d, 50), digits: 1, note: "64-byte request/response round trips, 10,000 each way" },
      { name: "net.added_latency_p50_us", value: percentile(p, 50) - percentile(d, 50), digits: 1, note: "proxied p50 − direct p50 (aim ≤ 100 µs)" },
      { name: "net.added_latency_p99_us", value: percentile(p, 99) - percentile(d, 99), digits: 1, note: "proxied p99 − direct p99" },
      { name: "net.concurrent_1000_throughput_ratio", value: Math.max(cp.mbps, cp2.mbps) / Math.max(cd.mbps, cd2.mbps), note: "1,000 connections × 20 round trips of 4 KiB, proxied / direct, best of 2" },
      { name: "net.concurrent_1000_errors", value: cp.errors + cp2.errors + cd.errors + cd2.errors + (stats["errors"] ?? 0), digits: 0, note: "client-side and proxy-side connection errors (aim 0)" },
      { name: "net.proxy_idle_rss_mb", value: idle["rssMB"] ?? Number.NaN, digits: 1 },
      { name: "net.proxy_peak_rss_mb", value: loaded["maxRssMB"] ?? Number.NaN, digits: 1, note: "the proxy process's peak resident memory over the whole bench" },
    ]
  } finally {
    socat?.stop()
    await child.stop()
    await closeServer(sink.server, sink.sockets)
    await closeServer(source.server, source.sockets)
    await closeServer(echo.server, echo.sockets)
  }
}

export const netSection: Section = { name: "net", title: "TCP fault proxy vs direct loopback", run }

if (process.argv[2] === "--proxy-child") await proxyChild(process.argv.slice(3).map(Number))
