/**
 * `shiftup init`: a working setup in an existing project — `shiftup.config.ts`, one experiment
 * against the target the user names (a URL, a container) or, by default, the embedded demo lab,
 * a vitest file that runs it with `shiftup/vitest`, and npm scripts — then the next command.
 * Writes nothing over an existing file unless `--force`; every file it writes is listed.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fail, InvalidArguments } from "../ShiftupError.ts"

export interface InitOptions {
  readonly dir: string
  readonly url?: string
  readonly container?: string
  readonly environment?: string
  readonly force: boolean
}

type Kind = "demo" | "url" | "container"

const environments = ["staging", "development", "lab"]

const config = `import { defineConfig } from "shiftup"

// Configuration can only tighten the safety floor (docs/safety.md): production allows observation
// only, data stores in production are refused for every step, and \`destroy\` runs on lab targets.
export default defineConfig({
  // Ledgers, journals and reports of your runs.
  stateDir: ".shiftup",
  // Caps on every experiment's blast radius.
  budget: { maxTargets: 5, maxConcurrentFaults: 2, maxDuration: "2 minutes" },
  // Uncomment to refuse data stores in every environment:
  // policy: { denyDataStores: true },
})
`

const experiments: Record<Kind, (o: InitOptions) => { readonly id: string; readonly file: string; readonly text: string }> = {
  demo: () => ({
    id: "gateway.fails-closed.auth-down",
    file: "experiments/gateway.fails-closed.auth-down.ts",
    text: `import { Expect, Experiment } from "shiftup"
import { DemoLab } from "shiftup/testing"

/**
 * Against the embedded demo lab: the test starts one on free ports; for \`shiftup run\`, start one
 * with \`npx shiftup lab\`. Replace DemoLab's targets, fault and probes with your own system's
 * when you are ready.
 */
export const experiment = () => {
  const { gateway, auth } = DemoLab.targets()
  return Experiment.make({
    id: "gateway.fails-closed.auth-down",
    title: "The gateway fails closed when the auth service is down",
    targets: { gateway, auth },
    budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "30 seconds" },
    hypothesis: [Expect.that(DemoLab.adminStatus("anonymous"), Expect.oneOf(401, 403))],
    method: [DemoLab.authFault("down"), Expect.during(DemoLab.adminStatus("anonymous"), Expect.never(200), { samples: 5, every: "100 millis" })],
    recovery: [Expect.eventually(DemoLab.adminStatus("anonymous"), Expect.oneOf(401, 403), { within: "5 seconds" })],
  })
}

export default experiment()
`,
  }),
  url: (o) => ({
    id: "service.steady-and-hardened",
    file: "experiments/service.steady-and-hardened.ts",
    text: `import { Expect, Experiment, Http, Probe } from "shiftup"
import * as Security from "shiftup/http"

// The environment is one signal among others (labels, names, env vars): the most restrictive wins.
const service = Http.target("service", { url: ${JSON.stringify(o.url)}, environment: ${JSON.stringify(o.environment ?? "staging")} })

/** Observation only: the service answers, and its security headers hold. Add a fault when ready. */
export const experiment = () =>
  Experiment.make({
    id: "service.steady-and-hardened",
    title: "The service answers and sends its security headers",
    targets: { service },
    hypothesis: [Expect.that(Probe.status(service, "/"), Expect.range(200, 499))],
    method: [...Security.Findings.expectNoneOf(Security.Headers.probe(service, "/"), Security.Headers.ruleIds)],
  })

export default experiment()
`,
  }),
  container: (o) => ({
    id: "container.recovers-after-pause",
    file: "experiments/container.recovers-after-pause.ts",
    text: `import { Expect, Experiment } from "shiftup"
import * as Docker from "shiftup/docker"

// The environment is one signal among others (the container's labels, name, env vars): the most
// restrictive wins, so a container that says production is refused whatever is declared here.
const service = Docker.container(${JSON.stringify(o.container)}, { environment: ${JSON.stringify(o.environment ?? "staging")} })

/** Pauses the container, sees it paused, rolls back, and sees it running again. */
export const experiment = () =>
  Experiment.make({
    id: "container.recovers-after-pause",
    title: "The container runs again after a pause is rolled back",
    targets: { service },
    budget: { maxTargets: 1, maxConcurrentFaults: 1, maxDuration: "1 minute" },
    hypothesis: [Expect.that(Docker.state(service), Expect.equals("running"))],
    method: [Docker.pause(service), Expect.that(Docker.state(service), Expect.equals("paused"))],
    recovery: [Expect.eventually(Docker.state(service), Expect.equals("running"), { within: "10 seconds" })],
  })

export default experiment()
`,
  }),
}

const testFile = (kind: Kind, experimentFile: string) => {
  const from = `../${experimentFile}`
  return kind === "demo"
    ? `import { expect } from "vitest"
import { test } from "shiftup/vitest"
import { experiment } from "${from}"

// \`lab\` starts the demo lab on free loopback ports for this test; \`run\` rolls back even when the
// test times out.
test("the gateway fails closed while auth is down", async ({ lab, run }) => {
  expect(lab.base).toBeGreaterThan(0)
  const journal = await run(experiment())
  expect(journal.findings).toEqual([])
  expect(journal.status).toBe("passed")
}, 60_000)
`
    : `import { expect } from "vitest"
import { test } from "shiftup/vitest"
import { experiment } from "${from}"

test("${kind === "url" ? "the service holds" : "the container recovers"}", async ({ run }) => {
  const journal = await run(experiment())
  expect(journal.findings).toEqual([])
  expect(journal.status).toBe("passed")
}, 60_000)
`
}

/** Writes the scaffold; resolves with the lines to print. Throws `InvalidArguments` on bad input. */
export const init = (o: InitOptions): ReadonlyArray<string> => {
  if (o.url !== undefined && o.container !== undefined) throw fail(new InvalidArguments({ detail: "`shiftup init` takes --url or --container, not both" }))
  if (o.url !== undefined && URL.parse(o.url)?.protocol.match(/^https?:$/) == null)
    throw fail(new InvalidArguments({ detail: `--url ${o.url}: give an http:// or https:// URL, e.g. --url http://127.0.0.1:8080` }))
  if (o.environment !== undefined && !environments.includes(o.environment))
    throw fail(new InvalidArguments({ detail: `--environment ${o.environment}: use staging, development or lab (production allows observation only; declare it in the experiment if you mean it)` }))
  const kind: Kind = o.url !== undefined ? "url" : o.container !== undefined ? "container" : "demo"
  const exp = experiments[kind](o)
  const files: ReadonlyArray<readonly [string, string]> = [
    ["shiftup.config.ts", config],
    [exp.file, exp.text],
    ["test/shiftup.test.ts", testFile(kind, exp.file)],
  ]
  const present = files.filter(([f]) => existsSync(join(o.dir, f))).map(([f]) => f)
  if (present.length > 0 && !o.force) throw fail(new InvalidArguments({ detail: `\`shiftup init\` would overwrite ${present.join(", ")}; move them away or pass --force` }))
  for (const [f, text] of files) {
    mkdirSync(dirname(join(o.dir, f)), { recursive: true })
    writeFileSync(join(o.dir, f), text)
  }
  const scripts = addScripts(o.dir)
  return [
    ...files.map(([f]) => `wrote ${f}`),
    ...(scripts.length === 0 ? ["package.json: no package.json here, so no npm scripts were added"] : scripts.map((s) => `package.json: added script "${s}"`)),
    "",
    kind === "demo" ? "next: npm run test:shiftup   (starts the demo lab, runs the experiment, rolls it back)" : "next: npx shiftup plan experiments   (see what would be touched), then npm run test:shiftup",
  ]
}

const addScripts = (dir: string): ReadonlyArray<string> => {
  const path = join(dir, "package.json")
  if (!existsSync(path)) return []
  const pkg = JSON.parse(readFileSync(path, "utf8")) as { scripts?: Record<string, string> }
  const wanted: Record<string, string> = { "shiftup:plan": "shiftup plan experiments", "shiftup:run": "shiftup run experiments", "test:shiftup": "vitest run test/shiftup.test.ts" }
  const added = Object.keys(wanted).filter((k) => pkg.scripts?.[k] === undefined)
  if (added.length === 0) return []
  pkg.scripts = { ...pkg.scripts, ...Object.fromEntries(added.map((k) => [k, wanted[k] as string])) }
  writeFileSync(path, `${JSON.stringify(pkg, null, 2)}\n`)
  return added
}
