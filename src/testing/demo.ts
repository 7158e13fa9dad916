/**
 * Targets, probes and faults for the embedded demo lab, as experiments use them. Addresses
 * come from `SHIFTUP_LAB_PORT` (default 47180), so a test can run the lab on other ports.
 */
import { Effect } from "effect"
import * as Compensation from "../Compensation.ts"
import * as Fault from "../Fault.ts"
import { send } from "../internal/http.ts"
import { fail, InjectionFailed } from "../ShiftupError.ts"
import * as Http from "../Http.ts"
import * as Probe from "../Probe.ts"
import { RunContext } from "../RunContext.ts"
import { adminToken, basePort, portsFrom, type Alert, type AuthMode } from "./lab.ts"
import { observeOf } from "../internal/capability.ts"
import type { HttpResponse } from "../internal/http.ts"

const url = (port: number) => `http://127.0.0.1:${port}`

/** The lab's targets, all declared `staging` and owned by the platform team. */
export const targets = () => {
  const ports = portsFrom(basePort())
  const common = { environment: "staging" as const, owner: "platform-team", labels: { system: "shiftup-demo-lab" } }
  // The control port (the fault switch) belongs to the lab's services: faults contact it.
  const control = url(ports.control)
  return {
    gateway: Http.target("gateway", { ...common, url: url(ports.gateway), endpoints: [control] }),
    auth: Http.target("auth", { ...common, url: url(ports.auth), endpoints: [control] }),
    alerts: Http.target("alerts", { ...common, url: url(ports.alerts), endpoints: [control] }),
    /** The gateway's session cache; in the lab it lives behind the control port. */
    cache: Http.target("cache", { ...common, url: `${control}/cache`, endpoints: [control] }),
  }
}

/** Takes the gateway's session cache (`cache`) or the alert sink (`alerts`) down; rollback brings it back. */
export const serviceFault = (service: "cache" | "alerts") =>
  Fault.httpSwitch(targets()[service], {
    id: `${service}-down`,
    title: `${service} down`,
    url: `${url(portsFrom(basePort()).control)}/faults`,
    on: JSON.stringify({ [service]: "down" }),
    off: JSON.stringify({ [service]: "ok" }),
  })

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

/**
 * Routes the gateway's calls to auth through another port on 127.0.0.1 — a `shiftup/net` fault
 * proxy in front of auth, say — through the lab's control port; rollback routes them straight
 * again. `port` is asked at injection time (a proxy on port 0 knows its port once listening).
 */
export const routeAuthThrough = (port: () => Promise<number>) => {
  const { gateway } = targets()
  const faults = `${url(portsFrom(basePort()).control)}/faults`
  return Fault.make({
    id: "route-auth-through-proxy",
    title: "route the gateway's auth calls through a proxy",
    target: gateway,
    compensation: Compensation.httpRequest({ target: gateway.id, method: "POST", url: faults, body: JSON.stringify({ authPort: null }), description: `POST ${faults} {"authPort":null}` }),
    inject: Effect.gen(function* () {
      const p = yield* Effect.tryPromise({ try: port, catch: (e) => fail(new InjectionFailed({ fault: "route-auth-through-proxy", target: gateway.id, detail: String(e) })) })
      const r = yield* send({ method: "POST", url: faults, body: JSON.stringify({ authPort: p }), headers: { "content-type": "application/json" } }, { probe: "route-auth-through-proxy", target: gateway.id })
      if (r.status !== 200) return yield* Effect.fail(fail(new InjectionFailed({ fault: "route-auth-through-proxy", target: gateway.id, detail: `switch answered ${r.status}` })))
    }),
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
      const all = yield* observeOf<HttpResponse>(Probe.http(targets().alerts, `/alerts?run=${encodeURIComponent(runId)}`, { id: base.id }))
      return (JSON.parse(all.body) as ReadonlyArray<Alert>).length
    }),
  })
}
