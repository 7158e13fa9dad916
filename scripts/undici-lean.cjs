// What dist/bundle/ takes from undici: the parts shiftup uses, not undici's index, which loads
// every dispatcher, fetch, WebSocket, the cache and the mocks (~65 ms at each CLI start). The
// index also attaches the request API to Dispatcher.prototype; so does this, for dispatchers a
// user receives from shiftup. Any other name imported from "undici" fails the build.
const Dispatcher = require("undici/lib/dispatcher/dispatcher")
Object.assign(Dispatcher.prototype, require("undici/lib/api"))
const { getGlobalDispatcher, setGlobalDispatcher } = require("undici/lib/global")

module.exports = { Dispatcher, Agent: require("undici/lib/dispatcher/agent"), buildConnector: require("undici/lib/core/connect"), getGlobalDispatcher, setGlobalDispatcher }
