/**
 * What a Redis that already let us in says about who else it lets in. Asked only of a server that
 * answered the fingerprint's PING with +PONG, i.e. one that needs no credentials: two read-only
 * commands, `CONFIG GET protected-mode` and `CONFIG GET bind`, on one connection, then close. No
 * credential is ever sent, guessed or not. A server that needs a password is not asked: protected
 * mode only acts on servers without one, so there is nothing to learn there.
 */
import * as net from "node:net"

/** Its exposure settings, or why they could not be read (`CONFIG` renamed or refused, a timeout…). */
export type RedisExposure = { readonly protectedMode: string; readonly bind: string } | { readonly error: string }

/** The fingerprint's evidence of a Redis answering PING without authentication. */
export const answersWithoutAuth = (evidence: string): boolean => /\+PONG/.test(evidence)

const command = (...args: ReadonlyArray<string>) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`

type Reply = string | null | ReadonlyArray<Reply> | { readonly error: string }

/** One RESP reply at `at`: the reply and where the next starts, or `undefined` until more bytes come. */
const parse = (d: Buffer, at: number): readonly [Reply, number] | undefined => {
  const eol = d.indexOf("\r\n", at)
  if (eol < 0) return undefined
  const head = d.subarray(at + 1, eol).toString("latin1")
  const next = eol + 2
  switch (d[at]) {
    case 0x2b: // +simple
      return [head, next]
    case 0x2d: // -error
      return [{ error: head }, next]
    case 0x3a: // :integer
      return [head, next]
    case 0x24: {
      // $bulk
      const n = Number(head)
      if (n < 0) return [null, next]
      if (d.length < next + n + 2) return undefined
      return [d.subarray(next, next + n).toString("utf8"), next + n + 2]
    }
    case 0x2a: {
      // *array
      const n = Number(head)
      const items: Array<Reply> = []
      let p = next
      for (let i = 0; i < n; i++) {
        const r = parse(d, p)
        if (r === undefined) return undefined
        items.push(r[0])
        p = r[1]
      }
      return [items, p]
    }
    default:
      return [{ error: `not a RESP reply: ${JSON.stringify(d.subarray(at, at + 40).toString("latin1"))}` }, d.length]
  }
}

/** `CONFIG GET name`'s value from its reply (`[name, value]`), or the error. */
const valueOf = (r: Reply, name: string): string | { readonly error: string } => {
  if (r !== null && typeof r === "object" && "error" in r) return { error: `CONFIG GET ${name}: ${r.error}` }
  if (Array.isArray(r) && r.length === 2 && typeof r[1] === "string") return r[1]
  return { error: `CONFIG GET ${name}: no such setting in the reply` }
}

/**
 * Reads protected mode and bind from the Redis at `address:port` (an address the caller already
 * checked against the egress allowlist), within `timeoutMs`.
 */
export const redisExposure = (address: string, port: number, timeoutMs: number): Promise<RedisExposure> =>
  new Promise((resolve) => {
    let received = Buffer.alloc(0)
    const socket = net.connect({ host: address, port })
    const done = (r: RedisExposure) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => done({ error: `no answer to CONFIG GET within ${timeoutMs} ms` }), timeoutMs)
    socket.on("connect", () => socket.write(command("CONFIG", "GET", "protected-mode") + command("CONFIG", "GET", "bind")))
    socket.on("error", (e) => done({ error: e.message }))
    socket.on("close", () => done({ error: "the server closed the connection before answering" }))
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const first = parse(received, 0)
      const second = first === undefined ? undefined : parse(received, first[1])
      if (first === undefined || second === undefined) return
      const [protectedMode, bind] = [valueOf(first[0], "protected-mode"), valueOf(second[0], "bind")]
      if (typeof protectedMode !== "string") return done(protectedMode)
      if (typeof bind !== "string") return done(bind)
      done({ protectedMode, bind })
    })
  })
