/**
 * The compensators of shiftup/http: none of its own. Its probes change nothing, and its one fault,
 * the HTTP switch (`Fault.httpSwitch`), is undone by the core's built-in `http.request` kind,
 * which every process has. An adapter whose faults need their own kinds declares them here (see
 * docs/adapters.md).
 */
export {}
