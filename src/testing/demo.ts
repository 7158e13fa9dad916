/**
 * Targets, probes and faults for the embedded demo lab, as experiments use them. Addresses
 * come from `SHIFTUP_LAB_PORT` (default 47180), so a test can run the lab on other ports.
 */
import { Effect } from "effect"
import * as Fault from "../Fault.ts"
import * as Http from "../Http.ts"
import * as Probe from "../Probe.ts"
import { RunContext } from "../RunContext.ts"
import { adminToken, basePort, portsFrom, type Alert, type AuthMode } from "./lab.ts"

const url = (port: number) => `http://127.0.0.1:${port}`

/** The lab's targets, all declared `staging` and owned by the platform team. */
export const targets = () => {
  const ports = portsFrom(basePort())
  const common = { environment: "staging" as const, owner: "platform-team", labels: { system: "shiftup-demo-lab" } }
  return {
    gateway: Http.target("gateway", { ...common, url: url(ports.gateway) }),
    auth: Http.target("auth", { ...common, url: url(ports.auth) }),
    alerts: Http.target("alerts", { ...common, url: url(ports.alerts) }),
  }
}

/** Puts the auth service into `mode` through the lab's fault switch; rollback puts it back to `ok`. */
export const authFault = (mode: Exclude<AuthMode, "ok">) => {
  const { auth } = targets()
  return Fault.httpSwitch(auth, {
    id: `auth-${mode}`,
    title: `auth service ${mode}`,
    url: `${url(portsFrom(basePort()).control)}/faults`,
    on: JSON.stringify({ auth: mode }),
    off: JSON.stringify({ auth: "ok" }),
  })
}

/** Status of the admin page, anonymously or with the admin token. */
export const adminStatus = (as: "anonymous" | "admin") =>
  Probe.status(targets().gateway, "/admin", {
    id: `GET /admin as ${as}`,
    ...(as === "admin" ? { headers: { authorization: `Bearer ${adminToken}` } } : {}),
  })

/** Alerts the sink received that were caused by this run (matched by run id). */
export const alertsOfThisRun = () => {
  const base = Probe.http(targets().alerts, "/alerts")
  return Probe.make({
    id: "alerts raised by this run",
    target: targets().alerts,
    observe: Effect.gen(function* () {
      const { runId } = yield* RunContext
      const all = yield* Probe.http(targets().alerts, `/alerts?run=${encodeURIComponent(runId)}`, { id: base.id }).observe
      return (JSON.parse(all.body) as ReadonlyArray<Alert>).length
    }),
  })
}
