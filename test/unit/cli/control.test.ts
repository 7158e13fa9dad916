/**
 * The game-day control directory on a real filesystem. These tests run as root, so "someone
 * else" is made with chown (nobody) and "writable by others" with chmod; root's own power to
 * write anywhere is exactly why the checks look at owner and mode rather than trying access.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { spawnSync } from "node:child_process"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest"
import { defineConfig, isShiftupError, type ShiftupError } from "shiftup"
import { openControlDir } from "../../../src/cli/control.ts"
import { isPaused, readHalt, requestHalt, requestPause } from "../../../src/cli/gameday.ts"

const nobody = 65534
const nogroup = 65534
const root = mkdtempSync(join(tmpdir(), "shiftup-control-test-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const fresh = () => {
  const dir = join(root, `case-${++n}`)
  mkdirSync(dir, { mode: 0o700 })
  return dir
}

const env = { home: process.env["HOME"], control: process.env["SHIFTUP_CONTROL_DIR"] }
beforeEach(() => {
  // Every test names its own directory, through HOME (the default) or SHIFTUP_CONTROL_DIR.
  process.env["HOME"] = fresh()
  delete process.env["SHIFTUP_CONTROL_DIR"]
})
afterEach(() => {
  for (const [k, v] of [["HOME", env.home], ["SHIFTUP_CONTROL_DIR", env.control]] as const) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
})

/** The `ControlDirRefused` (or other reason) message opening the control dir fails with. */
const refusal = (configured?: string): { readonly tag: string; readonly message: string } => {
  try {
    openControlDir(configured)
  } catch (e) {
    expect(isShiftupError(e)).toBe(true)
    return { tag: (e as ShiftupError)._tag, message: (e as ShiftupError).message }
  }
  return expect.fail("the control directory was accepted")
}

const mode = (path: string) => lstatSync(path).mode & 0o7777

describe("the per-user default", () => {
  it("is ~/.local/state/shiftup/control, created owner-only", () => {
    const dir = openControlDir(undefined)
    expect(dir).toEqual({ path: join(process.env["HOME"] ?? "", ".local", "state", "shiftup", "control"), source: "per-user default", team: false })
    expect(mode(dir.path)).toBe(0o700)
    expect(lstatSync(dir.path).uid).toBe(process.getuid?.())
    requestHalt(dir, "test")
    expect(mode(join(dir.path, "HALT"))).toBe(0o600)
    expect(readHalt(dir)?.reason).toBe("test")
  })

  it("pre-created by another user: refused, and nothing is written there", () => {
    const path = join(process.env["HOME"] ?? "", ".local", "state", "shiftup", "control")
    mkdirSync(path, { recursive: true, mode: 0o700 })
    chownSync(path, nobody, nogroup)
    const r = refusal()
    expect(r.tag).toBe("ControlDirRefused")
    expect(r.message).toContain(`game-day control directory ${path} (per-user default) is owned by uid ${nobody}, not by you (uid 0): its owner could halt or pause your runs. Remove it`)
    expect(existsSync(join(path, "HALT"))).toBe(false)
  })

  it.each([
    [0o770, "is writable by its group (mode 0770): chmod 700 it. A directory shared by a team must be named explicitly"],
    [0o2770, "is writable by its group (mode 2770): chmod 700 it"],
    [0o777, "is writable by every user (mode 0777)"],
    [0o1777, "is writable by every user (mode 1777)"],
  ])("mode %o: refused", (bits, fragment) => {
    const path = join(process.env["HOME"] ?? "", ".local", "state", "shiftup", "control")
    mkdirSync(path, { recursive: true })
    chmodSync(path, bits)
    expect(refusal().message).toContain(fragment)
  })

  it("a symbolic link at the control path: refused, never followed", () => {
    const elsewhere = fresh()
    const path = join(process.env["HOME"] ?? "", ".local", "state", "shiftup", "control")
    mkdirSync(join(path, ".."), { recursive: true })
    symlinkSync(elsewhere, path)
    expect(refusal().message).toContain("is a symbolic link, and shiftup never follows one there")
    expect(lstatSync(path).isSymbolicLink()).toBe(true)
  })

  it("a file at the control path: refused", () => {
    const path = join(process.env["HOME"] ?? "", ".local", "state", "shiftup", "control")
    mkdirSync(join(path, ".."), { recursive: true })
    writeFileSync(path, "")
    expect(refusal().message).toContain("is not a directory")
  })

  it("inside a directory others could rearrange (group-writable, not sticky): refused", () => {
    const parent = join(process.env["HOME"] ?? "", "shared")
    mkdirSync(join(parent, "control"), { recursive: true, mode: 0o700 })
    chmodSync(parent, 0o775)
    process.env["SHIFTUP_CONTROL_DIR"] = join(parent, "control")
    expect(refusal().message).toContain(`sits in ${parent}, which is writable by its group (mode 0775) without the sticky bit`)
    // Sticky, like /tmp: others cannot rename what they do not own there.
    chmodSync(parent, 0o1777)
    expect(openControlDir(undefined).path).toBe(join(parent, "control"))
  })

  it("inside a directory another user owns: refused", () => {
    const parent = join(process.env["HOME"] ?? "", "theirs")
    mkdirSync(join(parent, "control"), { recursive: true, mode: 0o700 })
    chownSync(parent, nobody, nogroup)
    process.env["SHIFTUP_CONTROL_DIR"] = join(parent, "control")
    expect(refusal().message).toContain(`sits in ${parent}, which belongs to uid ${nobody}`)
  })
})

describe("an explicit control directory", () => {
  it("SHIFTUP_CONTROL_DIR beats the config's controlDir; both must be absolute", () => {
    const a = fresh()
    const b = fresh()
    expect(openControlDir(b)).toMatchObject({ path: b, source: "config controlDir" })
    process.env["SHIFTUP_CONTROL_DIR"] = a
    expect(openControlDir(b)).toMatchObject({ path: a, source: "SHIFTUP_CONTROL_DIR" })
    process.env["SHIFTUP_CONTROL_DIR"] = "relative/control"
    expect(refusal()).toEqual({ tag: "InvalidConfig", message: expect.stringContaining('SHIFTUP_CONTROL_DIR: "relative/control" is not an absolute path') })
    expect(() => defineConfig({ controlDir: "relative" })).toThrow(/controlDir: must be an absolute path/)
  })

  it("a team directory: group-writable with setgid, owned by root or you, is accepted; its files are group-readable", () => {
    const team = join(fresh(), "team")
    mkdirSync(team)
    chownSync(team, 0, nogroup)
    chmodSync(team, 0o2770)
    const dir = openControlDir(team)
    expect(dir).toEqual({ path: team, source: "config controlDir", team: true })
    requestPause(dir)
    expect(isPaused(dir)).toBe(true)
    expect(mode(join(team, "PAUSE"))).toBe(0o640)
    expect(lstatSync(join(team, "PAUSE")).gid).toBe(nogroup)
  })

  it("group-writable without setgid, world-writable, or owned by another user: refused even when named", () => {
    const team = join(fresh(), "team")
    mkdirSync(team)
    chmodSync(team, 0o770)
    expect(refusal(team).message).toContain("is writable by its group (mode 0770) without the setgid bit: chmod 2770 it")
    chmodSync(team, 0o2777)
    expect(refusal(team).message).toContain("is writable by every user")
    chmodSync(team, 0o2770)
    chownSync(team, nobody, nogroup)
    expect(refusal(team).message).toContain(`is owned by uid ${nobody}`)
  })

  it("a symbolic link named explicitly is refused too", () => {
    const link = join(fresh(), "link")
    symlinkSync(fresh(), link)
    expect(refusal(link).message).toContain("is a symbolic link")
  })
})

describe("files in the control directory are never followed", () => {
  it("a HALT that is a link halts without reading its target; a new halt replaces the link, not the target", () => {
    const dir = openControlDir(undefined)
    const secret = join(fresh(), "secret.txt")
    writeFileSync(secret, '{"reason":"from the link target"}')
    symlinkSync(secret, join(dir.path, "HALT"))
    const h = readHalt(dir)
    expect(h?.reason).toMatch(/^halt \(.*ELOOP/)
    requestHalt(dir, "mine")
    expect(readFileSync(secret, "utf8")).toBe('{"reason":"from the link target"}')
    expect(lstatSync(join(dir.path, "HALT")).isSymbolicLink()).toBe(false)
    expect(readHalt(dir)?.reason).toBe("mine")
  })

  it("a FIFO named HALT halts and does not block the run", () => {
    const dir = openControlDir(undefined)
    expect(spawnSync("mkfifo", [join(dir.path, "HALT")]).status).toBe(0)
    expect(readHalt(dir)?.reason).toMatch(/not a regular file/)
  })
})
