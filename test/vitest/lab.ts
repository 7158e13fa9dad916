/**
 * The demo lab for the user-style suites: started on free loopback ports when the test file is
 * loaded (DemoLab targets read SHIFTUP_LAB_PORT when experiments are built, at collection time),
 * with a temp state dir; both cleaned up after the file.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import { startLabOnFreePorts } from "../support/proc-lab.ts"

export const useLab = async () => {
  const lab = await startLabOnFreePorts()
  process.env["SHIFTUP_LAB_PORT"] = String(lab.base)
  const stateDir = mkdtempSync(join(tmpdir(), "shiftup-vitest-"))
  afterAll(async () => {
    await lab.close()
    rmSync(stateDir, { recursive: true, force: true })
  })
  return { lab, stateDir }
}
