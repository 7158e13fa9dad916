/**
 * Nothing to reap: the MySQL faults create no object that outlives them. A row change is made in
 * the transaction that locked its before-image, after the ledger holds its compensation; a runner
 * killed before the commit leaves nothing (the server rolls the transaction back when the
 * connection drops), and one killed after leaves a pending compensation that `shiftup recover`
 * replays. A dropped object is dropped only after its definition is ledgered. Every statement
 * carries `/* shiftup run <id> *\/` and every connection the `program_name` attribute, so the
 * general log and performance_schema say which run a session belonged to.
 */
export {}
