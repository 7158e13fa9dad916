/**
 * Toxics: the faults a TCP proxy applies to the bytes it forwards, per direction and per
 * connection (the model of Toxiproxy). A toxic is plain data; the proxy engine interprets it.
 * `toxicity` is the probability that a given connection is affected, drawn once per connection
 * (when it opens, or when the toxic is added while it is open).
 */
import { fail, InvalidExperiment, type Issue } from "../ShiftupError.ts"

/** `downstream`: from the upstream server to the client; `upstream`: from the client to the server. */
export type Direction = "downstream" | "upstream"

export type Spec =
  /** Delays every chunk by `ms` ± a uniform `jitter`; order is kept, throughput is not limited. */
  | { readonly kind: "latency"; readonly ms: number; readonly jitter: number }
  /** Limits the rate to `bytesPerSecond`. */
  | { readonly kind: "bandwidth"; readonly bytesPerSecond: number }
  /** Delays the close (FIN) of the connection by `ms`. */
  | { readonly kind: "slow-close"; readonly ms: number }
  /**
   * Drops every byte; closes the connection after `ms` (`0`: never — a blackhole). Removing the
   * toxic closes every connection it dropped bytes from (as Toxiproxy's `timeout` does): a
   * client must not resume on a stream that lost bytes in the middle.
   */
  | { readonly kind: "timeout"; readonly ms: number }
  /** Holds every byte (nothing is dropped); removing the toxic delivers them in order. */
  | { readonly kind: "hold" }
  /** Resets both sides of the connection (TCP RST) after `ms`. */
  | { readonly kind: "reset-peer"; readonly ms: number }
  /** Splits data into chunks of `averageSize` ± `sizeVariation` bytes, `delayUs` apart. */
  | { readonly kind: "slicer"; readonly averageSize: number; readonly sizeVariation: number; readonly delayUs: number }
  /** Lets exactly `bytes` through in this direction, then closes the connection. */
  | { readonly kind: "limit-data"; readonly bytes: number }

export type Kind = Spec["kind"]

export interface Toxic {
  /** Unique on its proxy. */
  readonly name: string
  readonly direction: Direction
  /** Probability in [0, 1] that a connection is affected; default 1. */
  readonly toxicity: number
  readonly spec: Spec
}

export interface Common {
  /** Name of the toxic (and of the fault); default `<kind>-<direction>`. */
  readonly name?: string
  /** Default `downstream` (what the client receives). */
  readonly direction?: Direction
  /** Probability that a connection is affected, 0…1; default 1. */
  readonly toxicity?: number
}

const nonNegative = (issues: Array<Issue>, path: string, v: number) => {
  if (!Number.isFinite(v) || v < 0) issues.push({ path, message: `must be a finite number ≥ 0, got ${String(v)}` })
}

/** Every problem with a toxic, at once. */
export const issuesOf = (toxic: Toxic): ReadonlyArray<Issue> => {
  const issues: Array<Issue> = []
  if (toxic.name === "") issues.push({ path: "name", message: "must not be empty" })
  if (toxic.direction !== "downstream" && toxic.direction !== "upstream") issues.push({ path: "direction", message: `must be "downstream" or "upstream", got ${String(toxic.direction)}` })
  if (!(toxic.toxicity >= 0 && toxic.toxicity <= 1)) issues.push({ path: "toxicity", message: `must be a probability in [0, 1], got ${String(toxic.toxicity)}` })
  const s = toxic.spec
  switch (s.kind) {
    case "latency":
      nonNegative(issues, "ms", s.ms)
      nonNegative(issues, "jitter", s.jitter)
      break
    case "bandwidth":
      if (!(s.bytesPerSecond > 0) || !Number.isFinite(s.bytesPerSecond)) issues.push({ path: "bytesPerSecond", message: `must be a finite number > 0, got ${String(s.bytesPerSecond)}` })
      break
    case "slow-close":
    case "timeout":
    case "reset-peer":
      nonNegative(issues, "ms", s.ms)
      break
    case "slicer":
      if (!(Number.isInteger(s.averageSize) && s.averageSize >= 1)) issues.push({ path: "averageSize", message: `must be an integer ≥ 1, got ${String(s.averageSize)}` })
      if (!(Number.isInteger(s.sizeVariation) && s.sizeVariation >= 0 && s.sizeVariation < s.averageSize)) issues.push({ path: "sizeVariation", message: `must be an integer in [0, averageSize), got ${String(s.sizeVariation)}` })
      nonNegative(issues, "delayUs", s.delayUs)
      break
    case "hold":
      break
    case "limit-data":
      if (!(Number.isInteger(s.bytes) && s.bytes >= 0)) issues.push({ path: "bytes", message: `must be an integer ≥ 0, got ${String(s.bytes)}` })
      break
    default:
      issues.push({ path: "kind", message: `unknown toxic kind ${String((s as { kind?: unknown }).kind)}` })
  }
  return issues
}

/** Builds a toxic from its spec and common options; throws `InvalidExperiment` listing every issue. */
export const make = (spec: Spec, common: Common = {}): Toxic => {
  const direction = common.direction ?? "downstream"
  const toxic: Toxic = { name: common.name ?? `${spec.kind}-${direction}`, direction, toxicity: common.toxicity ?? 1, spec }
  const issues = issuesOf(toxic)
  if (issues.length > 0) throw fail(new InvalidExperiment({ source: `shiftup/net toxic "${toxic.name}"`, issues }))
  return toxic
}

/** One line for plans, journals and errors: `latency 1000±50 ms downstream`. */
export const describe = (toxic: Toxic): string => {
  const s = toxic.spec
  const what =
    s.kind === "latency"
      ? `latency ${s.ms}${s.jitter > 0 ? `±${s.jitter}` : ""} ms`
      : s.kind === "bandwidth"
        ? `bandwidth ${s.bytesPerSecond} B/s`
        : s.kind === "slow-close"
          ? `slow close ${s.ms} ms`
          : s.kind === "timeout"
            ? s.ms === 0
              ? "blackhole"
              : `timeout ${s.ms} ms`
            : s.kind === "hold"
              ? "hold"
              : s.kind === "reset-peer"
              ? `reset peer after ${s.ms} ms`
              : s.kind === "slicer"
                ? `slicer ${s.averageSize}±${s.sizeVariation} B every ${s.delayUs} µs`
                : `limit data ${s.bytes} B`
  return `${what} ${toxic.direction}${toxic.toxicity < 1 ? ` (toxicity ${toxic.toxicity})` : ""}`
}
