/**
 * `Misconfig.judge`: what blocks CI. Without `--fail-on` the evaluation's own `blocking` stands
 * (the profile's, or any finding under the default profile); with it, a finding at or above the
 * flag blocks — and a floor-mandatory rule's finding blocks whatever the flag, at any severity a
 * profile gave it: no flag loosens the floor.
 */
import { describe, expect, it } from "vitest"
import { Misconfig } from "../../src/inventory/index.ts"

const finding = (rule: string, severity: Misconfig.Severity, blocking: boolean): Misconfig.Finding => ({ rule, title: rule, asset: "docker:local/app", severity, blocking, profile: "clinic", evidence: ["x"], remediation: "y", references: { cwe: ["CWE-250"] } })
const evaluation: Misconfig.Evaluation = {
  findings: [finding("container.privileged", "low", true), finding("container.root-user", "high", true), finding("container.no-healthcheck", "medium", false), finding("container.writable-rootfs", "info", false)],
  notEvaluated: [],
  profiles: { "docker:local/app": { profile: "clinic", why: "misconfig.profile" } },
}
const blocking = (e: Misconfig.Evaluation) => e.findings.filter((f) => f.blocking).map((f) => f.rule)

describe("Misconfig.judge", () => {
  it("no flag: the evaluation's blocking stands", () => {
    expect(Misconfig.judge(evaluation)).toBe(evaluation)
  })

  it.each([
    ["critical", ["container.privileged"]],
    ["high", ["container.privileged", "container.root-user"]],
    ["medium", ["container.privileged", "container.root-user", "container.no-healthcheck"]],
    ["info", ["container.privileged", "container.root-user", "container.no-healthcheck", "container.writable-rootfs"]],
  ] as const)("--fail-on %s: at or above it, and the floor's mandatory rules", (flag, rules) => {
    const judged = Misconfig.judge(evaluation, flag)
    expect(blocking(judged)).toEqual(rules)
    expect(judged.failOn).toBe(flag)
  })
})
