/**
 * Every compensator of the Redis data faults, by kind: what `shiftup recover` loads (through
 * `shiftup/data`) for a ledger naming a `data.redis.*` kind.
 */
import * as Compensation from "../../Compensation.ts"
import { UndoCorrupt } from "./faults/corrupt.ts"
import { UndoEncrypt } from "./faults/encrypt.ts"
import { UndoEvictionPressure } from "./faults/eviction-pressure.ts"
import { UndoExpire } from "./faults/expire.ts"
import { UndoFlushDb } from "./faults/flush-db.ts"
import { UndoReplay } from "./faults/replay.ts"

export const compensators: Compensation.Compensators = Compensation.registry([UndoCorrupt, UndoEncrypt, UndoExpire, UndoEvictionPressure, UndoFlushDb, UndoReplay])
