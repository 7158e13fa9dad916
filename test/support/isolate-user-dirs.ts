// Each test file gets its own home directory, so the per-user state every run shares — target
// leases and game-day controls (`~/.local/state/shiftup/`) — is shared by the runs and CLI
// processes of that file, while files running in parallel, each against its own lab, do not trip
// over one another.
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

process.env["HOME"] = mkdtempSync(join(tmpdir(), "shiftup-test-home-"))
