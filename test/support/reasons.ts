/**
 * The error family as the tests see it: every reason class src/ShiftupError.ts exports (found by
 * the family's mark, not by a list that could drift), and one sample of each with every field
 * set, optional ones included.
 */
import * as Family from "../../src/ShiftupError.ts"
import type { ShiftupError } from "../../src/ShiftupError.ts"

type ReasonClass = abstract new (...args: never) => ShiftupError

/** Every reason class of the family, by `_tag`. */
export const reasonClasses = (): ReadonlyMap<string, ReasonClass> =>
  new Map(
    Object.entries(Family).flatMap(([name, value]) =>
      typeof value === "function" && Family.isShiftupError(value.prototype) ? [[name, value as unknown as ReasonClass] as const] : [],
    ),
  )

const cause = new Error("what failed underneath")

/** One instance of each reason, every field set. */
export const samples: ReadonlyArray<ShiftupError> = [
  new Family.TargetRefused({ target: "db", step: "pause", rule: "floor.production-data-store", detail: "production data store" }),
  new Family.BudgetExceeded({ rule: "budget.max-targets", limit: 2, requested: 3, detail: "too many targets" }),
  new Family.OutsideManifest({ step: "kill", target: "db", detail: "not declared" }),
  new Family.EgressDenied({ host: "example.com", address: "93.184.216.34", allowed: ["127.0.0.0/8", "::1/128"], setting: "inventory.egress" }),
  new Family.ProbeFailed({ probe: "status", target: "api", detail: "ECONNREFUSED", cause }),
  new Family.InjectionFailed({ fault: "down", target: "auth", detail: "boom", compensation: "ledgered", cause }),
  new Family.RollbackFailed({ fault: "down", target: "auth", detail: "timeout", cause }),
  new Family.CredentialsRefused({ fault: "data.redis.flushdb", target: "cache", server: "127.0.0.1:6390", passwordEnv: "CACHE_PASSWORD", problem: "refused", detail: "WRONGPASS", cause }),
  new Family.RecoveryNotObserved({ check: "health", withinMs: 3000, last: "503" }),
  new Family.InvalidExperiment({ source: '"x"', issues: [{ path: "title", message: "empty" }, { path: "", message: "bad" }] }),
  new Family.InvalidConfig({ source: "shiftup.config.ts", issues: [{ path: "budget.maxTargets", message: "negative" }] }),
  new Family.InvalidArguments({ detail: "unknown flag --x" }),
  new Family.LoadFailed({ file: "e.ts", detail: "no default export" }),
  new Family.TargetUnresolved({ target: "auth", detail: "no container", cause }),
  new Family.EngineUnavailable({ engine: "Docker", address: "unix:///var/run/docker.sock", detail: "connect ENOENT /var/run/docker.sock", cause }),
  new Family.LedgerError({ path: "/l.jsonl", detail: "EACCES", line: 3, errno: "EACCES" }),
  new Family.InvalidCompensation({ path: "/l.jsonl", seq: 2, kind: "file.restore", issues: [{ path: "path", message: "Expected a string" }] }),
  new Family.UnknownCompensation({ kind: "docker.unpause" }),
  new Family.ApprovalDeclined({ step: "overwrite-b", detail: "nobody to ask (no terminal)" }),
  new Family.ControlDirRefused({ path: "/c", source: "per-user default", detail: "is a symbolic link" }),
  new Family.InvalidInventoryFile({ file: "osv/GHSA-1.json", field: "affected[0].ranges[0].events[1]", detail: "an event holds exactly one key" }),
  new Family.FindingStoreError({ store: ".shiftup/watch.sqlite", detail: "no finding 3f2a in the store" }),
  new Family.UnmappedTarget({ finding: "3f2a", target: "api (https://api.example)", suggestion: '{ production: "https://api.example", to: "http://127.0.0.1:8081" }' }),
]

/** A reason's field names: what its constructor was given (`cause` is the Error's own, not enumerable). */
export const fieldsOf = (reason: ShiftupError): ReadonlyArray<string> => [...Object.keys(reason).filter((k) => k !== "_tag"), ...(Object.hasOwn(reason, "cause") ? ["cause"] : [])]
