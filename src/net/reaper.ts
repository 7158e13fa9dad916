/**
 * The reaper of shiftup/net: nothing to reap. A proxy is a run-owned resource closed at the end
 * of its run, and nothing of this adapter outlives the process (no container, no file, no rule),
 * so a crashed run leaves nothing a later process could find. An adapter that creates anything
 * that outlives it labels it with the run id and removes leftovers here (see docs/adapters.md).
 */
export {}
