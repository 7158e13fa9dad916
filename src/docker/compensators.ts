/**
 * Every compensator of shiftup/docker, registered by kind from the kinds its faults declare
 * (`faults/*.ts`): what `shiftup recover` and the watchdog load when a ledger names the module
 * `shiftup/docker`, and what a config can spread into its own `compensators`. Each works from
 * its record alone (decoded with its kind's schema first) and is idempotent.
 */
import * as Compensation from "../Compensation.ts"
import { Reconnect } from "./faults/disconnect.ts"
import { IptablesRemove } from "./faults/partition.ts"
import { TcRestore } from "./faults/bandwidth.ts"
import { Unpause } from "./faults/pause.ts"
import { RemoveLabelled } from "./faults/rogue-listener.ts"
import { Update } from "./faults/squeeze.ts"
import { Start } from "./faults/stop.ts"
import { ArchiveRestore } from "./faults/tamper.ts"

/**
 * The `docker.*` compensators by kind.
 *
 * @example
 * const config = defineConfig({ compensators: { ...Docker.compensators } })
 */
export const compensators: Compensation.Compensators = Compensation.registry([Unpause, Start, Update, ArchiveRestore, RemoveLabelled, Reconnect, IptablesRemove, TcRestore])
