/**
 * Nothing to reap: the PostgreSQL faults create no object that outlives them. A change is made
 * in the transaction that locked its before-image, after the ledger holds its compensation; a
 * runner killed before the commit leaves nothing (the server rolls the transaction back), and one
 * killed after leaves a pending compensation that `shiftup recover` replays. Sessions carry
 * `application_name = shiftup run <run id>`, so a DBA can see which run a session belonged to.
 * The sessions an availability fault holds carry `shiftup hold <run id> <8 hex>`: its own
 * compensation ends them (and `recover` after a crash), and the server ends them after the
 * fault's `maxHold` at the latest, so there is nothing for a reaper either.
 */
export {}
