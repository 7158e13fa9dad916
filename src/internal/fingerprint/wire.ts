/**
 * One connection a fingerprint opens: connect, listen, send a handshake, read until the answer is
 * decided, the server falls silent, closes or resets, the deadline passes or the plan is aborted.
 * Every connection becomes one `Contact`, so the journal shows exactly what planning touched.
 * Nothing here throws: a failure is an ending, and the contact says which.
 */
import * as net from "node:net"
import * as tls from "node:tls"
import type { Contact } from "../fingerprint.ts"

export type Ending = "answered" | "silent" | "closed" | "reset" | "deadline" | "aborted"

export interface Exchange {
  /** What came back since this exchange started (a greeting heard earlier is in `received`). */
  readonly answer: Buffer
  readonly ending: Ending
}

export interface Wire {
  readonly address: string
  /** How long the TCP connect took: about one round trip. */
  readonly connectMs: number
  /** Every byte read on this connection so far (after TLS: the decrypted bytes). */
  readonly received: () => Buffer
  /** Reads for up to `waitMs` after sending `bytes` (nothing: just listen), until `decided(answer)`. */
  readonly exchange: (step: { readonly name: string; readonly bytes: Buffer | undefined; readonly sent: string }, waitMs: number, decided: (answer: Buffer) => boolean) => Promise<Exchange>
  /** Wraps the connection in TLS (never verified: only the answer's shape matters); the error text when it fails. */
  readonly startTls: (servername: string | undefined) => Promise<string | undefined>
  /** Destroys the socket and describes the connection. */
  readonly end: () => Contact
}

export interface Dial {
  readonly host: string
  readonly port: number
  /** `performance.now()` time after which nothing waits any longer. */
  readonly deadline: number
  readonly signal: AbortSignal | undefined
}

export const addressOf = (host: string, port: number) => (net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`)

/** Printable, one line, short: answers go into evidence and must not smuggle in control bytes. */
export const quote = (data: Buffer, max = 48): string => {
  const text = data.subarray(0, max).toString("latin1").replace(/\r?\n[\s\S]*$/, "")
  return JSON.stringify(text.replace(/[^\x20-\x7e]/g, "."))
}

/** Like `quote`, across lines (shown as \r \n): what a contact received, as it came. */
const quoteRaw = (data: Buffer, max = 64): string => `${JSON.stringify(data.subarray(0, max).toString("latin1").replace(/[^\x20-\x7e\r\n]/g, "."))}${data.length > max ? "…" : ""}`

const endingText = (ending: Ending | "refused", waitedMs: number): string =>
  ({
    answered: "",
    silent: `nothing (silent for ${Math.round(waitedMs)} ms)`,
    closed: "closed by the server",
    reset: "reset by the server",
    deadline: "nothing before the deadline",
    aborted: "nothing (the plan was aborted)",
    refused: "refused",
  })[ending]

/** Connects within the deadline; a connection that cannot be made is already a finished contact. */
export const dial = (d: Dial): Promise<Wire | Contact> =>
  new Promise((resolve) => {
    const address = addressOf(d.host, d.port)
    const started = performance.now()
    const failed = (received: string) => {
      cleanup()
      socket?.destroy()
      resolve({ address, handshake: "connect", sent: "nothing", received, bytesSent: 0, bytesReceived: 0, ms: Math.round(performance.now() - started) })
    }
    const onAbort = () => failed(endingText("aborted", 0))
    const timer = setTimeout(() => failed("no TCP connection before the deadline"), Math.max(0, d.deadline - started))
    const cleanup = () => {
      clearTimeout(timer)
      d.signal?.removeEventListener("abort", onAbort)
    }
    if (d.signal?.aborted === true) return failed(endingText("aborted", 0))
    d.signal?.addEventListener("abort", onAbort, { once: true })
    let socket: net.Socket | undefined
    try {
      socket = net.connect({ host: d.host, port: d.port, noDelay: true })
    } catch (e) {
      // An invalid port throws synchronously; the contract is to answer, not to throw.
      return failed(`could not connect: ${e instanceof Error ? e.message : String(e)}`)
    }
    const raw = socket
    // A server that accepts and resets at once can beat the connect callback to it.
    raw.once("error", (e: NodeJS.ErrnoException) => failed(e.code === "ECONNREFUSED" ? endingText("refused", 0) : e.code === "ECONNRESET" ? endingText("reset", 0) : `could not connect: ${e.code ?? e.message}`))
    raw.once("connect", () => {
      cleanup()
      raw.removeAllListeners("error")
      resolve(connected(d, raw, address, started))
    })
  })

const connected = (d: Dial, raw: net.Socket, address: string, started: number): Wire => {
  let socket: net.Socket = raw
  const chunks: Array<Buffer> = []
  let received = 0
  let sent = 0
  const steps: Array<string> = []
  const sentText: Array<string> = []
  let last: { ending: Ending; waitedMs: number } | undefined
  let closed: "closed" | "reset" | undefined
  let tlsFailure: string | undefined
  let waiter: ((ending: Ending) => void) | undefined
  let answerFrom = 0

  const onData = (chunk: Buffer) => {
    chunks.push(chunk)
    received += chunk.length
    waiter?.("answered")
  }
  const onError = (e: NodeJS.ErrnoException) => {
    closed = e.code === "ECONNRESET" ? "reset" : "closed"
  }
  const onClose = () => {
    closed ??= "closed"
    waiter?.(closed)
  }
  const attach = (s: net.Socket) => {
    s.on("data", onData)
    s.on("error", onError)
    s.on("close", onClose)
  }
  attach(raw)
  const all = () => (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks))

  const exchange: Wire["exchange"] = (step, waitMs, decided) =>
    new Promise((resolve) => {
      steps.push(step.name)
      answerFrom = received
      const t0 = performance.now()
      const answer = () => all().subarray(answerFrom)
      const finish = (ending: Ending) => {
        clearTimeout(silence)
        clearTimeout(deadline)
        d.signal?.removeEventListener("abort", onAbort)
        waiter = undefined
        last = { ending, waitedMs: performance.now() - t0 }
        resolve({ answer: answer(), ending })
      }
      const onAbort = () => {
        socket.destroy()
        finish("aborted")
      }
      const silence = setTimeout(() => finish("silent"), Math.max(0, Math.min(waitMs, d.deadline - t0)))
      const deadline = setTimeout(() => finish("deadline"), Math.max(0, d.deadline - t0))
      if (d.signal?.aborted === true) return onAbort()
      d.signal?.addEventListener("abort", onAbort, { once: true })
      waiter = (ending) => {
        if (ending !== "answered") return finish(ending)
        if (decided(answer())) finish("answered")
      }
      if (step.bytes !== undefined && closed === undefined) {
        socket.write(step.bytes)
        sent += step.bytes.length
        sentText.push(step.sent)
      }
      if (closed !== undefined) return finish(closed)
      // Bytes heard before this step (a greeting that came late) may already decide it.
      if (received > 0 && decided(answer())) finish("answered")
    })

  const startTls: Wire["startTls"] = (servername) =>
    new Promise((resolve) => {
      raw.off("data", onData)
      raw.off("close", onClose)
      raw.off("error", onError)
      steps.push("TLS handshake")
      const secure = tls.connect({ socket: raw, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"], ...(servername === undefined || net.isIP(servername) !== 0 ? {} : { servername }) })
      socket = secure
      const t0 = performance.now()
      const done = (error: string | undefined) => {
        clearTimeout(timer)
        d.signal?.removeEventListener("abort", onAbort)
        secure.off("secureConnect", onSecure)
        secure.off("error", onFail)
        if (error === undefined) attach(secure)
        else {
          closed = "closed"
          tlsFailure = error
          secure.destroy()
          last = { ending: "closed", waitedMs: performance.now() - t0 }
        }
        resolve(error)
      }
      const onSecure = () => done(undefined)
      const onFail = (e: Error) => done(`TLS handshake failed: ${e.message}`)
      const onAbort = () => done("aborted")
      const timer = setTimeout(() => done("no TLS handshake before the deadline"), Math.max(0, d.deadline - t0))
      d.signal?.addEventListener("abort", onAbort, { once: true })
      secure.once("secureConnect", onSecure)
      secure.once("error", onFail)
    })

  const end = (): Contact => {
    socket.destroy()
    raw.destroy()
    const got = all()
    const tail = tlsFailure ?? (last === undefined || last.ending === "answered" ? "" : endingText(last.ending, last.waitedMs))
    return {
      address,
      handshake: steps.join(", then "),
      sent: sentText.length === 0 ? "nothing" : sentText.join("; "),
      received: got.length === 0 ? tail || "nothing" : `${quoteRaw(got)} (${got.length} bytes)${tail === "" ? "" : `, then ${tail}`}`,
      bytesSent: sent,
      bytesReceived: received,
      ms: Math.round(performance.now() - started),
    }
  }

  return { address, connectMs: performance.now() - started, received: all, exchange, startTls, end }
}
