// Each test file gets its own per-user runtime directory (target leases, game-day controls): the
// CLI processes a file spawns inherit it, so runs inside one file still see each other's leases,
// while files running in parallel — each against its own lab — do not trip over one another.
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

process.env["XDG_RUNTIME_DIR"] = mkdtempSync(join(tmpdir(), "shiftup-test-runtime-"))
