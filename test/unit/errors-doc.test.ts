/**
 * docs/errors.md cannot drift from the family: its `## Reasons` sections are exactly the reason
 * classes src/ShiftupError.ts exports, and each section's `Fields:` line names exactly the
 * fields of that reason (a sample with every field set, test/support/reasons.ts).
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { repoRoot } from "../support/api-report.ts"
import { fieldsOf, reasonClasses, samples } from "../support/reasons.ts"

const doc = readFileSync(join(repoRoot, "docs", "errors.md"), "utf8")

/** The `### \`Tag\`` sections under `## Reasons`, each with the text up to the next heading. */
const sections = (): ReadonlyMap<string, string> => {
  const reasons = doc.split(/^## /m).find((part) => part.startsWith("Reasons\n"))
  if (reasons === undefined) throw new Error("docs/errors.md has no `## Reasons` section")
  return new Map(
    reasons
      .split(/^### /m)
      .slice(1)
      .map((section) => {
        const tag = section.match(/^`(\w+)`\s*\n/)?.[1]
        if (tag === undefined) throw new Error(`a reason heading is not a tag in backticks: ### ${section.split("\n")[0]}`)
        return [tag, section] as const
      }),
  )
}

/** The names a `Fields:` paragraph lists: backticked names outside parentheses (which explain them). */
const documentedFields = (section: string): ReadonlyArray<string> => {
  const paragraph = section.match(/^Fields: ([\s\S]*?)(?:\n\n|(?![\s\S]))/m)?.[1]
  if (paragraph === undefined) return []
  let depth = 0
  let outside = ""
  for (const c of paragraph) {
    if (c === "(") depth++
    else if (c === ")") depth--
    else if (depth === 0) outside += c
  }
  return [...outside.matchAll(/`(\w+)`/g)].map((m) => m[1] ?? "")
}

describe("docs/errors.md", () => {
  it("has a section for every reason of the family, and none for a reason that does not exist", () => {
    expect([...sections().keys()].sort()).toEqual([...reasonClasses().keys()].sort())
  })

  it.each(samples.map((r) => [r._tag, r] as const))("%s: the Fields line names exactly its fields", (tag, sample) => {
    const section = sections().get(tag)
    expect(section, `no section for ${tag}`).toBeDefined()
    expect([...documentedFields(section ?? "")].sort()).toEqual([...fieldsOf(sample)].sort())
  })
})
