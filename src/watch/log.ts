/**
 * The watcher's log: one event per line, either JSON (`--log json`: `{"time","level","event",…}`,
 * for a log shipper) or a human line (`time level event key=value …`). Never a secret: callers
 * log ids, counts and messages shiftup already redacts.
 */
export type LogFormat = "json" | "human"

export type Level = "info" | "warn" | "error"

export type Logger = (level: Level, event: string, fields?: Readonly<Record<string, unknown>>) => void

const shown = (v: unknown) => (typeof v === "string" && !/[\s"=]/.test(v) && v !== "" ? v : JSON.stringify(v))

export const logger =
  (format: LogFormat, write: (line: string) => void, now: () => Date = () => new Date()): Logger =>
  (level, event, fields = {}) => {
    const time = now().toISOString()
    write(
      format === "json"
        ? `${JSON.stringify({ time, level, event, ...fields })}\n`
        : `${time} ${level.padEnd(5)} ${event}${Object.entries(fields)
            .map(([k, v]) => ` ${k}=${shown(v)}`)
            .join("")}\n`,
    )
  }
