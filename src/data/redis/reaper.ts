/**
 * Nothing to reap: the Redis faults create no object of their own that could outlive a run
 * except the ransom note key of `encrypt`, and that key is in the fault's before-image (as
 * "did not exist"), so the rollback or `shiftup recover` removes it with the rest. Connections
 * are per operation and closed with it.
 */
export {}
