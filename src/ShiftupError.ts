/**
 * One error family for everything shiftup can refuse or fail at. Each reason is its own tagged
 * error class (`TargetRefused`, `BudgetExceeded`…) whose `_tag` is API, listed in docs/errors.md;
 * `ShiftupError` is their union, and `isShiftupError` tells a member of the family from anything
 * else. Messages are derived from the fields and say what to change.
 *
 * A reason is yieldable: `yield* new TargetRefused({ … })` fails an Effect with it.
 *
 * @example
 * import { Effect } from "effect"
 * program.pipe(Effect.catchTag("TargetRefused", (e) => Effect.succeed(`refused by ${e.rule}`)))
 */
import { Data, Predicate, type Cause, type Types } from "effect"

const TypeId = "~shiftup/ShiftupError"

type Fields<A> = Types.VoidIfEmpty<{ readonly [P in keyof A as P extends "_tag" ? never : P]: A[P] }>

type Instance<Tag extends string, A> = Cause.YieldableError & { readonly _tag: Tag; readonly [TypeId]: typeof TypeId } & Readonly<A>

/**
 * The base of every reason: `Data.TaggedError(tag)` marked as a member of the family. The mark
 * is on the prototype, so it is in no reason's fields, JSON or equality.
 */
const Reason = <Tag extends string>(tag: Tag): new <A extends Record<string, any> = {}>(args: Fields<A>) => Instance<Tag, A> => {
  class Base extends Data.TaggedError(tag) {}
  Object.defineProperty(Base.prototype, TypeId, { value: TypeId })
  return Base as never
}

/** A target or step was refused by the safety policy (floor or configuration). */
export class TargetRefused extends Reason("TargetRefused")<{
  readonly target: string
  readonly step: string
  readonly rule: string
  readonly detail: string
}> {
  override get message() {
    return `refused "${this.step}" on target "${this.target}" by rule ${this.rule}: ${this.detail}`
  }
}

/** The blast-radius budget would be exceeded (at plan time or at an injection). */
export class BudgetExceeded extends Reason("BudgetExceeded")<{
  readonly rule: string
  readonly limit: number
  readonly requested: number
  readonly detail: string
}> {
  override get message() {
    return `budget rule ${this.rule}: ${this.detail} (limit ${this.limit}, requested ${this.requested}); raise the experiment's budget or narrow the step`
  }
}

/** A generator-form experiment tried to inject something its manifest does not declare. */
export class OutsideManifest extends Reason("OutsideManifest")<{
  readonly step: string
  readonly target: string
  readonly detail: string
}> {
  override get message() {
    return `"${this.step}" on "${this.target}" is outside the experiment's manifest: ${this.detail}`
  }
}

/** A destination is outside the egress allowlist (checked after DNS resolution). */
export class EgressDenied extends Reason("EgressDenied")<{
  readonly host: string
  readonly address: string
  readonly allowed: ReadonlyArray<string>
  /** The setting that widens the allowlist where this was refused; default `budget.egress` (an experiment's). */
  readonly setting?: string
}> {
  override get message() {
    return `egress to ${this.host} (${this.address}) is not allowed; allowed: ${this.allowed.join(", ")}. Add it to ${this.setting ?? "budget.egress"} if this destination is really part of ${this.setting === undefined ? "the experiment" : "what you observe"}`
  }
}

/** A probe could not observe its target (unreachable, timed out, threw). */
export class ProbeFailed extends Reason("ProbeFailed")<{
  readonly probe: string
  readonly target: string
  readonly detail: string
  /** What failed underneath (an adapter's own error, what a user's function threw), when there is one. */
  readonly cause?: unknown
}> {
  override get message() {
    return `probe "${this.probe}" on "${this.target}" failed: ${this.detail}`
  }
}

/**
 * An injection could not be applied. `compensation` says what became of its undo: `ledgered`
 * (written ahead, so the rollback replays it), `none` (it failed before anything was ledgered or
 * touched: there is nothing to undo); absent when the code that failed cannot tell.
 */
export class InjectionFailed extends Reason("InjectionFailed")<{
  readonly fault: string
  readonly target: string
  readonly detail: string
  readonly compensation?: "ledgered" | "none"
  /** What failed underneath (an adapter's own error, what a user's function threw), when there is one. */
  readonly cause?: unknown
}> {
  override get message() {
    const what =
      this.compensation === "ledgered"
        ? " (its compensation was ledgered first and is replayed by the rollback)"
        : this.compensation === "none"
          ? " (nothing was ledgered or touched, so there is nothing to undo)"
          : ""
    return `fault "${this.fault}" on "${this.target}" could not be injected: ${this.detail}${what}`
  }
}

/** A compensation failed or timed out: something may be left in place. */
export class RollbackFailed extends Reason("RollbackFailed")<{
  readonly fault: string
  readonly target: string
  readonly detail: string
  /** What failed underneath (an adapter's own error, what a user's function threw), when there is one. */
  readonly cause?: unknown
}> {
  override get message() {
    return `rollback of "${this.fault}" on "${this.target}" failed: ${this.detail}; run \`shiftup recover\` and check the target by hand`
  }
}

/**
 * A compensation cannot reach its data store with the credentials this process has: the password
 * variable is not set, the server refused the password, or the server wants one and the record
 * names no variable. Retrying cannot help, so the restore stops at once (rather than at its
 * deadline); nothing was restored and the ledger's intent stays pending for the next `recover`.
 */
export class CredentialsRefused extends Reason("CredentialsRefused")<{
  /** The compensation kind (`data.redis.flushdb`, `data.postgres.restore-values`…). */
  readonly fault: string
  readonly target: string
  /** `user@host:port` (no password), or `host:port`. */
  readonly server: string
  readonly passwordEnv?: string
  /** `unset`: the variable is not set here; `refused`: the server refused its password; `required`: the server wants one and the record names no variable. */
  readonly problem: "unset" | "refused" | "required"
  /** The server's own words, when it answered. */
  readonly detail?: string
  readonly cause?: unknown
}> {
  override get message() {
    const said = this.detail === undefined ? "" : ` (${this.detail})`
    const fix =
      this.problem === "required"
        ? `${this.server} requires a password${said}, and the record names no passwordEnv: let this recover connect without one (the server's password off while it runs), or restore by hand`
        : this.problem === "unset"
          ? `set ${this.passwordEnv} to the password of ${this.server}: it is not set in this process`
          : `set ${this.passwordEnv} to the password of ${this.server}: the server refused the one it holds${said}`
    return `rollback of "${this.fault}" on "${this.target}" cannot succeed as it is: ${fix}. Nothing was restored; the ledger still holds the before-image: run \`shiftup recover\` again`
  }
}

/** An `eventually` check never saw the expected value within its window. */
export class RecoveryNotObserved extends Reason("RecoveryNotObserved")<{
  readonly check: string
  readonly withinMs: number
  readonly last: string
}> {
  override get message() {
    return `"${this.check}" did not hold within ${this.withinMs} ms; last observation: ${this.last}`
  }
}

/** One problem in an experiment, a config file or CLI arguments, with its path. */
export interface Issue {
  readonly path: string
  readonly message: string
}

/** The experiment definition is malformed. Every problem is listed, each with its path. */
export class InvalidExperiment extends Reason("InvalidExperiment")<{
  readonly source: string
  readonly issues: ReadonlyArray<Issue>
}> {
  override get message() {
    return `invalid experiment ${this.source}:\n${formatIssues(this.issues)}`
  }
}

/** The configuration (shiftup.config.ts or run options) is malformed. */
export class InvalidConfig extends Reason("InvalidConfig")<{
  readonly source: string
  readonly issues: ReadonlyArray<Issue>
}> {
  override get message() {
    return `invalid config ${this.source}:\n${formatIssues(this.issues)}`
  }
}

/** Command-line arguments are wrong. */
export class InvalidArguments extends Reason("InvalidArguments")<{
  readonly detail: string
}> {
  override get message() {
    return `${this.detail}; see \`shiftup --help\``
  }
}

/** An experiment file could not be found or loaded. */
export class LoadFailed extends Reason("LoadFailed")<{
  readonly file: string
  readonly detail: string
}> {
  override get message() {
    return `cannot load ${this.file}: ${this.detail}`
  }
}

/** A target could not be resolved at plan time (adapter unreachable, selector matched nothing). */
export class TargetUnresolved extends Reason("TargetUnresolved")<{
  readonly target: string
  readonly detail: string
  /** What failed underneath (an adapter's own error, what a user's function threw), when there is one. */
  readonly cause?: unknown
}> {
  override get message() {
    return `target "${this.target}" could not be resolved: ${this.detail}`
  }
}

/** An adapter's engine (the Docker engine) is down or unreachable. Nothing was injected through it. */
export class EngineUnavailable extends Reason("EngineUnavailable")<{
  readonly engine: string
  readonly address: string
  readonly detail: string
  /** The engine client's error (e.g. the Docker adapter's `EngineCallError`). */
  readonly cause?: unknown
}> {
  override get message() {
    return `cannot reach the ${this.engine} engine at ${this.address}: ${this.detail}. Start it (e.g. dockerd) or point DOCKER_HOST at a running one; nothing was injected`
  }
}

/**
 * The ledger could not be written, read or trusted. Nothing is injected without a durable ledger,
 * and nothing is replayed from one that is damaged, forged or unreadable. `line` points at the
 * record at fault (1-based); `errno` is the system's code (ENOSPC, EACCES…) when there is one.
 */
export class LedgerError extends Reason("LedgerError")<{
  readonly path: string
  readonly detail: string
  readonly line?: number
  readonly errno?: string
}> {
  override get message() {
    return `ledger ${this.path}${this.line === undefined ? "" : ` line ${this.line}`}: ${this.detail}`
  }
}

/**
 * A ledgered compensation does not match the schema of its kind (a forged, edited or damaged
 * ledger, or a compensator whose record format changed): it is never replayed.
 */
export class InvalidCompensation extends Reason("InvalidCompensation")<{
  readonly path: string
  readonly seq: number
  readonly kind: string
  readonly issues: ReadonlyArray<Issue>
}> {
  override get message() {
    return `ledger ${this.path}, intent ${this.seq}: the "${this.kind}" compensation does not match its kind's schema, so it is not replayed (check the ledger was not edited; undo this fault by hand):\n${formatIssues(this.issues)}`
  }
}

/** A compensation kind is not known to this process, so it cannot be replayed. */
export class UnknownCompensation extends Reason("UnknownCompensation")<{
  readonly kind: string
}> {
  override get message() {
    return `no compensator registered for kind "${this.kind}"; load the adapter that defines it (config \`compensators\`)`
  }
}

/** A game-day approval gate was declined (or nobody could be asked): the run aborts and rolls back. */
export class ApprovalDeclined extends Reason("ApprovalDeclined")<{
  readonly step: string
  readonly detail: string
}> {
  override get message() {
    return `approval for "${this.step}" declined: ${this.detail}; everything injected so far is rolled back`
  }
}

/**
 * The game-day control directory (where `shiftup halt` and `shiftup pause` leave their files)
 * is not safely the user's: a link, someone else's, writable by others. Nothing was started.
 */
export class ControlDirRefused extends Reason("ControlDirRefused")<{
  readonly path: string
  /** Where the path came from: `SHIFTUP_CONTROL_DIR`, `config controlDir` or `per-user default`. */
  readonly source: string
  readonly detail: string
}> {
  override get message() {
    return `game-day control directory ${this.path} (${this.source}) ${this.detail}`
  }
}

/** An inventory input — an OSV advisory, an SBOM, a package database read from an image — is unreadable or breaks its format. */
export class InvalidInventoryFile extends Reason("InvalidInventoryFile")<{
  /** The file (for a file read from an image: `image:path`). */
  readonly file: string
  /** Where in it, as a path (`affected[0].ranges[1].events[2]`); empty for the whole file. */
  readonly field: string
  readonly detail: string
}> {
  override get message() {
    return `${this.file}${this.field === "" ? "" : ` at ${this.field}`}: ${this.detail}`
  }
}

/** The finding store of `shiftup watch` cannot be opened, migrated or changed as asked. */
export class FindingStoreError extends Reason("FindingStoreError")<{
  /** The store: a SQLite file, or `postgres://user@host:port/database` (never a password). */
  readonly store: string
  readonly detail: string
}> {
  override get message() {
    return `finding store ${this.store}: ${this.detail}`
  }
}

/** `shiftup feedback`: a finding's production target has no non-production stand-in in the config's `feedback.map`. */
export class UnmappedTarget extends Reason("UnmappedTarget")<{
  /** The finding's fingerprint. */
  readonly finding: string
  /** The production target, as the finding names it (`api (https://api.example)`). */
  readonly target: string
  /** The mapping entry to add, as config text. */
  readonly suggestion: string
}> {
  override get message() {
    return `finding ${this.finding}: its production target ${this.target} is not mapped to a non-production target; add one to \`feedback.map\` in shiftup.config.ts, e.g. ${this.suggestion}`
  }
}

/** Every reason shiftup can fail with: the one error type of its API. */
export type ShiftupError =
  | TargetRefused
  | BudgetExceeded
  | OutsideManifest
  | EgressDenied
  | ProbeFailed
  | InjectionFailed
  | RollbackFailed
  | CredentialsRefused
  | RecoveryNotObserved
  | InvalidExperiment
  | InvalidConfig
  | InvalidArguments
  | LoadFailed
  | TargetUnresolved
  | EngineUnavailable
  | LedgerError
  | InvalidCompensation
  | UnknownCompensation
  | ApprovalDeclined
  | ControlDirRefused
  | InvalidInventoryFile
  | FindingStoreError
  | UnmappedTarget

/** Whether `u` is a member of the family (any reason), as opposed to any other error or value. */
export const isShiftupError = (u: unknown): u is ShiftupError => Predicate.hasProperty(u, TypeId)

/**
 * The reason itself, typed as the whole family: where a value must have the family's type rather
 * than one reason's (a callback's result, one branch of a conditional). To fail an Effect, yield
 * the reason (`yield* new TargetRefused({ … })`) or pass it to `Effect.fail`.
 */
export const fail = (reason: ShiftupError): ShiftupError => reason

/** `{ cause }` when there is one: a reason made without a cause has no `cause` key at all. */
export const causedBy = (cause: unknown): { readonly cause?: unknown } => (cause === undefined ? {} : { cause })

export const formatIssues = (issues: ReadonlyArray<Issue>): string =>
  issues.map((i) => `  - ${i.path === "" ? "(root)" : i.path}: ${i.message}`).join("\n")

/** A readable one-line rendering of anything thrown. */
export const describeUnknown = (u: unknown): string =>
  isShiftupError(u)
    ? u.message
    : u instanceof Error
      ? `${u.name === "Error" ? "" : `${u.name}: `}${u.message}`
      : typeof u === "string"
        ? u
        : (JSON.stringify(u) ?? String(u))
