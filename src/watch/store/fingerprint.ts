/**
 * A finding's fingerprint: SHA-256 over its rule, asset and location only — never a timestamp,
 * a counter, a run id or the free-text detail, so the same weakness seen by two runs is one
 * finding (the cause of duplicate findings in tools that hash the whole record).
 */
import { createHash } from "node:crypto"
import type { Observation } from "./Store.ts"

export const fingerprint = (o: Pick<Observation, "rule" | "asset" | "location">): string =>
  createHash("sha256").update(JSON.stringify(["shiftup.finding/v1", o.rule, o.asset, o.location])).digest("hex").slice(0, 32)
