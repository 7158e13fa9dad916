/**
 * `shiftup/net`: network faults from inside a test suite — a TCP fault proxy whose toxics
 * (latency, jitter, bandwidth, slow close, timeout/blackhole, reset, slicer, limit data) are core
 * faults — and HTTP faults as undici interceptors (`Net.http.*`, `Net.httpFault`). See docs/net.md.
 *
 * @example
 * import * as Net from "shiftup/net"
 * const authProxy = Net.proxy({ upstream: auth })
 * const slow = Net.latency(authProxy, { ms: 1000, jitter: 100 })
 */
import "../../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails
export { bandwidth, blackhole, httpFault, latency, limitData, resetPeer, slicer, slowClose, timeout, toxic, type BlackholeMode, type HttpFaultOptions, type HttpInstall } from "./Faults.ts"
export * as http from "./Interceptor.ts"
export { proxy, type Proxy, type ProxyOptions } from "./Proxy.ts"
export * as Toxic from "./Toxic.ts"
