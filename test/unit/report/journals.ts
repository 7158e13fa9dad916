/** The journals the report tests render: real runs of the catalogue (fixtures) and synthetic ones. */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { Journal } from "shiftup"
import { synthetic } from "../../fixtures/report/synthetic.ts"

export const fixtureDir = join(import.meta.dirname, "..", "..", "fixtures", "report")

/** Real journals from `shiftup run experiments/ examples/04… examples/05…` against the demo lab. */
export const journalDir = join(fixtureDir, "journals")
export const real: ReadonlyArray<Journal.Journal> = readdirSync(journalDir)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(journalDir, f), "utf8")) as Journal.Journal)

export const byStatus = (status: Journal.Status) => {
  const j = real.find((x) => x.status === status)
  if (j === undefined) throw new Error(`no fixture journal with status ${status}`)
  return j
}

/** Text that XML, HTML and Markdown must all escape. */
export const hostile = ` <b>&amp;</b> "q" 'a' | \`tick\` <script>alert(1)</script> <img src=x onerror=alert(2)> ]]>`

export const aborted = synthetic({ steps: 60, seed: 7, status: "aborted", violations: 0.2 })
export const withHostileText = synthetic({ steps: 40, seed: 3, violations: 0.3, text: hostile })
export const all: ReadonlyArray<Journal.Journal> = [...real, aborted, withHostileText]

/** Deep-freezes a value, so a reporter that mutates its input throws. */
export const frozen = <A>(a: A): A => {
  if (typeof a === "object" && a !== null && !Object.isFrozen(a)) {
    Object.freeze(a)
    for (const v of Object.values(a)) frozen(v)
  }
  return a
}
