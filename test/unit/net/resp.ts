/**
 * A minimal Redis client for the blackhole tests, written from the RESP spec: commands are
 * pipelined on one connection and each reply is matched to the oldest unanswered command — by
 * order alone, as every Redis client does. `ECHO <word>` must come back as `<word>`, so a reply
 * matched to the wrong command shows as a mismatch.
 */
import * as net from "node:net"

export interface Mismatch {
  readonly asked: string
  readonly got: string
}

export interface RespClient {
  /** Sends `ECHO word` for each word (one write: a pipeline); resolves with the replies, in order. */
  readonly echo: (...words: ReadonlyArray<string>) => Promise<ReadonlyArray<string>>
  /** Replies matched to a command they do not answer. */
  readonly mismatches: () => ReadonlyArray<Mismatch>
  /** Resolves at the first mismatch. */
  readonly mismatched: Promise<Mismatch>
  /** Resolves when the connection is closed (by either side); commands still waiting are rejected. */
  readonly closed: Promise<void>
  /** Replies received so far. */
  readonly replies: () => number
  readonly destroy: () => void
}

const encode = (args: ReadonlyArray<string>) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`

/** Bytes of `ECHO word` on the wire, and of its reply (tests wait for a blackhole to take them). */
export const echoBytes = (word: string) => ({ command: Buffer.byteLength(encode(["ECHO", word])), reply: Buffer.byteLength(`$${Buffer.byteLength(word)}\r\n${word}\r\n`) })

/** Parses one reply at `at`; returns it and where the next starts, or undefined if incomplete. */
const parse = (buf: Buffer, at: number): { readonly value: string; readonly next: number } | undefined => {
  const eol = buf.indexOf("\r\n", at)
  if (eol < 0) return undefined
  const head = buf.toString("utf8", at + 1, eol)
  const type = String.fromCharCode(buf[at] as number)
  if (type === "+" || type === ":") return { value: head, next: eol + 2 }
  if (type === "-") return { value: `error: ${head}`, next: eol + 2 }
  if (type === "$") {
    const n = Number(head)
    if (n < 0) return { value: "(nil)", next: eol + 2 }
    if (buf.length < eol + 2 + n + 2) return undefined
    return { value: buf.toString("utf8", eol + 2, eol + 2 + n), next: eol + 2 + n + 2 }
  }
  throw new Error(`unexpected RESP type ${JSON.stringify(type)}`)
}

export const connectResp = (port: number): Promise<RespClient> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    const pending: Array<{ readonly asked: string; readonly resolve: (reply: string) => void; readonly reject: (e: Error) => void }> = []
    const mismatches: Array<Mismatch> = []
    let onMismatch: (m: Mismatch) => void = () => undefined
    const mismatched = new Promise<Mismatch>((r) => (onMismatch = r))
    let replies = 0
    let buf = Buffer.alloc(0)
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      let at = 0
      for (;;) {
        const r = at < buf.length ? parse(buf, at) : undefined
        if (r === undefined) break
        at = r.next
        replies++
        const waiting = pending.shift()
        if (waiting === undefined) continue
        if (r.value !== waiting.asked) {
          const m = { asked: waiting.asked, got: r.value }
          mismatches.push(m)
          onMismatch(m)
        }
        waiting.resolve(r.value)
      }
      buf = buf.subarray(at)
    })
    const closed = new Promise<void>((r) =>
      socket.once("close", () => {
        for (const p of pending.splice(0)) p.reject(new Error(`connection closed before the reply to ECHO ${p.asked}`))
        r()
      }),
    )
    socket.on("error", () => undefined)
    socket.once("connect", () =>
      resolve({
        echo: (...words) => {
          const answers = words.map((w) => new Promise<string>((res, rej) => pending.push({ asked: w, resolve: res, reject: rej })))
          socket.write(words.map((w) => encode(["ECHO", w])).join(""))
          const all = Promise.all(answers)
          // Commands lost with a closed connection need not be awaited.
          all.catch(() => undefined)
          return all
        },
        mismatches: () => mismatches,
        mismatched,
        closed,
        replies: () => replies,
        destroy: () => socket.destroy(),
      }),
    )
    socket.once("error", reject)
  })
