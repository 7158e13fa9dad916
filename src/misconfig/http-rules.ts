/**
 * The rules of shiftup/http's probes in the misconfiguration rule model: derived from the one
 * table in src/http/findings.ts (never a second copy), so `Misconfig.catalogue` lists them with
 * the inventory rules, profiles set their severities by the same ids, and reports carry one
 * kind of rule. They are reported by a probe, not checked on inventory facts: `evaluate` does
 * not run them (their `check` answers "not evaluated").
 */
import { rules as probeRules } from "../http/findings.ts"
import type { Rule } from "./model.ts"

/** The probe module that reports a rule, by its id's prefix (`headers.` → Headers). */
const probes: Readonly<Record<string, string>> = {
  auth: "Auth",
  headers: "Headers",
  cookies: "Headers",
  cors: "Cors",
  leak: "Leakage",
  rate: "RateLimit",
  transport: "Redirect",
  tls: "Tls",
  inject: "Fuzz",
  ports: "Ports",
}

const probeOf = (id: string) => (id === "leak.status-page-exposed" ? "Exposure" : (probes[id.slice(0, id.indexOf("."))] ?? "shiftup/http"))

/** Every rule of shiftup/http, as misconfiguration rules. */
export const httpRules: ReadonlyArray<Rule> = Object.entries(probeRules).map(([id, r]) => ({
  id,
  title: `${r.title.charAt(0).toUpperCase()}${r.title.slice(1)}`,
  kind: "endpoint",
  reads: [`shiftup/http ${probeOf(id)} probe`],
  severity: r.severity,
  rationale: `Reported by shiftup/http's ${probeOf(id)} probe when ${r.title}: a weakness an attacker reaching the endpoint can use (${r.cwe}).`,
  remediation: r.remediation,
  references: { cwe: [r.cwe], ...("asvs" in r && r.asvs !== undefined ? { asvs: r.asvs } : {}) },
  reportedBy: `shiftup/http ${probeOf(id)}`,
  check: () => null,
}))
