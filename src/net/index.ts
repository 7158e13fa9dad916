/**
 * `shiftup/net`: network faults from inside a test suite — a TCP fault proxy whose toxics
 * (latency, jitter, bandwidth, slow close, timeout/blackhole, reset, slicer, limit data) are core
 * faults — and HTTP faults as undici interceptors (`Net.http.*`, `Net.httpFault`). See docs/net.md.
 * The folder follows the adapter shape of docs/adapters.md: `targets.ts` (the proxy),
 * `faults/`, `compensators.ts` and `reaper.ts` (both empty: everything lives in this process).
 *
 * @example
 * import * as Net from "shiftup/net"
 * const authProxy = Net.proxy({ upstream: auth })
 * const slow = Net.latency(authProxy, { ms: 1000, jitter: 100 })
 */
import "../../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails
export { bandwidth, blackhole, latency, limitData, resetPeer, slicer, slowClose, timeout, toxic, type BlackholeMode } from "./faults/toxics.ts"
export { httpFault, type HttpFaultOptions, type HttpInstall } from "./faults/http.ts"
export * as http from "./faults/interceptors.ts"
export { proxy, type Proxy, type ProxyOptions } from "./targets.ts"
export * as Toxic from "./toxic.ts"
