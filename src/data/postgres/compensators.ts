/**
 * Every compensator of the PostgreSQL data faults, registered by kind from the kinds the faults
 * declare: what `shiftup recover` and the watchdog load when a ledger names `shiftup/data`. Each
 * connects again from its record alone (the URL and the name of the password's variable) and is
 * idempotent: values already restored, objects already there, are left alone.
 */
import * as Compensation from "../../Compensation.ts"
import { RestoreValues } from "./faults/corrupt.ts"
import { Recreate } from "./faults/drop-object.ts"
import { Decrypt } from "./faults/encrypt.ts"
import { DatabaseSetting } from "./faults/read-only.ts"
import { RestoreRows } from "./faults/replay.ts"
import { EndSessions } from "./internal/hold.ts"

/** The `data.postgres.*` compensators by kind. */
export const compensators: Compensation.Compensators = Compensation.registry([RestoreValues, Decrypt, Recreate, RestoreRows, EndSessions, DatabaseSetting])
