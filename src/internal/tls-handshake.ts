/**
 * One TLS handshake that reads what the server presents without trusting it (certificates are
 * never verified here: an expired or self-signed one is a fact to report, not an error), shared
 * by `shiftup/http`'s TLS probe and the inventory's TLS facts. The caller has checked `address`
 * against the egress allowlist.
 */
import * as tls from "node:tls"

export interface Handshake {
  readonly protocol: string | null
  readonly cipher: string | null
  readonly cert: tls.PeerCertificate | null
  readonly authorizationError: string | null
}

/** Why a handshake did not complete. */
export interface Failed {
  readonly error: string
}

/** One handshake; `signal` (the probe's interruption) ends it at once. */
export const handshake = (address: string, port: number, servername: string | undefined, ca: string | undefined, opts: tls.ConnectionOptions, timeoutMs: number, signal: AbortSignal): Promise<Handshake | Failed> =>
  new Promise((resolve) => {
    const socket = tls.connect({ host: address, port, ...(servername === undefined ? {} : { servername }), ...(ca === undefined ? {} : { ca }), rejectUnauthorized: false, ...opts })
    const done = (h: Handshake | Failed) => {
      clearTimeout(timer)
      signal.removeEventListener("abort", stop)
      socket.destroy()
      resolve(h)
    }
    const stop = () => done({ error: "interrupted" })
    const timer = setTimeout(() => done({ error: `no TLS handshake within ${timeoutMs} ms` }), timeoutMs)
    signal.addEventListener("abort", stop, { once: true })
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate()
      const err = socket.authorizationError
      done({
        protocol: socket.getProtocol(),
        cipher: socket.getCipher()?.name ?? null,
        cert: cert !== undefined && Object.keys(cert).length > 0 ? cert : null,
        authorizationError: err === null || err === undefined ? null : String(err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : err),
      })
    })
    socket.once("error", (e: NodeJS.ErrnoException) => done({ error: e.code === undefined ? e.message : `${e.code}: ${e.message}` }))
  })

export const completed = (h: Handshake | Failed): h is Handshake => !("error" in h)

/** A distinguished name as `CN=…, O=…`. */
export const dn = (x: tls.Certificate | undefined) => (x === undefined ? "" : Object.entries(x).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : String(v)}`).join(", "))
