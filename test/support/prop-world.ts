/**
 * An instrumented in-process "world" for the runner's property tests: probes, faults and a
 * compensator (kind `test.record`) that record every contact, in order, so a test can check
 * what the runner touched, what it injected and what it rolled back — and when.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { Fault, Probe, Target, type Compensation, type Config } from "shiftup"
import { Ledger } from "shiftup/advanced"

export const compensationKind = "test.record"

/**
 * What a fresh process (`recover`) replays for this world's kinds: nothing to undo there (the
 * world lives in the test's process), but the kinds must be loadable for a run to be accepted.
 */
export const compensators: Compensation.Compensators = { [compensationKind]: () => Effect.void, "test.hang": () => Effect.void }
export const compensatorModule = fileURLToPath(import.meta.url)

export type ContactKind = "observe" | "inject" | "compensate"

export interface Contact {
  readonly kind: ContactKind
  readonly target: string
  /** The probe or fault id. */
  readonly step: string
}

export interface FaultSpec {
  readonly safety?: "disrupt" | "destroy"
  /** The inject throws (after it was ledgered: its compensation must still run). */
  readonly fails?: boolean
}

export class World {
  readonly contacts: Array<Contact> = []
  /** Faults applied and not yet compensated, as the world sees them. */
  readonly active = new Set<string>()
  maxActive = 0
  /** For each inject call: was the fault's intent already durable in the ledger? */
  readonly ledgeredBeforeInject: Array<{ readonly fault: string; readonly ok: boolean }> = []

  readonly stateDir: string

  constructor(stateDir: string) {
    this.stateDir = stateDir
  }

  /** Run options that wire this world into a run. */
  /** Run options that wire this world into a run; its own lease directory keeps worlds apart. */
  options(config: Config = {}): { readonly compensators: Compensation.Compensators; readonly compensatorModule: string; readonly journal: false; readonly stateDir: string; readonly config: Config } {
    return { compensators: this.compensators, compensatorModule, journal: false, stateDir: this.stateDir, config: { leases: { dir: join(this.stateDir, "leases") }, ...config } }
  }

  readonly compensators: Compensation.Compensators = {
    [compensationKind]: (c) =>
      Effect.sync(() => {
        const fault = String(c["fault"])
        this.contacts.push({ kind: "compensate", target: String(c["target"]), step: fault })
        this.active.delete(fault)
      }),
  }

  /** A probe whose observation is recorded; `value` computes what it observes (default `true`). */
  probe<A = boolean>(id: string, target: Target.Target, value?: () => A): Probe.Probe<A> {
    return Probe.make<A>({
      id,
      target,
      observe: () => {
        this.contacts.push({ kind: "observe", target: target.id, step: id })
        return value === undefined ? (true as A) : value()
      },
    })
  }

  fault(id: string, target: Target.Target, spec: FaultSpec = {}): Fault.Fault {
    return Fault.make({
      id,
      target,
      safety: spec.safety ?? "disrupt",
      compensation: { kind: compensationKind, description: `undo ${id}`, fault: id, target: target.id },
      inject: () => {
        this.ledgeredBeforeInject.push({ fault: id, ok: this.ledgerIntents().includes(id) })
        this.contacts.push({ kind: "inject", target: target.id, step: id })
        // A fault that fails half-way may still have changed something: it counts as active.
        this.active.add(id)
        this.maxActive = Math.max(this.maxActive, this.active.size)
        if (spec.fails === true) throw new Error(`inject ${id} failed on purpose`)
      },
    })
  }

  of(kind: ContactKind): ReadonlyArray<string> {
    return this.contacts.filter((c) => c.kind === kind).map((c) => c.step)
  }

  get injected(): ReadonlyArray<string> {
    return this.of("inject")
  }

  get compensated(): ReadonlyArray<string> {
    return this.of("compensate")
  }

  /** Target ids contacted in any way. */
  get contactedTargets(): ReadonlySet<string> {
    return new Set(this.contacts.map((c) => c.target))
  }

  /** Every ledger record of this world's state directory, ledger by ledger. */
  ledgerRecords(): ReadonlyArray<Ledger.Record> {
    return Ledger.list(this.stateDir).flatMap((path) => Ledger.read(path))
  }

  /** Fault ids whose intent was ledgered, in ledger order. */
  ledgerIntents(): ReadonlyArray<string> {
    return this.ledgerRecords().flatMap((r) => (r.type === "intent" ? [r.fault] : []))
  }

  /** Intents with no `rolled-back` record. */
  ledgerPending(): ReadonlyArray<Ledger.Pending> {
    return Ledger.list(this.stateDir).flatMap((path) => Ledger.pending(Ledger.read(path)))
  }
}

/**
 * Memory-backed when the machine has /dev/shm: every ledger record is fsynced, and on a disk
 * that costs milliseconds per record, which hundreds of generated runs would feel.
 */
const scratchRoot = existsSync("/dev/shm") ? "/dev/shm" : tmpdir()

/** A fresh temporary directory, removed afterwards whatever happens. */
export const withTempDir = async <A>(prefix: string, f: (dir: string) => Promise<A>): Promise<A> => {
  const dir = mkdtempSync(join(scratchRoot, `shiftup-${prefix}-`))
  try {
    return await f(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A fresh world in its own state directory. */
export const withWorld = <A>(f: (world: World) => Promise<A>): Promise<A> => withTempDir("prop", (dir) => f(new World(dir)))

/** `xs` is a prefix of `ys`. */
export const isPrefix = <A>(xs: ReadonlyArray<A>, ys: ReadonlyArray<A>): boolean => xs.length <= ys.length && xs.every((x, i) => ys[i] === x)

/** `xs` occurs in `ys` in order (not necessarily contiguously). */
export const isSubsequence = <A>(xs: ReadonlyArray<A>, ys: ReadonlyArray<A>): boolean => {
  let i = 0
  for (const y of ys) if (i < xs.length && xs[i] === y) i++
  return i === xs.length
}

/** A lab target (the only environment where every safety class may run). */
export const labTarget = (id: string, options: Omit<Target.TargetOptions, "environment"> = {}): Target.Target => Target.make(id, { ...options, environment: "lab" })
