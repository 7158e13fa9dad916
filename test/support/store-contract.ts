/**
 * The finding store's contract, one suite for every store (SQLite and PostgreSQL call it from
 * their own describe blocks): the lifecycle (new → open → resolved → regressed → open;
 * accepted-risk until its expiry, then reopened), time to detect and to resolve, scopes, the
 * order of the open set, the webhook outbox (written in the transaction of the state change,
 * claimed by one watcher, settled), job leases (one holder at a time, taken over after expiry)
 * fencing (a watcher without the lease records nothing), and the feedback loop's links.
 */
import { expect, it } from "vitest"
import { fingerprint, FindingStoreError, type FindingStore, type NewDelivery, type Observation, type Transition } from "shiftup/watch"

export interface StoreUnderTest {
  /** A new, empty store (its own file, its own PostgreSQL schema); closed by the suite. */
  readonly fresh: () => Promise<{ readonly store: FindingStore; readonly reopen: () => Promise<FindingStore> }>
}

const t0 = new Date("2026-12-01T10:00:00.000Z")
export const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000)
export const anon: Observation = { rule: "gateway.auth/anonymous-denied", asset: "http://127.0.0.1:20000", location: "before", severity: "critical", title: "anonymous denied", detail: "observed 200" }
export const cors: Observation = { rule: "http/cors.any-origin", asset: "http://127.0.0.1:20000", location: "/admin", severity: "medium", title: "CORS trusts any origin" }

const moves = (ts: ReadonlyArray<Transition>) => ts.map((t) => [t.from, t.to])
const hookOf = (t: Transition): ReadonlyArray<NewDelivery> => [{ id: `d-${t.fingerprint}-${t.to}-${t.finding.occurrences}`, url: "http://127.0.0.1:1/hook", secretEnv: "HOOK_SECRET", event: `finding.${t.to}`, body: JSON.stringify({ to: t.to, fp: t.fingerprint }) }]

export const storeContract = (sut: StoreUnderTest): void => {
  const open = async () => {
    const { store, reopen } = await sut.fresh()
    return { store, reopen }
  }
  const using = async (f: (s: FindingStore, reopen: () => Promise<FindingStore>) => Promise<void>) => {
    const { store, reopen } = await open()
    try {
      await f(store, reopen)
    } finally {
      await store.close()
    }
  }

  it("new → open → resolved → regressed → open, with first/last seen, occurrences, time to detect and to resolve", () =>
    using(async (store) => {
      expect(await store.record("gateway", [], at(0))).toEqual([])
      const fp = fingerprint(anon)
      const found = await store.record("gateway", [anon, anon], at(5))
      expect(moves(found), "a finding twice in one scan is one sighting").toEqual([[undefined, "new"]])
      expect(found[0]?.finding).toEqual(await store.get(fp))
      expect(await store.get(fp)).toMatchObject({ state: "new", firstSeen: at(5).toISOString(), occurrences: 1, timeToDetectMs: 5 * 60_000 })
      expect(moves(await store.record("gateway", [anon], at(6)))).toEqual([["new", "open"]])
      expect(await store.record("gateway", [anon], at(7))).toEqual([])
      expect(await store.get(fp)).toMatchObject({ state: "open", occurrences: 3, lastSeen: at(7).toISOString(), firstSeen: at(5).toISOString() })
      const resolved = await store.record("gateway", [], at(20))
      expect(moves(resolved)).toEqual([["open", "resolved"]])
      expect(resolved[0]?.finding).toEqual(await store.get(fp))
      expect(await store.get(fp)).toMatchObject({ state: "resolved", resolvedAt: at(20).toISOString(), timeToResolveMs: 15 * 60_000 })
      expect(await store.open()).toEqual([])
      const regressed = await store.record("gateway", [anon], at(30))
      expect(moves(regressed)).toEqual([["resolved", "regressed"]])
      expect(regressed[0]?.finding, "a transition carries the finding as stored").toEqual(await store.get(fp))
      expect(await store.get(fp)).toMatchObject({ state: "regressed", openedAt: at(30).toISOString(), firstSeen: at(5).toISOString(), occurrences: 4 })
      expect((await store.get(fp))?.resolvedAt).toBeUndefined()
      expect(moves(await store.record("gateway", [anon], at(31)))).toEqual([["regressed", "open"]])
      await store.record("gateway", [], at(40))
      expect(await store.get(fp)).toMatchObject({ state: "resolved", timeToResolveMs: 10 * 60_000 })
    }))

  it("a job's first scan has no time to detect; the detail follows the last sighting, the fingerprint does not", () =>
    using(async (store) => {
      await store.record("gateway", [anon], at(0))
      expect((await store.get(fingerprint(anon)))?.timeToDetectMs).toBeUndefined()
      await store.record("gateway", [{ ...anon, detail: "observed 200 twice", severity: "high" }], at(1))
      expect(await store.get(fingerprint(anon))).toMatchObject({ detail: "observed 200 twice", severity: "high", occurrences: 2 })
    }))

  it("only the scope that owns a finding resolves it", () =>
    using(async (store) => {
      await store.record("gateway", [anon], at(0))
      expect((await store.record("inventory", [cors], at(1))).map((t) => t.to)).toEqual(["new"])
      expect((await store.open()).map((f) => f.rule).sort()).toEqual([anon.rule, cors.rule].sort())
    }))

  it("accepted-risk: kept while seen and until its expiry; an expired acceptance reopens the finding at the next scan of any job", () =>
    using(async (store) => {
      const fp = fingerprint(anon)
      await store.record("gateway", [anon], at(0))
      expect(await store.accept(fp, "compensating WAF rule, OPS-7", at(60), at(1))).toMatchObject({ from: "new", to: "accepted-risk" })
      expect(await store.record("gateway", [anon], at(2))).toEqual([])
      expect(await store.get(fp)).toMatchObject({ state: "accepted-risk", acceptedReason: "compensating WAF rule, OPS-7", acceptedUntil: at(60).toISOString(), occurrences: 2 })
      expect(await store.countOpen()).toEqual([{ severity: "critical", rule: anon.rule, count: 1 }])
      expect(await store.expire(at(59))).toEqual([])
      expect(moves(await store.record("other-job", [], at(61)))).toEqual([["accepted-risk", "open"]])
      expect(await store.get(fp)).toMatchObject({ state: "open" })
      expect((await store.get(fp))?.acceptedUntil).toBeUndefined()
      expect((await store.get(fp))?.acceptedReason).toBeUndefined()
    }))

  it("expire reopens without a scan (at the expiry itself); an accepted risk not seen resolves, dropping the acceptance", () =>
    using(async (store) => {
      const fp = fingerprint(anon)
      await store.record("gateway", [anon, cors], at(0))
      await store.accept(fp, "until the fix ships", at(10), at(1))
      await store.accept(fingerprint(cors), "known", at(100), at(1))
      expect((await store.expire(at(10))).map((t) => [t.fingerprint, t.to])).toEqual([[fp, "open"]])
      expect(moves(await store.record("gateway", [anon], at(11)))).toEqual([["accepted-risk", "resolved"]])
      expect((await store.get(fingerprint(cors)))?.acceptedUntil).toBeUndefined()
    }))

  it("accepting needs a known finding, a reason and a future expiry", () =>
    using(async (store) => {
      await store.record("gateway", [anon], at(0))
      await expect(store.accept("nope", "r", at(10), at(1))).rejects.toThrow(FindingStoreError)
      await expect(store.accept(fingerprint(anon), " ", at(10), at(1))).rejects.toThrow(/needs a reason/)
      await expect(store.accept(fingerprint(anon), "r", at(1), at(1))).rejects.toThrow(/must expire after now/)
      expect(await store.get(fingerprint(anon))).toMatchObject({ state: "new" })
    }))

  it("open(): most severe first; countOpen by severity and rule; both survive a reopen", () =>
    using(async (store, reopen) => {
      await store.record("gateway", [cors, anon, { ...cors, asset: "b", severity: "low" }], at(0))
      expect((await store.open()).map((f) => f.severity)).toEqual(["critical", "medium", "low"])
      await store.close()
      const again = await reopen()
      try {
        expect((await again.open()).map((f) => f.severity)).toEqual(["critical", "medium", "low"])
        expect([...(await again.countOpen())].sort((a, b) => a.severity.localeCompare(b.severity))).toEqual([
          { severity: "critical", rule: anon.rule, count: 1 },
          { severity: "low", rule: cors.rule, count: 1 },
          { severity: "medium", rule: cors.rule, count: 1 },
        ])
      } finally {
        await again.close()
      }
    }))

  it("the outbox: a state change's deliveries are written with it, in order; claimed by one holder; settled", () =>
    using(async (store) => {
      await store.record("gateway", [anon], at(0), { deliveries: hookOf })
      await store.record("gateway", [anon], at(1), { deliveries: hookOf })
      await store.record("gateway", [], at(2), { deliveries: hookOf })
      const pending = await store.pending(10)
      expect(pending.map((d) => [d.event, d.attempts, d.secretEnv])).toEqual([
        ["finding.new", 0, "HOOK_SECRET"],
        ["finding.open", 0, "HOOK_SECRET"],
        ["finding.resolved", 0, "HOOK_SECRET"],
      ])
      expect(pending[0]?.body).toBe(JSON.stringify({ to: "new", fp: fingerprint(anon) }))
      const [first, second, third] = pending as [(typeof pending)[0], (typeof pending)[0], (typeof pending)[0]]
      expect(await store.claim(first.id, "watcher-a", 60_000)).toBe(true)
      expect(await store.claim(first.id, "watcher-b", 60_000), "claimed by another").toBe(false)
      await store.settle(first.id, { _tag: "Retry", at: at(3), attempts: 1, retryAt: at(4), error: "HTTP 500" })
      expect((await store.pending(10))[0]).toMatchObject({ id: first.id, attempts: 1, nextAt: at(4).toISOString() })
      expect(await store.claim(first.id, "watcher-b", 60_000), "a retry is free to claim").toBe(true)
      await store.settle(first.id, { _tag: "Delivered", at: at(5), attempts: 2 })
      await store.settle(second.id, { _tag: "GaveUp", at: at(5), attempts: 5, error: "HTTP 500" })
      expect((await store.pending(10)).map((d) => d.id)).toEqual([third.id])
      expect(await store.claim(first.id, "watcher-a", 60_000), "a delivered one is not sent again").toBe(false)
      expect(await store.claim(third.id, "watcher-a", 1)).toBe(true)
      await new Promise((r) => setTimeout(r, 20))
      expect(await store.claim(third.id, "watcher-b", 60_000), "an expired claim (its watcher died) is taken over").toBe(true)
    }))

  it("the outbox is written in the scan's transaction: a delivery that cannot be written (a duplicate id) leaves no finding changed either", () =>
    using(async (store) => {
      const sameId = (t: Transition): ReadonlyArray<NewDelivery> => [{ id: "one-id", url: "http://127.0.0.1:1/hook", event: `finding.${t.to}`, body: "{}" }]
      await expect(store.record("gateway", [anon, cors], at(0), { deliveries: sameId })).rejects.toThrow(FindingStoreError)
      expect(await store.open()).toEqual([])
      expect(await store.pending(10)).toEqual([])
      expect(moves(await store.record("gateway", [anon], at(1))), "the scan was not recorded: its finding is still new").toEqual([[undefined, "new"]])
      expect((await store.get(fingerprint(anon)))?.timeToDetectMs, "nor the scan's time").toBeUndefined()
    }))

  it("leases: one holder at a time, renewed by its holder, taken over after expiry, kept for the rest of a slot on release", () =>
    using(async (store) => {
      expect(await store.lease("job", "a", 60_000)).toBe(true)
      expect(await store.lease("job", "b", 60_000)).toBe(false)
      expect(await store.lease("job", "a", 60_000), "renewed by its holder").toBe(true)
      expect(await store.lease("other-job", "b", 60_000), "leases are per job").toBe(true)
      await store.release("job", "a", 0)
      expect(await store.lease("job", "b", 60_000), "released").toBe(true)
      await store.release("job", "b", 60_000)
      expect(await store.lease("job", "a", 60_000), "kept for the rest of the slot").toBe(false)
      expect(await store.lease("short", "a", 1)).toBe(true)
      await new Promise((r) => setTimeout(r, 20))
      expect(await store.lease("short", "b", 60_000), "an expired lease (its watcher died) is taken over").toBe(true)
    }))

  it("leases: of many watchers asking at once, exactly one gets it", () =>
    using(async (store) => {
      const got = await Promise.all(Array.from({ length: 12 }, (_, i) => store.lease("race", `w${i}`, 60_000)))
      expect(got.filter(Boolean)).toHaveLength(1)
    }))

  it("fencing: a scan by a watcher that does not hold the job's lease is refused, and writes nothing (nor its deliveries)", () =>
    using(async (store) => {
      expect(await store.lease("gateway", "a", 60_000)).toBe(true)
      await expect(store.record("gateway", [anon], at(0), { holder: "b", deliveries: hookOf })).rejects.toThrow(/no longer holds the lease of job gateway/)
      expect(await store.get(fingerprint(anon))).toBeUndefined()
      expect(await store.pending(10)).toEqual([])
      expect(moves(await store.record("gateway", [anon], at(0), { holder: "a", deliveries: hookOf }))).toEqual([[undefined, "new"]])
      expect(await store.pending(10)).toHaveLength(1)
    }))

  it("feedback links: finding ↔ regression experiment, a link again refreshes its time, oldest first, none for an unknown finding; kept across a reopen", () =>
    using(async (store, reopen) => {
      const [t] = await store.record("gateway", [anon], at(0))
      const fp = t?.fingerprint ?? ""
      await store.link(fp, "experiments/a.ts", at(1))
      await store.link(fp, "experiments/b.ts", at(2))
      await store.link(fp, "experiments/a.ts", at(3))
      expect(await store.links(fp)).toEqual([
        { fingerprint: fp, experiment: "experiments/b.ts", createdAt: at(2).toISOString() },
        { fingerprint: fp, experiment: "experiments/a.ts", createdAt: at(3).toISOString() },
      ])
      await expect(store.link("0".repeat(32), "x.ts", at(4))).rejects.toThrow(/no finding 0{32}/)
      expect(await store.links("0".repeat(32))).toEqual([])
      const again = await reopen()
      try {
        expect((await again.links()).map((l) => l.experiment)).toEqual(["experiments/b.ts", "experiments/a.ts"])
      } finally {
        await again.close()
      }
    }))
}
