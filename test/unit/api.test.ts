/**
 * The public surface, entry by entry, against its checked-in report (docs/api/*.txt): a change
 * of what users can import fails here until the report is refreshed (`npm run api:update`), so
 * the change is a visible diff in review.
 */
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { entries, entryExports, isValue, report, reportFile, repoRoot, type Exported } from "../support/api-report.ts"

describe("the API report", () => {
  it.each(entries().map((e) => [e.specifier, e] as const))("%s matches docs/api", async (_, entry) => {
    await expect(report(entry)).toMatchFileSnapshot(reportFile(entry))
  })

  // The report reads sources; the modules' own keys say whether it read the values right.
  it.each(entries().map((e) => [e.specifier, e] as const))("%s: the report's values are the module's keys", async (_, entry) => {
    const mod = (await import(join(repoRoot, entry.source))) as Record<string, unknown>
    const exported = entryExports(entry)
    const values = (list: ReadonlyArray<Exported>) => list.filter(isValue).map((e) => e.name).sort()
    expect(values(exported)).toEqual(Object.keys(mod).sort())
    for (const ns of exported.filter((e) => e.members !== undefined)) {
      expect(values(ns.members ?? []), ns.name).toEqual(Object.keys(mod[ns.name] as object).sort())
    }
  })
})
