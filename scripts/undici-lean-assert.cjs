// undici's `assert(value, message)` for dist/bundle/: the checks of its own invariants, with
// node:assert (and what it loads, ~2 ms at every start) loaded only when one fails. undici calls
// nothing else of node:assert (scripts/build.mjs checks).
module.exports = function assert(value, message) {
  if (!value) require("node:assert").ok(value, message)
}
