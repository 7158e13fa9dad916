/**
 * Package readers against real images, built here from files the test writes (imported as a root
 * file system: nothing is pulled), read without ever being started: exact package lists from a
 * dpkg status file (with Debian's `/etc/os-release` symlink), an apk database, an npm lockfile and
 * `node_modules`, Python `dist-info` metadata. Then end to end: an image with a vulnerable
 * package and an OSV directory → the finding with its advisory, aliases, fixed version and asset
 * path; the withdrawn advisory is not reported. Every image and container carries
 * `shiftup.run=<this run>`; the temporary containers are gone after each read, a failed one too.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Docker from "shiftup/docker"
import { Osv, Packages } from "shiftup/inventory"
import { pack, type TarEntry } from "../../src/internal/tar.ts"
import { runCli, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

const runId = `inventory-${process.pid}-${Date.now().toString(36)}`
const labels = { "shiftup.run": runId }
const engine = Docker.Engine.make({ timeoutMs: 20_000 })
const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e)

const file = (path: string, content: string): TarEntry => ({ path, type: "file", content: Buffer.from(content) })
const dirs = (...paths: ReadonlyArray<string>): ReadonlyArray<TarEntry> => paths.map((path) => ({ path, type: "dir" }))
const json = (path: string, value: unknown) => file(path, JSON.stringify(value, null, 2))

const dpkgStatus = `Package: libssl3
Status: install ok installed
Priority: optional
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation.
 .
 It provides the libssl and libcrypto shared libraries.

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2024a-0+deb12u1

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc (2.36-9+deb12u4)
Version: 2.36-9+deb12u4

Package: old-removed
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
`

const lock = {
  name: "app",
  version: "1.0.0",
  lockfileVersion: 3,
  packages: {
    "": { name: "app", version: "1.0.0", dependencies: { lodash: "^4.17.0" } },
    "node_modules/lodash": { version: "4.17.20", resolved: "https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz" },
    "node_modules/@babel/core": { version: "7.24.0" },
    "node_modules/old/node_modules/lodash": { version: "3.10.1" },
    "node_modules/old": { version: "1.0.0" },
    "packages/tool": { name: "tool", version: "0.0.1" },
    "node_modules/tool": { resolved: "packages/tool", link: true },
  },
}

const metadata = (name: string, version: string) => `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\nSummary: x\n\nLong description with\nVersion: 9.9.9 in it\n`

const debianImage: ReadonlyArray<TarEntry> = [
  ...dirs("etc", "usr", "usr/lib", "var", "var/lib", "var/lib/dpkg", "app", "app/node_modules", "app/node_modules/lodash", "app/node_modules/lodash/lib", "app/node_modules/express", "app/node_modules/@babel", "app/node_modules/@babel/core"),
  file("usr/lib/os-release", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'),
  { path: "etc/os-release", type: "symlink", linkTo: "../usr/lib/os-release" },
  file("var/lib/dpkg/status", dpkgStatus),
  json("app/package-lock.json", lock),
  json("app/node_modules/lodash/package.json", { name: "lodash", version: "4.17.20" }),
  json("app/node_modules/lodash/lib/package.json", { name: "not-a-package", version: "0.0.0" }),
  json("app/node_modules/express/package.json", { name: "express", version: "4.18.2" }),
  json("app/node_modules/@babel/core/package.json", { name: "@babel/core", version: "7.24.0" }),
  ...dirs("usr/lib/node_modules", "usr/lib/node_modules/npm"),
  json("usr/lib/node_modules/npm/package.json", { name: "npm", version: "10.5.0" }),
  ...dirs("usr/local", "usr/local/lib", "usr/local/lib/python3.12", "usr/local/lib/python3.12/site-packages", "usr/local/lib/python3.12/site-packages/requests-2.31.0.dist-info", "usr/local/lib/python3.12/site-packages/Django-4.2.10.dist-info", "usr/lib/python3", "usr/lib/python3/dist-packages", "usr/lib/python3/dist-packages/six-1.16.0.dist-info"),
  file("usr/local/lib/python3.12/site-packages/requests-2.31.0.dist-info/METADATA", metadata("requests", "2.31.0")),
  file("usr/local/lib/python3.12/site-packages/Django-4.2.10.dist-info/METADATA", metadata("Django", "4.2.10")),
  file("usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA", metadata("six", "1.16.0")),
]

const apkInstalled = `C:Q1abc=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
o:musl

C:Q1def=
P:libcrypto3
V:3.1.4-r5
A:x86_64
o:openssl

C:Q1ghi=
P:busybox-binsh
V:1.36.1-r15
A:x86_64
o:busybox
`

const alpineImage: ReadonlyArray<TarEntry> = [
  ...dirs("etc", "lib", "lib/apk", "lib/apk/db"),
  file("etc/os-release", 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n'),
  file("lib/apk/db/installed", apkInstalled),
]

const brokenImage: ReadonlyArray<TarEntry> = [...dirs("app"), file("app/package-lock.json", "{ not json")]

const images = { debian: `shiftup-test/inventory-debian:${runId}`, alpine: `shiftup-test/inventory-alpine:${runId}`, broken: `shiftup-test/inventory-broken:${runId}` }

beforeAll(async () => {
  const build = (ref: string, entries: ReadonlyArray<TarEntry>) => {
    const [repo, tag] = ref.split(":") as [string, string]
    return engine.importImage(pack(entries), repo, tag, [`LABEL shiftup.run=${runId}`])
  }
  await run(Effect.all([build(images.debian, debianImage), build(images.alpine, alpineImage), build(images.broken, brokenImage)], { concurrency: 3 }))
}, 60_000)

afterAll(async () => {
  for (const ref of Object.values(images)) await run(engine.removeImage(ref).pipe(Effect.ignore))
  engine.close()
})

const ours = () => run(engine.list({ all: true, labels: [`shiftup.run=${runId}`] }))
const summary = (ps: ReadonlyArray<Packages.ImagePackages["packages"][number]>) => ps.map((p) => `${p.ecosystem} ${p.name} ${p.version}${p.origin === undefined ? "" : ` <${p.origin.name} ${p.origin.version}>`}${p.release === undefined ? "" : ` [${p.release}]`} @${p.location.path}`).sort()

describe("package readers on real images, never started", () => {
  it("a Debian image: dpkg packages with their source packages and release, npm from the lockfile and node_modules, Python dist-info", async () => {
    const found = await run(Packages.fromImage(engine, images.debian, { labels }))
    expect(found.os).toMatchObject({ id: "debian", versionId: "12" })
    expect(summary(found.packages)).toEqual([
      "Debian libc6 2.36-9+deb12u4 <glibc 2.36-9+deb12u4> [12] @/var/lib/dpkg/status",
      "Debian libssl3 3.0.11-1~deb12u2 <openssl 3.0.11-1~deb12u2> [12] @/var/lib/dpkg/status",
      "Debian tzdata 2024a-0+deb12u1 [12] @/var/lib/dpkg/status",
      "PyPI Django 4.2.10 @/usr/local/lib/python3.12/site-packages/Django-4.2.10.dist-info/METADATA",
      "PyPI requests 2.31.0 @/usr/local/lib/python3.12/site-packages/requests-2.31.0.dist-info/METADATA",
      "PyPI six 1.16.0 @/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
      "npm @babel/core 7.24.0 @/app/package-lock.json",
      "npm express 4.18.2 @/app/node_modules/express/package.json",
      "npm lodash 3.10.1 @/app/package-lock.json",
      "npm lodash 4.17.20 @/app/package-lock.json",
      "npm npm 10.5.0 @/usr/lib/node_modules/npm/package.json",
      "npm old 1.0.0 @/app/package-lock.json",
    ])
    expect(found.packages.find((p) => p.name === "libssl3")?.purl).toBe("pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12")
    expect(found.packages.find((p) => p.name === "@babel/core")?.purl).toBe("pkg:npm/%40babel/core@7.24.0")
    expect(found.packages.every((p) => p.location.image === images.debian)).toBe(true)
    expect(await ours()).toEqual([])
  })

  it("an Alpine image: apk packages with origins and the v3.19 release", async () => {
    const found = await run(Packages.fromImage(engine, images.alpine, { labels }))
    expect(summary(found.packages)).toEqual([
      "Alpine busybox-binsh 1.36.1-r15 <busybox 1.36.1-r15> [v3.19] @/lib/apk/db/installed",
      "Alpine libcrypto3 3.1.4-r5 <openssl 3.1.4-r5> [v3.19] @/lib/apk/db/installed",
      "Alpine musl 1.2.4_git20230717-r4 [v3.19] @/lib/apk/db/installed",
    ])
    expect(found.files).toEqual(["/etc/os-release", "/lib/apk/db/installed"])
    expect(await ours()).toEqual([])
  })

  it("a broken lockfile fails with InvalidInventoryFile naming image and file, and the temporary container is removed anyway", async () => {
    const exit = await Effect.runPromiseExit(Packages.fromImage(engine, images.broken, { labels }))
    expect(exit._tag).toBe("Failure")
    const error = exit._tag === "Failure" ? (exit.cause.reasons[0] as { error?: unknown } | undefined)?.error : undefined
    expect(error).toMatchObject({ _tag: "InvalidInventoryFile", file: `${images.broken}:/app/package-lock.json` })
    expect(await ours()).toEqual([])
  })

  it("an image that does not exist: TargetUnresolved naming it", async () => {
    const exit = await Effect.runPromiseExit(Packages.fromImage(engine, `shiftup-test/no-such-image:${runId}`, { labels }))
    const error = exit._tag === "Failure" ? (exit.cause.reasons[0] as { error?: unknown } | undefined)?.error : undefined
    expect(error).toMatchObject({ _tag: "TargetUnresolved", target: `shiftup-test/no-such-image:${runId}` })
  })
})

describe("end to end: a vulnerable package in an image, an OSV directory", () => {
  it("reports the advisory with aliases, fixed version and asset path; ignores the withdrawn one and the fixed release", async () => {
    const osv = mkdtempSync(join(tmpdir(), "shiftup-osv-"))
    const write = (name: string, doc: object) => writeFileSync(join(osv, `${name}.json`), JSON.stringify(doc))
    write("GHSA-35jh-r3h4-6jhm", {
      schema_version: "1.6.0",
      id: "GHSA-35jh-r3h4-6jhm",
      modified: "2024-02-01T00:00:00Z",
      aliases: ["CVE-2021-23337"],
      summary: "Command Injection in lodash",
      severity: [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H" }],
      affected: [{ package: { ecosystem: "npm", name: "lodash" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "4.17.21" }] }] }],
    })
    write("GHSA-withdrawn", {
      id: "GHSA-withdrawn",
      modified: "2024-02-01T00:00:00Z",
      withdrawn: "2024-03-01T00:00:00Z",
      affected: [{ package: { ecosystem: "npm", name: "express" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0" }] }] }],
    })
    write("DSA-5764-1", {
      id: "DSA-5764-1",
      modified: "2024-02-01T00:00:00Z",
      aliases: ["CVE-2024-5535"],
      affected: [
        { package: { ecosystem: "Debian:12", name: "openssl" }, ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "3.0.14-1~deb12u1" }] }] },
        { package: { ecosystem: "Debian:11", name: "openssl" }, ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1.1.1w-0+deb11u2" }] }] },
      ],
    })
    const found = await run(Packages.fromImage(engine, images.debian, { labels }))
    const { findings, skipped } = Osv.match(Osv.index((await Osv.load(osv)).advisories), found.packages)
    expect(skipped).toEqual([])
    expect(findings.map((f) => ({ advisory: f.advisory, aliases: f.aliases, package: `${f.package.name}@${f.package.version}`, fixed: f.fixed, at: f.location, level: f.severity.level })).sort((a, b) => (a.package < b.package ? -1 : 1))).toEqual([
      { advisory: "DSA-5764-1", aliases: ["CVE-2024-5535"], package: "libssl3@3.0.11-1~deb12u2", fixed: ["3.0.14-1~deb12u1"], at: { image: images.debian, path: "/var/lib/dpkg/status" }, level: "unknown" },
      { advisory: "GHSA-35jh-r3h4-6jhm", aliases: ["CVE-2021-23337"], package: "lodash@3.10.1", fixed: ["4.17.21"], at: { image: images.debian, path: "/app/package-lock.json" }, level: "high" },
      { advisory: "GHSA-35jh-r3h4-6jhm", aliases: ["CVE-2021-23337"], package: "lodash@4.17.20", fixed: ["4.17.21"], at: { image: images.debian, path: "/app/package-lock.json" }, level: "high" },
    ])
    expect(await ours()).toEqual([])

    // The same through the CLI, as SARIF: a rule per advisory, results at the file inside the image.
    const cli = await runCli(["vulns", "--osv", osv, "--image", images.debian, "--format", "sarif", "--fail-on", "high"])
    expect(cli.code, cli.output).toBe(1)
    const log = JSON.parse(cli.stdout) as { runs: [{ tool: { driver: { rules: Array<{ id: string }> } }; results: Array<{ ruleId: string; locations: Array<{ physicalLocation: { artifactLocation: { uri: string } }; logicalLocations: Array<{ name: string }> }> }> }] }
    expect(log.runs[0].tool.driver.rules.map((r) => r.id)).toEqual(["GHSA-35jh-r3h4-6jhm", "DSA-5764-1"])
    expect(log.runs[0].results.map((r) => [r.ruleId, r.locations[0]?.physicalLocation.artifactLocation.uri, r.locations[0]?.logicalLocations[1]?.name])).toContainEqual(["DSA-5764-1", "var/lib/dpkg/status", images.debian])

    // And through `shiftup inventory`: a container of that image (created, never started) in the
    // snapshot with its packages, the findings after the assets, SARIF beside the snapshot.
    const container = await run(engine.create({ image: images.debian, name: `inv-vuln-${runId}`, labels, command: ["/bin/true"] }))
    try {
      const dir = mkdtempSync(join(tmpdir(), "shiftup-inv-"))
      const config = join(dir, "shiftup.config.ts")
      writeFileSync(config, `export default { inventory: { docker: { labels: ["shiftup.run=${runId}"] } } }\n`)
      const inv = await runCli(["inventory", "--config", config, "--osv", osv, "--fail-on", "high", "--out", join(dir, "snap.json")])
      expect(inv.code, inv.output).toBe(1)
      expect(inv.stdout).toMatch(/vulnerable components: 3 finding\(s\) in 12 package\(s\) of 1 image\(s\)/)
      expect(inv.stdout).toContain("GHSA-35jh-r3h4-6jhm")
      const snap = JSON.parse(readFileSync(join(dir, "snap.json"), "utf8")) as { assets: Array<{ id: string; packages?: Array<{ name: string; version: string; path: string }> }> }
      expect(snap.assets.map((a) => a.id)).toEqual([`docker:local/inv-vuln-${runId}`])
      expect(snap.assets[0]?.packages).toContainEqual({ ecosystem: "Debian", name: "libssl3", version: "3.0.11-1~deb12u2", path: "/var/lib/dpkg/status" })
      const sarif = JSON.parse(readFileSync(join(dir, "snap.vulns.sarif"), "utf8")) as { runs: [{ tool: { driver: { rules: Array<{ id: string }> } } }] }
      expect(sarif.runs[0].tool.driver.rules.map((r) => r.id).sort()).toEqual(["DSA-5764-1", "GHSA-35jh-r3h4-6jhm"])
      // The HTML page lists them, worst first: lodash (high, 7.2) before libssl3 (no score).
      const page = readFileSync(join(dir, "snap.vulns.html"), "utf8")
      expect(page).toContain("Vulnerable components (3)")
      expect(page.indexOf("GHSA-35jh-r3h4-6jhm")).toBeLessThan(page.indexOf("DSA-5764-1"))
      expect(page).toContain("3.0.14-1~deb12u1")
      // Below the threshold: the same snapshot exits 0.
      const low = await runCli(["inventory", "--config", config, "--osv", osv, "--fail-on", "critical"])
      expect(low.code, low.output).toBe(0)
    } finally {
      await run(engine.remove(container).pipe(Effect.ignore))
    }
    expect((await ours()).map((c) => c.name)).toEqual([])
  })
})
