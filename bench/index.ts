/**
 * `npm run bench`: runs every section and prints its figures as `name: value` lines (legend
 * lines start with `#`). `npm run bench -- runner` runs only the named sections.
 *
 * To add a section (docker, http, net, report…): write `bench/<name>.ts` exporting a `Section`
 * whose `run` returns its lines, and add it to `sections` below.
 */
import { format, type Section } from "./lib.ts"
import { netSection } from "./net.ts"
import { report } from "./report.ts"
import { http } from "./http.ts"
import { runner } from "./runner.ts"
import { docker } from "./docker.ts"
import { fingerprintSection } from "./fingerprint.ts"
import { cliSection } from "./cli.ts"
import { propertySection } from "./property.ts"
import { dataSection } from "./data.ts"
import { inventorySection as inventoryVulns } from "./inventory.ts"
import { inventorySection as inventoryDocker } from "./inventory-docker.ts"
import { misconfigSection } from "./misconfig.ts"
import { watchSection } from "./watch.ts"

const sections: ReadonlyArray<Section> = [runner, netSection, report, http, docker, fingerprintSection, cliSection, dataSection, propertySection, inventoryVulns, inventoryDocker, misconfigSection, watchSection]

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"))
const unknown = wanted.filter((w) => !sections.some((s) => s.name === w))
if (unknown.length > 0) {
  console.error(`unknown bench section(s): ${unknown.join(", ")}; known: ${sections.map((s) => s.name).join(", ")}`)
  process.exit(4)
}

const started = performance.now()
let failed = false
for (const section of sections.filter((s) => wanted.length === 0 || wanted.includes(s.name))) {
  const t0 = performance.now()
  console.log(`# ${section.name}: ${section.title}`)
  try {
    const lines = await section.run()
    for (const line of lines) if (line.note !== undefined) console.log(`#   ${line.name}: ${line.note}`)
    for (const line of lines) console.log(format(line))
  } catch (e) {
    failed = true
    console.error(`# ${section.name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  }
  console.log(`${section.name}.bench_s: ${((performance.now() - t0) / 1000).toFixed(1)}`)
}
console.log(`bench.total_s: ${((performance.now() - started) / 1000).toFixed(1)}`)
if (failed) process.exitCode = 1
