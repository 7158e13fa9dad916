/**
 * The compensators of shiftup/net: none. Every fault of this adapter lives in this process — a
 * toxic on an in-process proxy, an interceptor on a dispatcher — so its compensation is
 * `Compensation.ephemeral` (a built-in kind): ledgered like any other, undone by the fault's own
 * `release` during the run, and gone with the process, so `recover` has nothing to replay. An
 * adapter whose faults outlive the process declares its kinds here (see docs/adapters.md).
 */
export {}
