// Tutorial 6 — your own probe and fault, and a `destroy` step on a lab target.
//
// shiftup's built-in probes and faults speak HTTP. Anything else — a file, a queue, a feature
// flag store — takes a few lines with `Probe.make` and `Fault.make`. This tutorial tests a small
// piece of security logic that reads its access policy from a file: when the file is corrupted,
// does it fall back to "deny" (fail closed) or to "allow"?
//
// The policy file lives in the OS temp directory with a name unique to this process. The run
// creates it, corrupts it, and its compensations put it back and then delete it, so nothing is
// left behind — also after a crash, through `shiftup recover`, because compensations are data in
// the ledger. It needs no lab server:
//
//   npm run shiftup -- run examples/06-custom-probe-and-fault.ts
import { readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Compensation, Expect, Experiment, Fault, Probe, Target } from "shiftup"

// ── the system under test ─────────────────────────────────────────────────────────────────────
// In a real experiment this would be your service; here it is the function such a service calls
// to load its policy. The property we want: anything it cannot parse means "deny".
interface AccessPolicy {
  readonly allowAnonymous: boolean
}
const loadPolicy = async (path: string): Promise<AccessPolicy> => {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as { allowAnonymous?: unknown }
    return { allowAnonymous: parsed.allowAnonymous === true }
  } catch {
    return { allowAnonymous: false } // fail closed
  }
}

// ── the target ────────────────────────────────────────────────────────────────────────────────
// Only module-level *names* here: nothing is created until the run has been planned and allowed.
const policyPath = join(tmpdir(), `shiftup-example-06-${process.pid}-${Date.now()}.json`)

// `Target.make` declares a target with one member. `environment: "lab"` is what makes a `destroy`
// step possible at all: the floor allows `destroy` on lab targets only. The facts are what the
// classifier looks at (a name like `orders-postgres` would make it a data store and refuse it).
const policyFile = Target.make("access-policy-file", {
  kind: "file",
  environment: "lab",
  owner: "security-team",
  facts: { id: policyPath, name: "access-policy-file" },
})

// ── a custom probe ────────────────────────────────────────────────────────────────────────────
// `observe` may be an async function, a plain function or an Effect. A throw becomes a typed
// `ProbeFailed` error. Probes must only look: never change what they observe.
const anonymousAllowed = Probe.make({
  id: "policy allows anonymous access",
  target: policyFile,
  observe: async () => (await loadPolicy(policyPath)).allowAnonymous,
})
const fileExists = Probe.make({
  id: "policy file exists",
  target: policyFile,
  observe: () => readFile(policyPath).then(() => true, () => false),
})

// ── a custom fault ────────────────────────────────────────────────────────────────────────────
// A fault is an injection plus its compensation. The compensation is *data* (a kind the runner
// and `shiftup recover` know how to replay, plus its fields), appended to the ledger and fsynced
// before `inject` runs. `file.restore` with `content: null` removes the file: this is how the
// temp file is cleaned up, in the compensation path, on every exit.
const seedPolicy = Fault.make({
  id: "seed-policy-file",
  title: "write a known-good policy file",
  target: policyFile,
  safety: "disrupt", // reversible: the compensation removes what the injection created
  compensation: Compensation.fileRestore({ target: policyFile.id, path: policyPath, content: null, description: `remove ${policyPath}` }),
  inject: () => writeFile(policyPath, JSON.stringify({ allowAnonymous: false })),
})

// `Fault.fileWrite` is a built-in `destroy` fault: it saves the file's current contents into its
// compensation (computed just before injection), then overwrites the file.
const corruptPolicy = Fault.fileWrite(policyFile, {
  id: "truncate-policy-file",
  title: "truncate the policy file mid-write",
  path: policyPath,
  content: '{"allowAnonymous": tr',
})

export default Experiment.make({
  id: "examples.custom-probe-and-fault",
  title: "A corrupted policy file makes the loader deny, not allow",
  tags: ["example"],
  targets: { policyFile },
  // `destroy` steps are refused unless budgeted explicitly (default 0). Both faults stay active
  // until rollback, so two may be active at once.
  budget: { maxTargets: 1, maxConcurrentFaults: 2, maxDestroySteps: 1, maxDuration: "10 seconds" },
  method: [
    seedPolicy,
    Expect.that(anonymousAllowed, false, { id: "known-good policy denies anonymous" }),
    corruptPolicy,
    Expect.during(anonymousAllowed, false, {
      samples: 3,
      every: "20 millis",
      severity: "critical",
      remediation: "Treat a policy file that does not parse as deny-all, and alert on it.",
    }),
  ],
  // Rollback ran newest first: the original contents came back, then the file was removed.
  recovery: [Expect.eventually(fileExists, false, { within: "1 second", id: "the temp policy file is gone" })],
})
