// undici's HTTP/2 client for dist/bundle/, loaded at the first HTTP/2 connection (an https://
// origin that offers h2 in ALPN) rather than with undici: it loads node:http2, and with it
// node:tls (~40 ms of CPU and 9 MiB at every start of the CLI, for runs over plain HTTP too).
let connectH2
module.exports = function lazyConnectH2(...args) {
  connectH2 ??= require("undici/lib/dispatcher/client-h2.js")
  return connectH2.apply(this, args)
}
