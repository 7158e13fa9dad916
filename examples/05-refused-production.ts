// Tutorial 5 — the safety floor refuses production (and the unknown) before touching anything.
//
// This experiment is *meant* to be refused. Run it and it exits 2 without sending a single
// request: the runner resolves and classifies every target, decides every step against the
// policy and the budget, and only then — if nothing is refused — starts. Here two steps are
// refused, so nothing starts. The refusal is written to the journal with the rule that decided.
//
//   npm run shiftup -- plan examples/05-refused-production.ts   # every decision, with its rule and signals
//   npm run shiftup -- run examples/05-refused-production.ts   # REFUSED, exit 2
//
// No flag, configuration or environment variable lowers this floor:
//   * an environment nobody can work out (`unknown`) counts as production;
//   * production allows only observation, and only when the experiment opts in;
//   * a production data store is refused even for observation;
//   * `destroy` faults run on `lab` targets only.
import { Expect, Experiment, Fault, Http, Probe } from "shiftup"

// A target's environment is worked out from signals, first match wins: the explicit
// `environment` option, then labels (`env`, `environment`, `stage`, `tier`, `shiftup.env`…),
// then names and host names (`prod`, `prd`, `live`, `stg`, `dev`, `lab`…), then the process
// environment variables an adapter reports (`NODE_ENV`, `APP_ENV`…). Conflicting signals go to
// the most protected environment.
//
// `payments` carries an inventory label `env=prod`: production. (The URLs point at port 9 on
// loopback, where nothing listens — but nothing is ever sent there anyway.)
const payments = Http.target("payments", { url: "http://127.0.0.1:9/", labels: { env: "prod" }, owner: "payments-team" })
// `search` has no signal at all: environment `unknown`, which the floor treats as production.
const search = Http.target("search", { url: "http://127.0.0.1:9/" })

const latency = (target: Http.HttpTarget) =>
  Fault.httpSwitch(target, {
    id: `${target.id}-latency`,
    title: `add latency to ${target.id}`,
    url: "http://127.0.0.1:9/toggles",
    on: JSON.stringify({ latencyMs: 2000 }),
    off: JSON.stringify({ latencyMs: 0 }),
  })

export default Experiment.make({
  id: "examples.refused-production",
  title: "Injecting into production (or an unknown environment) is refused before the run",
  // `refused`: the test suite expects this example to exit 2.
  tags: ["example", "refused"],
  targets: { payments, search },
  // Observation of production needs an explicit opt-in. With it, the hypothesis below would be
  // allowed on its own; without it, even the probe is refused (rule floor.production-observe-opt-in).
  observeProduction: true,
  hypothesis: [Expect.that(Probe.status(payments, "/health"), 200)],
  method: [
    latency(payments), // refused: floor.production-observe-only
    latency(search), //   refused: floor.unknown-is-production
  ],
})

