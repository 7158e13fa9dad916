/**
 * The pure parts of the auth probes: which fail-closed attempts are made from which inputs (and
 * the error for one asked without its input), tokens shaped like a genuine one, JWT detection,
 * where a credential travels and how a login's token is read; JSON bodies with secret values;
 * and the plain-HTTP redirect verdicts.
 */
import { Effect } from "effect"
import * as Http from "shiftup/http"
import { describe, expect, it } from "vitest"

const api = Http.target("api", { url: "https://127.0.0.1:8443", environment: "lab" })
const jwt = Http.Auth.signJwt({ sub: "alice", exp: 2_000_000_000 }, "k")
const exchange = (body: string, cookies: ReadonlyArray<string> = []): Http.Exchange => ({ url: "https://127.0.0.1:8443/login", method: "POST", status: 200, headers: {}, cookies, body, ms: 1 })

describe("Auth.failsClosed attempts", () => {
  const session = Http.Auth.session(api, { login: { method: "POST", path: "/login" }, logout: { method: "POST", path: "/logout" } })
  it("without inputs: anonymous and an unknown token only, saying why the others are left out", () => {
    const { made, left } = Http.Auth.attemptsFor({})
    expect(made).toEqual(["anonymous", "unknown-token"])
    expect(Object.keys(left).sort()).toEqual(["alg-none-jwt", "expired-token", "forged-jwt", "replayed-token"])
    expect(Http.Auth.failsClosed(api, "/admin").map((c) => c.id)).toEqual(["api /admin fails closed under fault: anonymous", "api /admin fails closed under fault: unknown-token"])
  })
  it("a session with a logout adds the replay and (decided at run time) the JWT attempts; a key adds the expired token", () => {
    expect(Http.Auth.attemptsFor({ session, jwtKey: Http.secret("key") }).made).toEqual(["anonymous", "unknown-token", "expired-token", "forged-jwt", "alg-none-jwt", "replayed-token"])
    expect(Http.Auth.attemptsFor({ session, jwt: false }).made).toEqual(["anonymous", "unknown-token", "replayed-token"])
  })
  it("a JWT-shaped token given up front turns the JWT attempts on; an opaque one does not", () => {
    expect(Http.Auth.attemptsFor({ token: Http.secret(jwt) }).made).toContain("forged-jwt")
    expect(Http.Auth.attemptsFor({ token: Http.secret("0123456789abcdef") }).made).not.toContain("forged-jwt")
  })
  it("`attempts` narrows; one asked for without its input is an InvalidExperiment naming what to give", () => {
    expect(Http.Auth.failsClosed(api, "/admin", { attempts: ["unknown-token"] }).map((c) => c.id)).toEqual(["api /admin fails closed under fault: unknown-token"])
    expect(() => Http.Auth.failsClosed(api, "/admin", { attempts: ["replayed-token", "expired-token"] })).toThrow(/"replayed-token" needs its input: give a `session` with a `logout`[\s\S]*"expired-token" needs its input/)
  })
  it("each check carries the fail-open rule's severity and CWE, and says what it sent", () => {
    const [c] = Http.Auth.failsClosed(api, "/admin", { attempts: ["unknown-token"], samples: 3 })
    expect(c).toMatchObject({ severity: "critical", cwe: "CWE-636", title: "/admin fails closed under fault (api): an unknown session token", mode: { _tag: "during", samples: 3 } })
    expect(c?.matcher.test(200)).toBe(false)
    expect(c?.matcher.test(401)).toBe(true)
    expect(c?.matcher.test("not tried: the session's token is not a JWT")).toBe(true)
  })
})

describe("tokens", () => {
  it("lookalike keeps the shape: separators, case, digits; hex stays hex", () => {
    const uuid = "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b"
    const l = Http.Auth.lookalike(uuid)
    expect(l).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(l).not.toBe(uuid)
    expect(Http.Auth.lookalike("Ab1_Cd2.Ef3")).toMatch(/^[A-Z][a-z]\d_[A-Z][a-z]\d\.[A-Z][a-z]\d$/)
    expect(Http.Auth.lookalike(undefined)).toMatch(/^[0-9a-f]{32}$/)
  })
  it("isJwt: three base64url parts whose header names an alg", () => {
    expect(Http.Auth.isJwt(jwt)).toBe(true)
    expect(Http.Auth.isJwt(Http.Auth.signJwt({ sub: "a" }, null))).toBe(true)
    expect(Http.Auth.isJwt("a.b.c")).toBe(false)
    expect(Http.Auth.isJwt("0123456789abcdef")).toBe(false)
  })
  it("carry: a bearer header, another header without scheme, or a cookie; a secret stays a secret", () => {
    expect(Http.Auth.carry(Http.Auth.bearer, "t")).toEqual({ authorization: "Bearer t" })
    expect(Http.Auth.carry({ header: "x-api-key" }, "t")).toEqual({ "x-api-key": "t" })
    expect(Http.Auth.carry({ cookie: "sid" }, "t")).toEqual({ cookie: "sid=t" })
    const carried = Http.Auth.carry({ cookie: "sid" }, Http.secret("s3cr3t-token"))["cookie"]
    expect(Http.isSecret(carried) && carried.reveal()).toBe("sid=s3cr3t-token")
    expect(JSON.stringify(carried)).toBe('"[redacted]"')
  })
  it("readToken: the named cookie; else a JSON field, even in an answer whose redaction broke the JSON; else the first cookie", () => {
    expect(Http.Auth.readToken({ cookie: "sid" }, exchange("{}", ["theme=dark", "sid=abc123; Path=/; HttpOnly"]))).toBe("abc123")
    expect(Http.Auth.readToken(Http.Auth.bearer, exchange(`{"token":"${jwt}","posted":[redacted]}`))).toBe(jwt)
    expect(Http.Auth.readToken(Http.Auth.bearer, exchange('{"data":{"access_token":"xyz"}}'))).toBe("xyz")
    expect(Http.Auth.readToken(Http.Auth.bearer, exchange("ok", ["session=q1"]))).toBe("q1")
    expect(Http.Auth.readToken({ cookie: "sid" }, exchange('{"token":"x"}'))).toBeUndefined()
  })
  it("a session's token outside a run that logged in is an error saying to declare it in `resources`", async () => {
    const s = Http.Auth.session(api, { login: { path: "/login" } })
    const exit = await Effect.runPromiseExit(s.token)
    expect(String(exit)).toContain("declare the session in the experiment's `resources`")
  })
})

describe("Http.json", () => {
  it("reveals secrets in the body it sends, is itself a secret, and lists each secret for redaction", () => {
    const password = Http.secret("hunter2-hunter2")
    const j = Http.json({ user: "alice", password, nested: [password] })
    expect(Http.isSecret(j.body) && j.body.reveal()).toBe('{"user":"alice","password":"hunter2-hunter2","nested":["hunter2-hunter2"]}')
    expect(String(j.body)).toBe("[redacted]")
    expect(j.secrets).toEqual([password, password])
    expect(j.headers).toEqual({ "content-type": "application/json" })
    expect(Http.json({ a: 1 }).body).toBe('{"a":1}')
  })
})

describe("Redirect.evaluate", () => {
  const o = { asked: "http://127.0.0.1:8080/", error: null, hstsOverHttp: false }
  it("a redirect to https holds; content, a redirect to http, or one without Location does not; nothing answering is no finding", () => {
    expect(Http.Redirect.evaluate({ ...o, status: 301, location: "https://127.0.0.1:8443/" })).toEqual([])
    expect(Http.Redirect.evaluate({ ...o, status: 308, location: "https://www.example.test/" })).toEqual([])
    expect(Http.Redirect.evaluate({ ...o, status: 200, location: null }).map((f) => f.id)).toEqual(["transport.no-https-redirect"])
    expect(Http.Redirect.evaluate({ ...o, status: 302, location: "/login" })[0]?.evidence).toContain("to /login, not to HTTPS")
    expect(Http.Redirect.evaluate({ ...o, status: 301, location: null })[0]?.evidence).toContain("nowhere")
    expect(Http.Redirect.evaluate({ ...o, status: null, location: null, error: "ECONNREFUSED" })).toEqual([])
    expect(Http.Redirect.evaluate({ ...o, status: 404, location: null })).toEqual([])
  })
})
