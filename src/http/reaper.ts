/**
 * The reaper of shiftup/http: nothing to reap. The run's HTTP agents are closed with the run
 * (`closeRun`), an alert sink is a run-owned resource stopped at its end, and nothing of this
 * adapter outlives the process. An adapter that creates anything that outlives it labels it with
 * the run id and removes leftovers here (see docs/adapters.md).
 */
export {}
