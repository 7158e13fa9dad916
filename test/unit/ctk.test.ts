/**
 * The pure parts of the Chaos Toolkit translation: tolerance rules (the two-number range, an
 * integer or a list against a status, membership), the JSONPath subset, substitution of
 * configuration and secrets, how an http provider's arguments become a request, how a process
 * provider's arguments become an argument vector, and validation that lists every problem.
 */
import { describe, expect, it } from "vitest"
import { query, parsePath } from "../../src/ctk/jsonpath.ts"
import { argv, httpRequest, words } from "../../src/ctk/providers.ts"
import { holds } from "../../src/ctk/tolerance.ts"
import { validate } from "../../src/ctk/validate.ts"
import { referenced, resolve, substitute } from "../../src/ctk/values.ts"
import { isShiftupError } from "../../src/ShiftupError.ts"
import * as Ctk from "../../src/ctk/index.ts"

const http = (status: number, body: unknown = "") => ({ status, headers: {}, body })

describe("tolerances", () => {
  it("a two-number list is an inclusive range, of the status when there is one", () => {
    expect(holds([200, 299], http(204))).toBe(true)
    expect(holds([200, 299], http(200))).toBe(true)
    expect(holds([200, 299], http(299))).toBe(true)
    expect(holds([200, 299], http(300))).toBe(false)
    expect(holds([4, 9], 7)).toBe(true)
    expect(holds([4, 9], 10)).toBe(false)
  })
  it("other lists are membership; an integer compares with the status", () => {
    expect(holds([200, 201, 204], http(204))).toBe(true)
    expect(holds([200, 201, 204], http(202))).toBe(false)
    expect(holds(["a", "b"], "b")).toBe(true)
    expect(holds(200, http(200))).toBe(true)
    expect(holds(0, { status: 0, stdout: "", stderr: "" })).toBe(true)
    expect(holds(true, true)).toBe(true)
    expect(holds("OK", "OK")).toBe(true)
    expect(holds("OK", http(200, "OK")), "a string compares with the value itself, as in Chaos Toolkit").toBe(false)
  })
  it("regex, jsonpath and range tolerances look at their target", () => {
    expect(holds({ type: "regex", pattern: "^ok$", target: "stdout" }, { status: 0, stdout: "ok\n", stderr: "" })).toBe(true)
    expect(holds({ type: "regex", pattern: "^ok$", target: "stdout" }, { status: 0, stdout: "not ok\n", stderr: "" })).toBe(false)
    expect(holds({ type: "jsonpath", path: "$.a[1]", expect: 2, target: "body" }, http(200, '{"a":[1,2]}'))).toBe(true)
    expect(holds({ type: "jsonpath", path: "$.a[*]", count: 2, target: "body" }, http(200, { a: [1, 2] }))).toBe(true)
    expect(holds({ type: "jsonpath", path: "$.missing", target: "body" }, http(200, { a: 1 }))).toBe(false)
    expect(holds({ type: "range", range: [1, 2], target: "body" }, http(200, "1.5"))).toBe(true)
    expect(holds({ type: "range", range: [1, 2], target: "body" }, http(200, "x"))).toBe(false)
  })
})

describe("JSONPath subset", () => {
  const doc = { store: { book: [{ t: "a", p: 8 }, { t: "b", p: 12 }, { t: "c" }], name: "s" } }
  it("selects names, indexes, wildcards, unions, recursive names and filters", () => {
    expect(query("$.store.name", doc)).toEqual(["s"])
    expect(query("$['store']['book'][-1].t", doc)).toEqual(["c"])
    expect(query("$.store.book[0,1].t", doc)).toEqual(["a", "b"])
    expect(query("$.store.book[*].p", doc)).toEqual([8, 12])
    expect(query("$..t", doc)).toEqual(["a", "b", "c"])
    expect(query("$.store.book[?(@.p > 10)].t", doc)).toEqual(["b"])
    expect(query("$.store.book[?(@.p)].t", doc)).toEqual(["a", "b"])
    expect(query("$.store.book[?(@.t == 'c')]", doc)).toEqual([{ t: "c" }])
  })
  it("refuses what it does not understand, when parsed", () => {
    expect(() => parsePath("store")).toThrow(/must start with \$/)
    expect(() => parsePath("$.a[?(@.x =~ /y/)]")).toThrow(/not supported/)
  })
})

describe("configuration and secrets", () => {
  it("resolves env values (with defaults and types) and substitutes ${name} and $name; a whole ${name} keeps its type", () => {
    const problems: Array<string> = []
    const v = resolve({ url: "http://h", n: { type: "env", key: "N", env_var_type: "int" }, d: { type: "env", key: "UNSET", default: 3 } }, { s: { token: { type: "env", key: "TOKEN" }, pw: "inline" } }, { N: "5", TOKEN: "t0k" }, (p, m) => problems.push(`${p}: ${m}`))
    expect(problems).toEqual([])
    expect(v.names).toEqual({ url: "http://h", n: 5, d: 3, token: "t0k", pw: "inline" })
    expect(v.secrets).toEqual(["t0k", "inline"])
    expect(substitute({ a: "${url}/x?n=$n", b: "${n}", c: "$$5 ${unknown}" }, v.names)).toEqual({ a: "http://h/x?n=5", b: 5, c: "$5 ${unknown}" })
    expect([...referenced({ h: "Bearer ${token}", x: ["$pw"] })].sort()).toEqual(["pw", "token"])
  })
  it("names every variable that is not set", () => {
    const problems: Array<string> = []
    resolve({ a: { type: "env", key: "A" } }, { s: { b: { type: "env", key: "B" } } }, {}, (p) => problems.push(p))
    expect(problems).toEqual(["configuration.a", "secrets.s.b"])
  })
})

describe("providers", () => {
  it("http: GET arguments go to the query string; a JSON body only with a JSON content type, else a form", () => {
    expect(httpRequest({ type: "http", url: "http://h/p?x=1", arguments: { q: "a b", n: 2 } }).url).toBe("http://h/p?x=1&q=a+b&n=2")
    expect(httpRequest({ type: "http", method: "post", url: "http://h/p", headers: { "Content-Type": "application/json" }, arguments: { a: [1] } })).toEqual({ method: "POST", url: "http://h/p", headers: { "Content-Type": "application/json" }, body: '{"a":[1]}' })
    const form = httpRequest({ type: "http", method: "POST", url: "http://h/p", arguments: { a: "1", b: true } })
    expect([form.body, form.headers["content-type"]]).toEqual(["a=1&b=true", "application/x-www-form-urlencoded"])
  })
  it("process: a string is split into words without a shell; pairs drop empty values", () => {
    expect(words(`a "b c" 'd $HOME' e\\ f`)).toEqual(["a", "b c", "d $HOME", "e f"])
    expect(argv({ type: "process", path: "x", arguments: { "--level": 3, "--verbose": "", "-q": null } })).toEqual(["--level", "3", "--verbose", "-q"])
    expect(argv({ type: "process", path: "x", arguments: ["a", 1, true] })).toEqual(["a", "1", "true"])
    expect(() => words(`"open`)).toThrow(/unclosed/)
  })
})

describe("validation", () => {
  it("lists every problem with its path at once", () => {
    let error: unknown
    try {
      validate({ title: "", method: [{ type: "action", name: "x", provider: { type: "python", module: "m", func: "f" } }, { type: "probe", provider: { type: "http", url: "ftp://x" } }], rollbacks: [{ ref: "nope" }], extra: 1 }, "f.json")
    } catch (e) {
      error = e
    }
    expect(isShiftupError(error) && error._tag === "InvalidExperiment" ? error.issues.map((i) => i.path) : error).toEqual(["extra", "title", "method[0].provider", "method[1].name", "method[1].provider.url", "rollbacks[0].ref"])
  })
})

describe("translation", () => {
  const doc = (extra: Record<string, unknown>): Ctk.CtkExperiment => ({
    title: "t",
    tags: ["environment:lab"],
    method: [{ type: "action", name: "a", provider: { type: "http", method: "POST", url: "http://127.0.0.1:9/on" } }],
    ...extra,
  })
  it("the environment is the most restrictive signal; shiftup_egress extends the budget's egress", () => {
    const e = Ctk.experiment(doc({ configuration: { shiftup_environment: "staging", shiftup_egress: "10.0.0.0/8, 192.168.1.5" } }), { environment: "development" })
    expect(Object.values(e.targets).map((t) => t.environment)).toEqual(["staging"])
    expect(e.budget.egress).toEqual(["10.0.0.0/8", "192.168.1.5"])
    expect(e.body._tag === "Gen" ? e.body.mayInject : undefined).toEqual({ "127.0.0.1:9": "disrupt" })
  })
  it("no signal leaves the environment unknown; a secret in a URL is refused", () => {
    expect(Object.values(Ctk.experiment(doc({ tags: [] })).targets).map((t) => t.environment)).toEqual([undefined])
    expect(() => Ctk.experiment(doc({ secrets: { s: { host: "127.0.0.1" } }, method: [{ type: "probe", name: "p", provider: { type: "http", url: "http://${host}:9/" } }] }))).toThrow(/uses the secret host/)
  })
})
