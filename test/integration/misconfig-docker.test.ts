/**
 * The container rules on real containers made by the test from the local busybox image: one
 * hardened container every rule passes, and per rule a container that differs from it by that
 * one setting — the rule fires on it and no other rule does. Created, not started (the engine
 * here cannot start privileged containers), except the two that publish ports (the engine only
 * reports bindings of a running container). Then the secret planted in environment variables is
 * looked for in every output: the snapshot, the three renderings, the CLI's stdout and stderr
 * (and one container carries it as a command argument: only the program's name is kept).
 * Everything carries `shiftup.run=<id>` and is removed after.
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Ajv } from "ajv"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { main } from "../../src/cli/main.ts"
import * as Engine from "../../src/docker/engine.ts"
import * as Inventory from "../../src/inventory/index.ts"
import { ensureImageMap } from "../../src/testing/docker/images.ts"
import { freePort } from "../support/servers.ts"
import { docker, loadDatedImage, removeRun } from "../support/inventory-docker.ts"

const { Misconfig } = Inventory
const runId = `misc-${randomBytes(4).toString("hex")}`
const engine = Engine.make()
const label = `shiftup.run=${runId}`
const dir = mkdtempSync(join(tmpdir(), "shiftup-misconfig-"))
// Planted secrets: random, so finding one in an output can only mean it leaked.
// base64url, not hex: 24 hex digits fall under the "random-looking" entropy threshold about 4% of the time.
const password = `pw-${randomBytes(18).toString("base64url")}`
const token = randomBytes(24).toString("base64url")
let busybox = ""
let snap: Inventory.Snapshot

/** Everything a rule would want: non-root, no capabilities, read-only, limited, checked, confined. */
const health = ["--health-cmd", "true", "--health-interval", "1h"]
const network = `${runId}-net`
const hardened = ["--network", network, "--restart", "on-failure:5", "--user", "1000:1000", "--cap-drop", "ALL", "--read-only", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "64", ...health, "--security-opt", "no-new-privileges", "-e", "LOG_LEVEL=debug"]

/** Rule id → the one change to the hardened container that must make exactly that rule fire (and a variant's name when a rule has several). */
const bad: ReadonlyArray<readonly [string, ReadonlyArray<string>, string?]> = [
  ["container.privileged", ["--privileged"]],
  ["container.root-user", ["--user", "0"]],
  ["container.dangerous-capabilities", ["--cap-add", "SYS_ADMIN"]],
  ["container.docker-socket", ["-v", "/var/run/docker.sock:/var/run/docker.sock:ro"]],
  ["container.host-network", ["--network", "host"]],
  ["container.host-pid", ["--pid", "host"]],
  ["container.host-ipc", ["--ipc", "host"]],
  ["container.host-uts", ["--uts", "host"]],
  ["container.sensitive-host-path", ["-v", "/etc:/host-etc:ro"]],
  ["container.writable-rootfs", ["--read-only=false"]],
  ["container.no-memory-limit", ["--memory", "0"]],
  ["container.no-cpu-limit", ["--cpus", "0"]],
  ["container.no-pids-limit", ["--pids-limit", "-1"]],
  ["container.no-healthcheck", []],
  ["container.no-new-privileges", ["--security-opt", "no-new-privileges=false"]],
  ["container.seccomp-unconfined", ["--security-opt", "seccomp=unconfined"]],
  ["container.apparmor-unconfined", ["--security-opt", "apparmor=unconfined"]],
  ["container.secret-in-env", ["-e", `DB_PASSWORD=${password}`, "-e", `SESSION_SEED=${token}`]],
  ["container.selinux-disabled", ["--security-opt", "label=disable"]],
  ["container.selinux-disabled", ["--security-opt", "label=type:spc_t"], "spc"],
  ["container.sshd", ["--entrypoint", "/usr/sbin/sshd"]],
  ["container.restart-policy", ["--restart", "always"]],
  ["container.restart-policy", ["--restart", "on-failure:10"], "on-failure-10"],
  ["container.host-devices", ["--device", "/dev/null:/dev/xnull:r"]],
  ["container.ulimit-override", ["--ulimit", "nofile=1024:2048"]],
  ["container.mount-propagation-shared", ["-v", `${dir}:/shared:shared`]],
  ["container.cgroup-parent", ["--cgroup-parent", `/shiftup-${runId}`]],
  ["container.default-bridge", ["--network", "bridge"]],
  ["container.host-userns", ["--userns", "host"]],
]

const nameOf = (rule: string, variant?: string) => `${runId}-${rule.replace("container.", "")}${variant === undefined ? "" : `-${variant}`}`
const asset = (name: string) => {
  const a = snap.assets.find((x) => x.kind === "container" && x.name === name)
  if (a === undefined) throw new Error(`no container ${name}`)
  return a
}
/** The rules that fire on `name` (image age aside: it depends on when the image was built, tested below). */
const fired = (name: string, profile = "web") =>
  Misconfig.evaluate([asset(name)], { profile, rules: Misconfig.containerRules.filter((r) => r.id !== "container.image-age") }).findings.map((f) => f.rule)

beforeAll(async () => {
  busybox = (await Effect.runPromise(ensureImageMap(engine, { only: ["busybox"] }))).busybox ?? ""
  const old = loadDatedImage(`shiftup-misc-old-${runId}`, "1", "2020-01-02T03:04:05Z", { "shiftup.run": runId })
  const [good, wide] = [await freePort(), await freePort()]
  docker("network", "create", "--label", label, network)
  // docker flags: the last of a repeated flag wins, so a bad variant is the hardened list plus its change
  // (less the health check or the network where the engine refuses two of them).
  docker("run", "-d", "--name", `${runId}-good`, "--label", label, ...hardened, "-p", `127.0.0.1:${good}:8080`, busybox, "sleep", "3600")
  docker("run", "-d", "--name", `${runId}-port-all-interfaces`, "--label", label, ...hardened, "-p", `0.0.0.0:${wide}:8080`, busybox, "sleep", "3600")
  // Created, never started: no live binding yet, but it publishes on every interface once it starts.
  docker("create", "--name", `${runId}-port-created`, "--label", label, ...hardened, "-p", `0.0.0.0:${wide}:8081`, busybox, "sleep", "3600")
  const without = (flags: ReadonlyArray<string>) => hardened.filter((f) => !flags.includes(f))
  for (const [rule, change, variant] of bad) docker("create", "--name", nameOf(rule, variant), "--label", label, ...(rule === "container.no-healthcheck" ? without(health) : change.includes("--network") ? without(["--network", network]) : hardened), ...change, busybox, "sleep", "3600")
  docker("create", "--name", `${runId}-old`, "--label", label, ...hardened, old)
  // A secret as a command argument: the snapshot keeps the program's file name (`sleep`), never an argument.
  docker("create", "--name", `${runId}-args`, "--label", label, ...hardened, busybox, "sleep", "3600", `--db-password=${password}`)
  snap = await Effect.runPromise(Inventory.snapshot({ docker: { client: engine, labels: [label] } }))
}, 60_000)

afterAll(() => {
  removeRun(runId)
  rmSync(dir, { recursive: true, force: true })
  engine.close()
})

describe("container rules on real containers", () => {
  it("the hardened container passes every rule", () => {
    expect(fired(`${runId}-good`)).toEqual([])
    expect(asset(`${runId}-good`).kind === "container" && asset(`${runId}-good`)).toMatchObject({ limits: { memory: 67_108_864, nanoCpus: 500_000_000, pidsLimit: 64 }, env: expect.arrayContaining([{ name: "LOG_LEVEL", secretName: false, highEntropy: false, empty: false }]) })
  })

  it.each(bad.map(([rule, change, variant]) => [rule, change.join(" "), variant] as const))("%s fires on its container (%s) and on no other", (rule, _change, variant) => {
    expect(fired(nameOf(rule, variant))).toEqual([rule])
  })

  it.each([
    ["container.sshd", { web: "medium", healthcare: "high", payments: "high", internal: "medium" }],
    ["container.host-devices", { web: "medium", healthcare: "high", payments: "high", internal: "medium" }],
    ["container.default-bridge", { web: "low", healthcare: "medium", payments: "medium", internal: "info" }],
    ["container.restart-policy", { web: "low", healthcare: "low", payments: "low", internal: "info" }],
  ] as const)("%s: its severity on its container under each profile", (rule, expected) => {
    const under = (profile: string) => Misconfig.evaluate([asset(nameOf(rule))], { profile, rules: [rule] }).findings[0]?.severity
    expect({ web: under("web"), healthcare: under("healthcare"), payments: under("payments"), internal: under("internal") }).toEqual(expected)
  })

  it("container.port-all-interfaces fires on 0.0.0.0, not on 127.0.0.1", () => {
    expect(fired(`${runId}-port-all-interfaces`)).toEqual(["container.port-all-interfaces"])
    const f = Misconfig.evaluate([asset(`${runId}-port-all-interfaces`)], { rules: ["container.port-all-interfaces"] }).findings[0]
    expect(f?.evidence[0]).toMatch(/^8080\/tcp published on 0\.0\.0\.0:\d+$/)
    // A stopped or created container is judged by its configured bindings.
    expect(fired(`${runId}-port-created`)).toEqual(["container.port-all-interfaces"])
  })

  it("container.image-age fires on the 2020 image, not on the one built today, by the profile's window", () => {
    const age = (name: string, profile: string) => Misconfig.evaluate([asset(name)], { profile, rules: ["container.image-age"], now: new Date(snap.takenAt) }).findings.length
    expect([age(`${runId}-old`, "web"), age(`${runId}-good`, "web"), age(`${runId}-good`, "healthcare")]).toEqual([1, 0, 0])
  })

  it("a secret in the environment is named with its signal, its value never kept", () => {
    const f = Misconfig.evaluate([asset(nameOf("container.secret-in-env"))], { rules: ["container.secret-in-env"] }).findings[0]
    expect(f?.evidence).toEqual(["DB_PASSWORD (secret-like name, random-looking value; value not shown)", "SESSION_SEED (random-looking value; value not shown)"])
    expect(f?.severity).toBe("high")
    expect(Misconfig.evaluate([asset(nameOf("container.secret-in-env"))], { profile: "healthcare", rules: ["container.secret-in-env"] }).findings[0]?.severity).toBe("critical")
  })

  it("no planted secret value in the snapshot, any rendering, or the CLI's output", async () => {
    const file = join(dir, "snapshot.json")
    writeFileSync(file, JSON.stringify(snap))
    const outputs: Array<string> = [readFileSync(file, "utf8")]
    const evaluation = Misconfig.evaluate(snap.assets, { profile: "healthcare" })
    for (const format of ["text", "json", "sarif"] as const) outputs.push(Misconfig.render(evaluation, format))
    const codes: Array<number> = []
    for (const format of ["text", "json", "sarif"]) {
      let out = ""
      let err = ""
      codes.push(await main(["misconfig", "--snapshot", file, "--profile", "healthcare", "--format", format], { io: { out: (t) => void (out += t), err: (t) => void (err += t), tty: false } }))
      outputs.push(out, err)
    }
    expect(codes).toEqual([1, 1, 1])
    expect(outputs.join("\n")).toContain("DB_PASSWORD")
    for (const o of outputs) {
      expect(o).not.toContain(password)
      expect(o).not.toContain(token)
    }
    expect(asset(`${runId}-args`)).toMatchObject({ program: "sleep" })
    const sarif = JSON.parse(outputs[8] ?? "")
    // The official OASIS SARIF 2.1.0 (rtm.5) schema, as the report tests use it.
    const { $schema: _draft, id: _id, ...official } = JSON.parse(readFileSync(join(import.meta.dirname, "../fixtures/report/sarif-2.1.0-rtm.5.oasis.schema.json"), "utf8")) as Record<string, unknown>
    const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false }).compile(official)
    expect(validate(sarif) ? "valid" : JSON.stringify(validate.errors)).toBe("valid")
    expect(sarif.runs[0].tool.driver.rules.map((r: { id: string }) => r.id)).toContain("container.privileged")
    expect(sarif.runs[0].results.find((r: { ruleId: string }) => r.ruleId === "container.privileged")).toMatchObject({ level: "error", properties: { blocking: true, profile: "healthcare" } })
  })

  it("shiftup inventory --docker --check --profile: this engine's containers, the rules, exit 1 on the privileged one", async () => {
    const run = async (profile: string) => {
      let out = ""
      const code = await main(["inventory", "--docker", "--check", "--profile", profile, "--format", "json"], { io: { out: (t) => void (out += t), err: () => undefined, tty: false } })
      const mine = (JSON.parse(out) as { findings: ReadonlyArray<{ rule: string; asset: string; severity: string; blocking: boolean }> }).findings.filter((f) => f.asset.startsWith(`docker:local/${runId}-`))
      return { code, mine, out }
    }
    const [healthcare, web] = [await run("healthcare"), await run("web")]
    expect([healthcare.code, web.code]).toEqual([1, 1])
    const at = (r: typeof web, rule: string) => r.mine.find((f) => f.asset === `docker:local/${nameOf(rule)}` && f.rule === rule)
    expect(at(healthcare, "container.privileged")).toMatchObject({ severity: "critical", blocking: true })
    expect([at(web, "container.root-user"), at(healthcare, "container.root-user")]).toMatchObject([{ severity: "medium", blocking: false }, { severity: "high", blocking: true }])
    expect(healthcare.out + web.out).not.toContain(password)
  })
})
