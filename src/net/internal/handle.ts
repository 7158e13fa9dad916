/**
 * The one place shiftup relies on a private Node API, and the check that says whether it may.
 *
 * The proxy's fast path reads each connection into its own buffer (`onread`: no allocation per
 * read, half the CPU at bulk rates). Node's server has no `onread` option, so an accepted
 * connection is moved into a socket that has one, through its libuv handle — what Node's own
 * cluster module does with `new net.Socket({ handle })`. The handle is the accepted socket's
 * private `_handle`, and `handle` is an undocumented constructor option: a Node version without
 * them must not break the proxy, only slow it. `movableHandle` is the capability check; `adopt`
 * takes the fast path when it says yes, and otherwise reads the accepted socket itself (`data`
 * events, a buffer per read). Both branches are tested (test/unit/net/adopt.test.ts).
 */
import * as net from "node:net"

type OnRead = NonNullable<net.SocketConstructorOpts["onread"]>

/** What `new net.Socket({ handle })` needs of a libuv stream handle. */
interface StreamHandle {
  readonly readStart: (...args: ReadonlyArray<unknown>) => unknown
}

/** An accepted socket as Node builds it: its handle, not part of the public API. */
interface Shell {
  _handle?: StreamHandle | null | undefined
}

/**
 * A write high-water mark of one byte: Node then emits `drain` after every write that had to
 * wait, however small (with the default 16 KiB, only after writes that reached it). The proxy
 * resumes reading on `drain`.
 */
export const drainAfterAnyWrite = { writableHighWaterMark: 1 }

/** The capability: the accepted socket's handle when it can be moved into a socket that reads with `onread`, else `undefined`. */
export const movableHandle = (accepted: net.Socket): StreamHandle | undefined => {
  const handle = (accepted as unknown as Shell)._handle
  return handle !== null && handle !== undefined && typeof handle.readStart === "function" ? handle : undefined
}

/**
 * A connection accepted paused, moved into a socket that reads with `onread` when
 * `movableHandle` allows; otherwise the accepted socket itself, resumed (read with `data`
 * events). The caller tells the two apart by identity (`adopted === accepted`).
 */
export const adopt = (accepted: net.Socket, onread: OnRead): net.Socket => {
  const handle = movableHandle(accepted)
  if (handle === undefined) {
    accepted.resume()
    return accepted
  }
  ;(accepted as unknown as Shell)._handle = null
  // The empty shell closes at once, so the server's connection count stays right.
  accepted.destroy()
  return new net.Socket({ handle, allowHalfOpen: true, ...drainAfterAnyWrite, onread } as unknown as net.SocketConstructorOpts)
}
