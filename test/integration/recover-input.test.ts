/**
 * Bad input to `shiftup recover` (and the state directory of `run`), through the real CLI: every
 * case gets its documented exit code and a message naming the path and what to do — never a false
 * "nothing to recover" with exit 0, never a stack trace — and nothing is replayed from a ledger
 * that cannot be trusted. Where the state directory also holds a good ledger, that one is still
 * recovered (one bad ledger does not stop the others).
 *
 * Each ledger here owes one undo: put a world file back to "ORIGINAL" (it is "TAMPERED"). "Nothing
 * replayed" means that file is still "TAMPERED" afterwards.
 */
import { spawnSync, execFileSync } from "node:child_process"
import { appendFileSync, chmodSync, chownSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { describe, type ExpectStatic, type TestContext, test } from "vitest"
import { fixture, testScope, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

const root = process.getuid?.() === 0
const at = "2025-01-01T00:00:00.000Z"
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid
const line = (r: object) => `${JSON.stringify({ v: 1, ...r })}\n`

/** A state dir, a tampered world file and a helper writing ledgers that owe its restore. */
const setup = (context: TestContext) => {
  const scope = testScope(context)
  const state = scope.tempDir("shiftup-rstate-")
  const world = scope.tempDir("shiftup-rworld-")
  mkdirSync(join(state, "ledger"), { mode: 0o700 })
  const tampered = (name: string) => {
    const path = join(world, name)
    writeFileSync(path, "TAMPERED")
    return path
  }
  const header = (runId: string) => line({ type: "run", runId, experiment: "e", pid: deadPid(), at })
  const intent = (file: string, seq = 1) =>
    line({ type: "intent", seq, fault: `restore-${seq}`, target: "files", module: "shiftup", compensation: { kind: "file.restore", description: `restore ${file}`, target: "files", path: file, content: Buffer.from("ORIGINAL").toString("base64") }, at })
  const ledger = (runId: string, text: string) => {
    const path = join(state, "ledger", `${runId}.jsonl`)
    writeFileSync(path, text, { mode: 0o600 })
    return path
  }
  const untouched = (expect: ExpectStatic, file: string) => expect(readFileSync(file, "utf8"), `${file} must not have been replayed`).toBe("TAMPERED")
  const restored = (expect: ExpectStatic, file: string) => expect(readFileSync(file, "utf8"), `${file} must have been restored`).toBe("ORIGINAL")
  return { scope, state, world, tampered, header, intent, ledger, untouched, restored }
}

interface Outcome {
  readonly code: number | null
  readonly output: string
}

/** Common to every case: the code, the fragment, no stack trace, no false all-clear. */
const check = (expect: ExpectStatic, r: Outcome, code: number, fragment: RegExp) => {
  expect(r.code, r.output).toBe(code)
  expect(r.output).toMatch(fragment)
  expect(r.output, "no stack trace").not.toMatch(/unexpected error|\n\s+at /)
  if (code !== 0) expect(r.output, "no false all-clear").not.toMatch(/nothing to recover/)
}

describe.concurrent("recover: bad input is refused with its code and message; nothing untrusted is replayed", () => {
  test("a missing --state-dir: exit 4 naming the directory searched", async (context) => {
    const { scope, state, tampered, header, intent, ledger, untouched } = setup(context)
    const file = tampered("a.txt")
    ledger("r", header("r") + intent(file))
    const r = await scope.runCli(["recover", "--state-dir", `${state}-typo`])
    check(context.expect, r, 4, new RegExp(`the state directory ${resolve(`${state}-typo`)} does not exist, so no ledger was searched; check --state-dir`))
    untouched(context.expect, file)
  })

  test("the default state dir (.shiftup) missing: exit 4 too, not 'nothing to recover'", async (context) => {
    const { scope } = setup(context)
    const cwd = scope.tempDir("shiftup-cwd-")
    const r = await scope.runCli(["recover"], { cwd })
    check(context.expect, r, 4, new RegExp(`the state directory ${join(cwd, ".shiftup")} does not exist`))
  })

  test("a --state-dir that is a file: exit 4", async (context) => {
    const { scope, world } = setup(context)
    const file = join(world, "not-a-dir")
    writeFileSync(file, "")
    check(context.expect, await scope.runCli(["recover", "--state-dir", file]), 4, /does not exist \(it is not a directory\)/)
  })

  test("an empty --state-dir=: exit 4, not the current directory", async (context) => {
    const { scope } = setup(context)
    check(context.expect, await scope.runCli(["recover", "--state-dir="]), 4, /--state-dir is empty/)
  })

  test("--state-dir under /proc: recover exits 4 at once; run fails fast instead of looping in mkdir", async (context) => {
    const { scope } = setup(context)
    check(context.expect, await scope.runCli(["recover", "--state-dir", "/proc/shiftup-x"], { timeoutMs: 20_000 }), 4, /\/proc\/shiftup-x does not exist/)
    const run = await scope.runCli(["run", fixture("files-destroy.ts"), "--state-dir", "/proc/shiftup-x"], { timeoutMs: 30_000, env: { SHIFTUP_FIXTURE_DIR: scope.tempDir(), SHIFTUP_FIXTURE_FILES: "a" } })
    check(context.expect, run, 4, /no durable ledger, so nothing was injected: ledger \/proc\/shiftup-x\/ledger\/.*cannot create its folder \/proc\/shiftup-x\/ledger: .*ENOENT/)
  })

  test("a ledger file that does not exist: exit 4", async (context) => {
    const { scope, state } = setup(context)
    check(context.expect, await scope.runCli(["recover", join(state, "ledger", "nope.jsonl")]), 4, /no such ledger file: .*nope\.jsonl/)
  })

  test("a config that replaces a built-in compensation kind: exit 4 naming the key", async (context) => {
    const { scope, state, world } = setup(context)
    const config = join(world, "replace.config.ts")
    writeFileSync(config, 'import { defineConfig } from "shiftup"\nexport default defineConfig({ compensators: { "http.request": () => undefined as never } })\n')
    check(context.expect, await scope.runCli(["recover", "--state-dir", state, "--config", config]), 4, /compensators\.http\.request: "http\.request" is a built-in compensation kind and cannot be replaced/)
  })

  const damaged: ReadonlyArray<readonly [string, (h: string, i: string) => string, RegExp]> = [
    ["garbage", () => "this is not a ledger\n", /line 1: not JSON/],
    ["binary", () => "\u0000\u0001\u00fe\u00ff\n\u0000", /line 1: not JSON/],
    ["a null line", (h, i) => `${h}null\n${i}`, /line 2: it is null, not a ledger record/],
    ["an intent whose compensation is null", (h) => h + line({ type: "intent", seq: 1, fault: "f", target: "t", compensation: null, at }), /line 2: not a valid "intent" record: compensation/],
    ["a torn line in the middle", (h, i) => `${h}{"v":1,"type":"appl\n${i}`, /line 2: not JSON .*nothing after it is replayed unless you pass --force/],
    ["another program's JSONL", () => '{"level":"info","msg":"started"}\n', /line 1: unknown record type/],
  ]
  for (const [name, make, fragment] of damaged)
    test(`${name}: exit 5 with path, line and reason; the good ledger beside it is still recovered`, async (context) => {
      const { scope, state, tampered, header, intent, ledger, untouched, restored } = setup(context)
      const bad = tampered("bad.txt")
      const good = tampered("good.txt")
      const path = ledger("a-bad", make(header("a-bad"), intent(bad)))
      ledger("b-good", header("b-good") + intent(good))
      const r = await scope.runCli(["recover", "--state-dir", state])
      check(context.expect, r, 5, fragment)
      context.expect(r.stderr).toContain(`NOT RECOVERED: ledger ${path} line`)
      context.expect(r.stdout).toMatch(/^restored restore-1 on files \(run b-good\)/m)
      untouched(context.expect, bad)
      restored(context.expect, good)
    })

  test("a torn line in the middle is replayed with --force only, its bad line reported", async (context) => {
    const { scope, state, tampered, header, intent, ledger, restored } = setup(context)
    const file = tampered("a.txt")
    ledger("torn", `${header("torn")}{"v":1,"type":"appl\n${intent(file)}`)
    const r = await scope.runCli(["recover", "--state-dir", state, "--force"])
    check(context.expect, r, 0, /--force: skipped .*torn\.jsonl line 2: not JSON/)
    restored(context.expect, file)
  })

  test("a group-writable ledger: exit 5 naming the file and the chmod; nothing replayed", async (context) => {
    const { scope, state, tampered, header, intent, ledger, untouched } = setup(context)
    const file = tampered("a.txt")
    const path = ledger("shared", header("shared") + intent(file))
    chmodSync(path, 0o664)
    check(context.expect, await scope.runCli(["recover", "--state-dir", state]), 5, new RegExp(`ledger ${path}: not replayed: it is writable by its group \\(mode 664\\).*chmod 600 ${path}`))
    untouched(context.expect, file)
  })

  test("a symbolic link in place of a ledger: exit 5", async (context) => {
    const { scope, state, world, tampered, header, intent, untouched } = setup(context)
    const file = tampered("a.txt")
    const real = join(world, "elsewhere.jsonl")
    writeFileSync(real, header("link") + intent(file), { mode: 0o600 })
    symlinkSync(real, join(state, "ledger", "link.jsonl"))
    check(context.expect, await scope.runCli(["recover", "--state-dir", state]), 5, /not a regular file \(a symbolic link\)/)
    untouched(context.expect, file)
  })

  test("a forged compensation that does not match its kind's schema: exit 5, not replayed", async (context) => {
    const { scope, state, tampered, header, ledger, untouched } = setup(context)
    const file = tampered("a.txt")
    ledger("forged", header("forged") + line({ type: "intent", seq: 1, fault: "f", target: "t", module: "shiftup", compensation: { kind: "file.restore", description: "x", target: "t", path: "a.txt", content: "ORIGINAL" }, at }))
    check(context.expect, await scope.runCli(["recover", "--state-dir", state]), 5, /intent 1: the "file.restore" compensation does not match its kind's schema/)
    untouched(context.expect, file)
  })

  test("a ledger folder that cannot be listed (ENOTDIR): exit 5 with the path and errno", async (context) => {
    const { scope, world } = setup(context)
    const state = join(world, "state")
    mkdirSync(state)
    writeFileSync(join(state, "ledger"), "")
    check(context.expect, await scope.runCli(["recover", "--state-dir", state]), 5, new RegExp(`ledger ${join(state, "ledger")}: cannot list the ledgers: .*ENOTDIR`))
  })

  test.skipIf(!root)("a ledger owned by another user: exit 5 naming the file and the chown", async (context) => {
    const { scope, state, tampered, header, intent, ledger, untouched } = setup(context)
    const file = tampered("a.txt")
    const path = ledger("foreign", header("foreign") + intent(file))
    chownSync(path, 65534, 65534)
    check(context.expect, await scope.runCli(["recover", "--state-dir", state]), 5, new RegExp(`it belongs to uid 65534, not to you \\(uid 0\\).*chown 0 ${path}`))
    untouched(context.expect, file)
  })

  test.skipIf(!root)("a read-only state dir: recover exits 5 (cannot lock, nothing replayed); run --watchdog gives the documented error", async (context) => {
    const { scope, tampered, header, intent, untouched } = setup(context)
    const file = tampered("a.txt")
    const mount = scope.tempDir("shiftup-ro-")
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", mount])
    try {
      mkdirSync(join(mount, "ledger"), { mode: 0o700 })
      writeFileSync(join(mount, "ledger", "ro.jsonl"), header("ro") + intent(file), { mode: 0o600 })
      execFileSync("mount", ["-o", "remount,ro", mount])
      const r = await scope.runCli(["recover", "--state-dir", mount])
      check(context.expect, r, 5, /cannot take its lock .*ro\.jsonl\.lock: .*EROFS/)
      untouched(context.expect, file)
      const w = await scope.runCli(["run", fixture("files-destroy.ts"), "--watchdog", "--state-dir", mount], { env: { SHIFTUP_FIXTURE_DIR: scope.tempDir(), SHIFTUP_FIXTURE_FILES: "a" } })
      check(context.expect, w, 4, new RegExp(`shiftup: ledger ${join(mount, "watchdog")}: the watchdog cannot use the state directory ${mount}: .*EROFS.*choose a writable --state-dir \\(nothing was injected\\)`))
    } finally {
      execFileSync("umount", [mount])
    }
  })

  test("a torn final line is not an error: recover replays, ends the line, and says so", async (context) => {
    const { scope, state, tampered, header, intent, ledger, restored } = setup(context)
    const file = tampered("a.txt")
    const path = ledger("torn-end", `${header("torn-end")}${intent(file)}{"v":1,"type":"appl`)
    const r = await scope.runCli(["recover", "--state-dir", state])
    check(context.expect, r, 0, new RegExp(`note: ${path} line 3 is torn`))
    restored(context.expect, file)
    appendFileSync(file, "")
    const again = await scope.runCli(["recover", "--state-dir", state])
    check(context.expect, again, 0, /nothing to recover/)
  })
})
