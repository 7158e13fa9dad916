/**
 * The public surface, entry by entry, against its checked-in report (docs/api/*.txt): a change
 * of what users can import fails here until the report is refreshed (`npm run api:update`), so
 * the change is a visible diff in review.
 */
import { readFileSync } from "node:fs"
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

  // What an experiment author meets first: the root's own names (a namespace counts once) fit on
  // one screen. Anything else belongs in a namespace or in `shiftup/advanced`.
  it("the root entry's exports fit on one screen", () => {
    const root = entries().find((e) => e.specifier === "shiftup")
    expect(root).toBeDefined()
    expect(entryExports(root ?? { specifier: "", source: "" }).length).toBeLessThanOrEqual(30)
  })

  // A subpath in package.json that the CLI does not map, the bundle does not build or the tests
  // do not alias would work in one of these places and fail in another.
  it("every subpath export is mapped by the CLI, bundled by the build and aliased for the tests", () => {
    const text = (file: string) => readFileSync(join(repoRoot, file), "utf8")
    const cli = text("bin/shiftup.js").match(/for \(const sub of \[([^\]]*)\]\)/)?.[1]
    const bundled = text("scripts/build.mjs").match(/const entries = \[([^\]]*)\]/)?.[1]
    const aliased = text("vitest.config.ts").match(/find: \/\^shiftup\\\/\(([^)]*)\)\$\//)?.[1]
    const consumer = text("test/integration/consumer.test.ts").match(/const subpaths = \[([^\]]*)\]/)?.[1]
    for (const found of [cli, bundled, aliased, consumer]) expect(found).toBeDefined()
    const subs = entries().map((e) => e.specifier.replace(/^shiftup\/?/, "")).filter((s) => s !== "")
    const names = (list: string | undefined) => [...(list ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? "")
    expect(names(cli).sort()).toEqual([...subs].sort())
    expect(names(bundled).filter((e) => e !== "cli/start" && e !== "index").sort()).toEqual(subs.map((s) => `${s}/index`).sort())
    expect((aliased ?? "").split("|").sort()).toEqual([...subs].sort())
    expect(names(consumer).sort()).toEqual(entries().map((e) => e.specifier).sort())
  })
})
