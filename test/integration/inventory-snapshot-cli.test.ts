/**
 * `shiftup inventory` and `shiftup inventory diff` as a user runs them (the real bin, a config
 * file with an `inventory` section): two snapshots of loopback ports with one opened between
 * them → the diff names the new port and exits 1 under a "must not happen" rule, 0 without
 * drift; a destination outside the allowlist exits 2; an invalid rule exits 4 naming it.
 */
import { execFileSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { repoRoot, runCli, tempDir, useProcessCleanup } from "../support/proc-cli.ts"
import { freePort } from "../support/servers.ts"

useProcessCleanup()

const servers: Array<net.Server> = []
const open = (port: number) =>
  new Promise<void>((resolve) => {
    const s = net.createServer((c) => c.destroy())
    servers.push(s)
    s.listen(port, "127.0.0.1", () => resolve())
  })
afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))))

describe("shiftup inventory", () => {
  it("snapshot, port opened, snapshot: the diff names it and exits 1 under the rule; no drift exits 0", async () => {
    const dir = tempDir("inv-cli-")
    const [a, b] = [await freePort(), await freePort()]
    await open(a)
    const config = join(dir, "shiftup.config.ts")
    writeFileSync(
      config,
      `export default { inventory: { endpoints: [{ target: "127.0.0.1", ports: [${a}, ${b}], environment: "lab", owner: "ops" }], rules: [{ name: "no new ports", kinds: ["port-opened"] }] } }\n`,
    )
    const one = await runCli(["inventory", "--config", config, "--out", join(dir, "one.json")])
    expect(one.code, one.output).toBe(0)
    expect(one.stdout).toContain(`tcp:127.0.0.1:${a}  [lab; owner ops]`)
    await open(b)
    const two = await runCli(["inventory", "--config", config, "--out", join(dir, "two.json")])
    expect(two.code, two.output).toBe(0)
    expect(JSON.parse(readFileSync(join(dir, "two.json"), "utf8")).assets.map((x: { id: string }) => x.id)).toEqual([`tcp:127.0.0.1:${a}`, `tcp:127.0.0.1:${b}`].sort())
    const drift = await runCli(["inventory", "diff", join(dir, "one.json"), join(dir, "two.json"), "--config", config])
    expect(drift.code, drift.output).toBe(1)
    expect(drift.stdout).toContain(`port-opened            tcp:127.0.0.1:${b}`)
    expect(drift.stdout).toContain(`no new ports: port-opened tcp:127.0.0.1:${b}`)
    const json = await runCli(["inventory", "diff", join(dir, "one.json"), join(dir, "two.json"), "--config", config, "--json"])
    expect(JSON.parse(json.stdout).changes.map((c: { kind: string; asset: string }) => `${c.kind} ${c.asset}`)).toEqual([`port-opened tcp:127.0.0.1:${b}`])
    const same = await runCli(["inventory", "diff", join(dir, "two.json"), join(dir, "two.json"), "--config", config])
    expect(same.code, same.output).toBe(0)
  })

  it("a destination outside the allowlist exits 2 naming it; an invalid rule kind exits 4 naming the path; a remote engine outside it exits 2", async () => {
    // Names under .invalid never resolve: even a broken check could send nothing off this machine.
    const refused = await runCli(["inventory", "--endpoints", "no-such-host.invalid:443", "--observe-production"])
    expect(refused.code, refused.output).toBe(2)
    expect(refused.stderr).toContain("egress to no-such-host.invalid (unresolvable) is not allowed; allowed: 127.0.0.0/8, ::1/128. Add it to inventory.egress")
    const dir = tempDir("inv-cli-")
    const config = join(dir, "shiftup.config.ts")
    writeFileSync(config, `export default { inventory: { rules: [{ name: "x", kinds: ["port-openned"] }] } }\n`)
    writeFileSync(join(dir, "remote.config.ts"), `export default { inventory: { docker: { name: "far", host: "tcp://no-such-engine.invalid:2375" } } }\n`)
    const bad = await runCli(["inventory", "diff", "a.json", "b.json", "--config", config])
    expect(bad.code).toBe(4)
    expect(bad.stderr).toContain("inventory.rules")
    // A remote engine outside the allowlist: refused before the engine is contacted.
    const remote = await runCli(["inventory", "--config", join(dir, "remote.config.ts")])
    expect(remote.code, remote.output).toBe(2)
    expect(remote.stderr).toContain("egress to no-such-engine.invalid (unresolvable) is not allowed")
  })
})

describe("shiftup/inventory", () => {
  it("loads without dockerode: a Docker engine's client loads only for a snapshot that reads one", () => {
    const script = `import { createRequire } from "node:module"
const require = createRequire(import.meta.url)
await import(${JSON.stringify(join(repoRoot, "src", "inventory", "index.ts"))})
process.stdout.write(String(Object.keys(require.cache).some((k) => k.includes("dockerode"))))`
    expect(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" })).toBe("false")
  })
})
