/**
 * Vulnerable-component matching at scale: 100,000 generated OSV advisories (npm, PyPI, Debian,
 * Alpine; each with one to three ranges over realistic versions) indexed by ecosystem and name,
 * and 2,000 installed packages matched against them (aim: < 1 s for index and match together).
 * Generation and schema validation are not timed: they stand for `Osv.load`.
 */
import { Osv, type Package } from "../src/inventory/index.ts"
import type { Ecosystem } from "../src/inventory/versions/index.ts"
import { median, spread, type Line, type Section } from "./lib.ts"

/** A small deterministic PRNG (mulberry32), so every run matches the same corpus. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const ecosystems: ReadonlyArray<readonly [Ecosystem, string, number]> = [
  ["npm", "npm", 0.4],
  ["PyPI", "PyPI", 0.3],
  ["Debian", "Debian:12", 0.2],
  ["Alpine", "Alpine:v3.19", 0.1],
]

const versionOf = (e: Ecosystem, r: () => number) => {
  const [a, b, c] = [Math.floor(r() * 10), Math.floor(r() * 30), Math.floor(r() * 50)]
  return e === "Debian" ? `${a}.${b}.${c}-${1 + Math.floor(r() * 3)}+deb12u${Math.floor(r() * 5)}` : e === "Alpine" ? `${a}.${b}.${c}-r${Math.floor(r() * 8)}` : `${a}.${b}.${c}`
}

export const corpus = (advisories: number, packages: number, names = 20_000) => {
  const r = prng(42)
  const pickEcosystem = () => {
    let x = r()
    for (const e of ecosystems) if ((x -= e[2]) <= 0) return e
    return ecosystems[0] as (typeof ecosystems)[number]
  }
  const list: Array<Osv.Advisory> = []
  for (let i = 0; i < advisories; i++) {
    const [e, osvName] = pickEcosystem()
    const name = `${e.toLowerCase()}-pkg-${Math.floor(r() * names)}`
    const ranges = Array.from({ length: 1 + Math.floor(r() * 3) }, () => {
      const lo = versionOf(e, r)
      const hi = versionOf(e, r)
      return { type: e === "npm" ? "SEMVER" : "ECOSYSTEM", events: r() < 0.3 ? [{ introduced: "0" }, { fixed: hi }] : r() < 0.5 ? [{ introduced: lo }, { last_affected: hi }] : [{ introduced: lo }, { fixed: hi }] }
    })
    list.push(Osv.parseAdvisory({ id: `BENCH-${i}`, modified: "2024-01-01T00:00:00Z", aliases: [`CVE-2024-${i}`], affected: [{ package: { ecosystem: osvName, name }, ranges }] }, `BENCH-${i}.json`))
  }
  const pkgs: Array<Package> = Array.from({ length: packages }, () => {
    const [e] = pickEcosystem()
    const name = `${e.toLowerCase()}-pkg-${Math.floor(r() * names * 1.2)}`
    const version = versionOf(e, r)
    return { ecosystem: e, name, version, ...(e === "Debian" ? { release: "12" } : e === "Alpine" ? { release: "v3.19" } : {}), purl: `pkg:generic/${name}@${version}`, location: { image: "bench:1", path: "/x" } }
  })
  return { advisories: list, packages: pkgs }
}

export const inventorySection: Section = {
  name: "inventory",
  title: "inventory: OSV matching of 2,000 packages against 100,000 generated advisories",
  run: async () => {
    const { advisories, packages } = corpus(100_000, 2_000)
    const totals: Array<number> = []
    const indexing: Array<number> = []
    let findings = 0
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now()
      const idx = Osv.index(advisories)
      const t1 = performance.now()
      findings = Osv.match(idx, packages).findings.length
      totals.push(performance.now() - t0)
      indexing.push(t1 - t0)
    }
    const lines: ReadonlyArray<Line> = [
      { name: "inventory.osv_match_100k_ms", value: median(totals), digits: 0, note: "index 100,000 advisories by ecosystem+name, then match 2,000 packages; median of 5 (aim < 1000)" },
      { name: "inventory.osv_match_100k_spread_ms", value: spread(totals, 0) },
      { name: "inventory.osv_index_100k_ms", value: median(indexing), digits: 0, note: "of which building the index" },
      { name: "inventory.osv_match_findings", value: findings, digits: 0, note: "findings of the 2,000 packages (a sanity figure: the same corpus every run)" },
    ]
    return lines
  },
}
