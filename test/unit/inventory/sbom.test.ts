/**
 * SBOMs as packages: CycloneDX components (nested ones too) and SPDX packages by their purl; a
 * deb purl's namespace, `distro` and `upstream` qualifiers become ecosystem, release and origin;
 * an apk purl's distro becomes OSV's `v3.19`; components shiftup cannot match are listed, not
 * dropped; a document of neither format, or a purl that does not parse, is refused by field.
 */
import { describe, expect, it } from "vitest"
import { Sbom } from "../../../src/inventory/index.ts"

const cdx = {
  bomFormat: "CycloneDX",
  specVersion: "1.5",
  components: [
    { type: "library", name: "libssl3", purl: "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl" },
    { type: "library", name: "busybox", purl: "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=3.19.1", components: [{ name: "core", purl: "pkg:npm/%40babel/core@7.24.0" }] },
    { type: "library", name: "log4j-core", purl: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1" },
    { type: "application", name: "no-purl" },
  ],
}

describe("Sbom.fromJson", () => {
  it("CycloneDX: components and nested components; unsupported ones listed with why", () => {
    const r = Sbom.fromJson(cdx, "app.cdx.json")
    expect(r.format).toBe("CycloneDX")
    expect(r.packages.map((p) => [p.ecosystem, p.name, p.version, p.release, p.origin?.name])).toEqual([
      ["Debian", "libssl3", "3.0.11-1~deb12u2", "12", "openssl"],
      ["Alpine", "busybox", "1.36.1-r15", "v3.19", undefined],
      ["npm", "@babel/core", "7.24.0", undefined, undefined],
    ])
    expect(r.packages.every((p) => p.location.path === "app.cdx.json" && p.location.image === undefined)).toBe(true)
    expect(r.unsupported).toEqual([
      { component: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", reason: 'purl type "maven" is not matched by shiftup (npm, deb, apk, pypi are)' },
      { component: "no-purl", reason: "no purl" },
    ])
  })

  it("SPDX: packages by their purl external reference", () => {
    const r = Sbom.fromJson({ spdxVersion: "SPDX-2.3", packages: [{ name: "Django", externalRefs: [{ referenceCategory: "SECURITY", referenceType: "cpe23Type", referenceLocator: "cpe:2.3:a:x" }, { referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: "pkg:pypi/django@4.2.10" }] }, { name: "ubuntu-pkg", externalRefs: [{ referenceType: "purl", referenceLocator: "pkg:deb/ubuntu/curl@7.81.0-1ubuntu1.15?distro=ubuntu-22.04" }] }] }, "x.spdx.json")
    expect(r.packages.map((p) => [p.ecosystem, p.name, p.version, p.release])).toEqual([
      ["PyPI", "django", "4.2.10", undefined],
      ["Ubuntu", "curl", "7.81.0-1ubuntu1.15", "22.04"],
    ])
  })

  it.each([
    [{ hello: 1 }, "", /neither CycloneDX/],
    [{ bomFormat: "CycloneDX", components: [{ purl: "npm/lodash@1.0.0" }] }, "components[0].purl", /not a purl/],
    [{ bomFormat: "CycloneDX", components: {} }, "components", /array/],
    [{ spdxVersion: "SPDX-2.3", packages: [{ externalRefs: [{ referenceType: "purl", referenceLocator: "pkg:" }] }] }, "packages[0].externalRefs[0].referenceLocator", /not a purl/],
  ])("refused: %j", (doc, field, detail) => {
    expect(() => Sbom.fromJson(doc, "bad.json")).toThrow(expect.objectContaining({ _tag: "InvalidInventoryFile", file: "bad.json", field, detail: expect.stringMatching(detail) }))
  })
})
