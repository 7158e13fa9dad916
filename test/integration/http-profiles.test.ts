/**
 * shiftup/http under environment profiles, against real servers: Debian's nginx with and without
 * the security headers judged under `web`, `healthcare`, `payments` and `internal` gives the
 * findings and severities the profiles say (table-driven, with the profile taken from the probe's
 * option and from a run's config); a loopback server's bodies scanned with the profile's leakage
 * patterns — a Luhn-valid card number is a finding under `payments`, masked in the evidence, a
 * Luhn-invalid 16-digit number is not, and `web` does not look for cards at all.
 */
import * as http from "node:http"
import { mkdtempSync, rmSync } from "node:fs"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { Experiment, Runner, type Probe } from "shiftup"
import * as Http from "shiftup/http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { observeOf } from "../../src/internal/capability.ts"
import { profiles } from "../../src/misconfig/profiles.ts"
import { makeCerts, type Certs } from "../fixtures/http/certs.ts"
import { startNginx, type Nginx } from "../fixtures/http/nginx.ts"

const dirs: Array<string> = []
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), "shiftup-http-profiles-"))
  dirs.push(d)
  return d
}

const card = "4111 1111 1111 1111" // a Luhn-valid test card number
const notCard = "4111 1111 1111 1112" // 16 digits, Luhn checksum wrong (an order number)
const pages: Readonly<Record<string, string>> = {
  "/": "<h1>shop</h1>",
  "/receipt": `<p>Paid with ${card}, thank you.</p>`,
  "/order": `<p>Order ${notCard} shipped.</p>`,
  "/chart": "<p>Patient MRN: A1234567, DOB: 1980-02-03</p>",
}

let certs: Certs
let good: Nginx
let bad: Nginx
let app: { readonly url: string; readonly close: () => Promise<void> }

beforeAll(async () => {
  certs = makeCerts(temp())
  const server = http.createServer((req, res) => {
    const page = pages[req.url ?? "/"]
    res.writeHead(page === undefined ? 404 : 200, { "content-type": "text/html" }).end(page ?? "not found")
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  app = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) }
  ;[good, bad] = await Promise.all([startNginx(temp(), "good", certs.good), startNginx(temp(), "bad", certs.good)])
})
afterAll(async () => {
  await Promise.all([good?.stop(), bad?.stop(), app?.close()])
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const observe = <O>(probe: Probe.Probe<Http.Findings.Report<O>>) => Effect.runPromise(observeOf(probe))
const nginx = (kind: "good" | "bad") => Http.target("nginx", { url: (kind === "good" ? good : bad).https, environment: "lab", tls: { ca: certs.ca } })
const lines = (r: Http.Findings.Report<unknown>) => r.findings.map((f) => `${f.severity} ${f.id}`).sort()

/** What the bad nginx lacks whatever the profile: every header the probe judges by value. */
const badBase = ["headers.csp-missing", "headers.framing-allowed", "headers.hsts-missing", "headers.nosniff-missing", "headers.referrer-policy-missing"]

describe("the same nginx under web, healthcare, payments and internal", () => {
  it.each([
    // The good nginx sends HSTS, CSP (frame-ancestors), nosniff and Referrer-Policy, but no Cache-Control.
    ["good", "web", []],
    ["good", "internal", []],
    ["good", "healthcare", ["high headers.required-missing"]],
    ["good", "payments", ["high headers.required-missing"]],
    ["bad", "web", ["low headers.nosniff-missing", "low headers.referrer-policy-missing", "medium headers.csp-missing", "medium headers.framing-allowed", "medium headers.hsts-missing"]],
    ["bad", "healthcare", ["high headers.required-missing", "low headers.nosniff-missing", "low headers.referrer-policy-missing", "medium headers.csp-missing", "medium headers.framing-allowed", "medium headers.hsts-missing"]],
  ] as const)("%s nginx under %s", async (kind, profile, expected) => {
    const r = await observe(Http.Headers.probe(nginx(kind), "/", { profile }))
    expect(lines(r)).toEqual(expected)
    // Exactly as the profile says: every finding carries its name and the severity it sets (or the rule's).
    for (const f of r.findings) expect([f.profile, f.severity]).toEqual([profile, profiles[profile].severities[f.id] ?? Http.Findings.rules[f.id].severity])
    const missing = profiles[profile].requiredHeaders.filter((h) => !["strict-transport-security", "content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy"].includes(h))
    expect(r.findings.filter((f) => f.id === "headers.required-missing").map((f) => f.evidence)).toEqual(missing.map((h) => `no ${h} header (profile ${profile} requires it)`))
    if (kind === "bad") expect(r.findings.map((f) => f.id).filter((id) => badBase.includes(id)).sort()).toEqual(badBase)
  })

  it("a profile turns a rule off or changes its severity (a config's own, resolved)", async () => {
    const quiet = { ...profiles.internal, name: "quiet", severities: { "headers.csp-missing": "off", "headers.nosniff-missing": "high" } } as const
    expect(lines(await observe(Http.Headers.probe(nginx("bad"), "/", { profile: quiet })))).toEqual([
      "high headers.nosniff-missing",
      "low headers.referrer-policy-missing",
      "medium headers.framing-allowed",
      "medium headers.hsts-missing",
    ])
  })

  it("in a run, the probe judges under the profile the config puts in force for its target (what the plan shows)", async () => {
    const target = nginx("good")
    const e = Experiment.make({ id: "profile.headers", title: "required headers", targets: { target }, hypothesis: [Http.Findings.expectNone(Http.Headers.probe(target, "/"), "headers.required-missing")], method: [] })
    const web = await Runner.runPromise(e, { journal: false, stateDir: temp() })
    expect([web.status, web.plan?.targets[0]?.profile?.name]).toEqual(["passed", "web"])
    const hospital = await Runner.runPromise(e, { journal: false, stateDir: temp(), config: { misconfig: { environments: { lab: "healthcare" } } } })
    expect([hospital.status, hospital.exitCode, hospital.plan?.targets[0]?.profile?.name]).toEqual(["failed", 1, "healthcare"])
    expect(JSON.stringify(hospital.findings)).toContain("no cache-control header (profile healthcare requires it)")
  })
})

describe("response bodies scanned with the profile's leakage patterns", () => {
  const target = () => Http.target("shop", { url: app.url, environment: "lab" })
  const leaks = async (profile: string, path: string) => {
    const r = await observe(Http.Leakage.probe(target(), { profile, dataPaths: [path] }))
    return r.findings.filter((f) => f.id === "leak.sensitive-data")
  }

  it("payments: a Luhn-valid card number is a critical finding, masked; the number itself appears nowhere in the report", async () => {
    const r = await observe(Http.Leakage.probe(target(), { profile: "payments", dataPaths: ["/receipt"] }))
    const found = r.findings.filter((f) => f.id === "leak.sensitive-data")
    expect(found.map((f) => [f.severity, f.evidence])).toEqual([["critical", "/receipt answered 200 with 1 card-number match(es) (profile payments): •••••••••••••••1111"]])
    expect(JSON.stringify(r)).not.toContain(card)
    expect(JSON.stringify(r)).not.toContain(card.replaceAll(" ", ""))
  })

  it.each([
    ["payments", "/order", []],
    ["web", "/receipt", []],
    ["healthcare", "/chart", ["date-of-birth", "medical-record-number"]],
    ["payments", "/chart", []],
  ] as const)("%s on %s", async (profile, path, patterns) => {
    const found = await leaks(profile, path)
    expect(found.map((f) => /with \d+ ([a-z-]+) match/.exec(f.evidence)?.[1]).sort()).toEqual(patterns)
    expect(JSON.stringify(found)).not.toContain("A1234567")
  })
})
