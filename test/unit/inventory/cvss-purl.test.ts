/**
 * The CVSS v3.1 base score against scores NVD publishes for well-known vectors, and purl parsing
 * per the purl spec (types, namespaces, percent-encoding, qualifiers, subpaths).
 */
import { describe, expect, it } from "vitest"
import { Cvss, Purl } from "../../../src/inventory/index.ts"

describe("CVSS v3 base score", () => {
  it.each([
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, "critical"], // CVE-2021-44228
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "critical"],
    ["CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2, "high"], // CVE-2021-23337
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "medium"], // a typical XSS
    ["CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5, "medium"],
    ["CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9, "medium"],
    ["CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, "high"],
    ["CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1, "low"],
    ["CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 8.8, "high"],
    ["CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0, "none"],
  ])("%s = %s", (vector, score, level) => {
    expect(Cvss.baseScore(vector)).toBe(score)
    expect(Cvss.severityOf(score)).toBe(level)
  })
  it.each(["CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "AV:N/AC:L/Au:N/C:P/I:P/A:P", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H"])("%s is not scored", (v) =>
    expect(Cvss.baseScore(v)).toBeUndefined(),
  )
})

describe("purl", () => {
  it.each([
    ["pkg:npm/%40babel/core@7.24.0", { type: "npm", namespace: "@babel", name: "core", version: "7.24.0", qualifiers: {} }],
    ["pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12", { type: "deb", namespace: "debian", name: "libssl3", version: "3.0.11-1~deb12u2", qualifiers: { arch: "amd64", distro: "debian-12" } }],
    ["pkg:apk/alpine/busybox@1.36.1-r15?distro=3.19.1", { type: "apk", namespace: "alpine", name: "busybox", version: "1.36.1-r15", qualifiers: { distro: "3.19.1" } }],
    ["PKG:PyPI/django@5.0.1#src/x", { type: "pypi", name: "django", version: "5.0.1", qualifiers: {}, subpath: "src/x" }],
    ["pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", { type: "maven", namespace: "org.apache.logging.log4j", name: "log4j-core", version: "2.14.1", qualifiers: {} }],
    ["pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?Distro=debian-12", { type: "deb", namespace: "debian", name: "curl", version: "7.88.1-10+deb12u5", qualifiers: { distro: "debian-12" } }],
    ["pkg:golang/github.com/gorilla/mux@v1.8.0", { type: "golang", namespace: "github.com/gorilla", name: "mux", version: "v1.8.0", qualifiers: {} }],
  ])("%s", (text, expected) => {
    expect(Purl.parse(text)).toEqual(expected)
    const p = Purl.parse(text)
    if (p !== undefined) expect(Purl.parse(Purl.format(p))).toEqual(p) // round trip
  })
  it.each(["npm/lodash@1.0.0", "pkg:npm", "pkg:/lodash", "pkg:npm/"])("%s is not a purl", (t) => expect(Purl.parse(t)).toBeUndefined())
})
