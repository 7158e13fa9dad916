// What dist/bundle/ takes from undici: the parts shiftup uses, not undici's index, which loads
// every dispatcher, fetch, WebSocket, the cache and the mocks (~65 ms at each CLI start). The
// index also attaches the request API (`request`, `stream`, `pipeline`, `upgrade`, `connect`) to
// Dispatcher.prototype; so does this, for dispatchers a user receives from shiftup, loading it
// at the first use of any of them (shiftup's own requests dispatch directly). Any other name
// imported from "undici" fails the build.
const Dispatcher = require("undici/lib/dispatcher/dispatcher")
const api = ["request", "stream", "pipeline", "upgrade", "connect"]
const attach = () => {
  for (const [name, fn] of Object.entries(require("undici/lib/api"))) Object.defineProperty(Dispatcher.prototype, name, { value: fn, writable: true, configurable: true, enumerable: true })
}
for (const name of api)
  Object.defineProperty(Dispatcher.prototype, name, {
    configurable: true,
    enumerable: true,
    get() {
      attach()
      return Dispatcher.prototype[name]
    },
    // Assigning one (a test's stub, say) replaces it, as it would replace the method itself.
    set(fn) {
      attach()
      Object.defineProperty(this, name, { value: fn, writable: true, configurable: true, enumerable: true })
    },
  })
const { getGlobalDispatcher, setGlobalDispatcher } = require("undici/lib/global")

module.exports = { Dispatcher, Agent: require("undici/lib/dispatcher/agent"), buildConnector: require("undici/lib/core/connect"), getGlobalDispatcher, setGlobalDispatcher }
