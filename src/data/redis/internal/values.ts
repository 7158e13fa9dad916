/**
 * A key's value as data, for faults that rewrite it: read with the type's own commands (bulk
 * strings as Buffers, so binary values survive), and written back in one MULTI that deletes the
 * key, recreates it and puts back its expiry instant — an application never sees it half-written.
 * Streams and module types are not rewritten (`other`): faults leave them as they are.
 */
import { createHash } from "node:crypto"
import type { Session } from "./client.ts"

export type Value =
  | { readonly type: "string"; readonly value: Buffer }
  | { readonly type: "hash"; readonly fields: ReadonlyArray<readonly [Buffer, Buffer]> }
  | { readonly type: "list"; readonly items: ReadonlyArray<Buffer> }
  | { readonly type: "set"; readonly members: ReadonlyArray<Buffer> }
  | { readonly type: "zset"; readonly members: ReadonlyArray<readonly [Buffer, string]> }

const pairs = <A>(flat: ReadonlyArray<A>): Array<readonly [A, A]> => {
  const out: Array<readonly [A, A]> = []
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] as A, flat[i + 1] as A])
  return out
}

/** The key's value now; undefined when it is gone or of a type faults do not rewrite. */
export const read = async (s: Session, key: string): Promise<Value | undefined> => {
  const type = String(await s.call(["TYPE", key]))
  switch (type) {
    case "string": {
      const value = (await s.call(["GET", key], true)) as Buffer | null
      return value === null ? undefined : { type, value }
    }
    case "hash":
      return { type, fields: pairs((await s.call(["HGETALL", key], true)) as ReadonlyArray<Buffer>) }
    case "list":
      return { type, items: (await s.call(["LRANGE", key, "0", "-1"], true)) as ReadonlyArray<Buffer> }
    case "set":
      return { type, members: (await s.call(["SMEMBERS", key], true)) as ReadonlyArray<Buffer> }
    case "zset":
      return { type, members: pairs((await s.call(["ZRANGE", key, "0", "-1", "WITHSCORES"], true)) as ReadonlyArray<Buffer>).map(([m, score]) => [m, score.toString()] as const) }
    default:
      return undefined
  }
}

const create = (key: string, v: Value): ReadonlyArray<string | Buffer> => {
  switch (v.type) {
    case "string":
      return ["SET", key, v.value]
    case "hash":
      return ["HSET", key, ...v.fields.flat()]
    case "list":
      return ["RPUSH", key, ...v.items]
    case "set":
      return ["SADD", key, ...v.members]
    case "zset":
      return ["ZADD", key, ...v.members.flatMap(([m, score]) => [score, m])]
  }
}

const isEmpty = (v: Value) => (v.type === "string" ? false : v.type === "hash" ? v.fields.length === 0 : v.type === "list" ? v.items.length === 0 : v.members.length === 0)

/** Replaces the key with `v`, keeping the instant it expires at; one MULTI. An empty collection deletes the key. */
export const write = async (s: Session, key: string, v: Value): Promise<void> => {
  const at = Number(await s.call(["PEXPIRETIME", key]))
  await s.call(["MULTI"])
  await s.call(["DEL", key])
  if (!isEmpty(v)) {
    await s.call(create(key, v))
    if (at > 0) await s.call(["PEXPIREAT", key, String(at)])
  }
  await s.call(["EXEC"])
}

/** Applies `f` to every byte string the value holds (zset scores stay). */
export const mapBytes = (v: Value, f: (b: Buffer) => Buffer): Value => {
  switch (v.type) {
    case "string":
      return { type: v.type, value: f(v.value) }
    case "hash":
      return { type: v.type, fields: v.fields.map(([k, x]) => [k, f(x)] as const) }
    case "list":
      return { type: v.type, items: v.items.map(f) }
    case "set":
      return { type: v.type, members: v.members.map(f) }
    case "zset":
      return { type: v.type, members: v.members.map(([m, score]) => [f(m), score] as const) }
  }
}

/** The value's bytes as one string of lines (what a type confusion leaves behind). */
export const flatten = (v: Value): Buffer => {
  const parts = v.type === "string" ? [v.value] : v.type === "hash" ? v.fields.flat() : v.type === "list" ? v.items : v.type === "set" ? v.members : v.members.map(([m]) => m)
  return Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from("\n"), p])))
}

const compare = (a: Buffer, b: Buffer) => Buffer.compare(a, b)

/**
 * SHA-256 (hex) of the key's type and content, independent of how Redis encodes it: a hash's
 * fields and a set's members sorted, a list in order, a zset in its own order with scores.
 * (DUMP is not: a set or hash in a hash table comes back from RESTORE in another order.) Types
 * faults do not read (streams, modules) are digested by their DUMP. Undefined when the key is gone.
 */
export const contentDigest = async (s: Session, key: string): Promise<string | undefined> => {
  const v = await read(s, key)
  const h = createHash("sha256")
  const part = (b: Buffer | string) => {
    const bytes = typeof b === "string" ? Buffer.from(b) : b
    h.update(`${bytes.length}:`).update(bytes)
  }
  if (v === undefined) {
    const type = String(await s.call(["TYPE", key]))
    if (type === "none") return undefined
    const dump = (await s.call(["DUMP", key], true)) as Buffer | null
    if (dump === null) return undefined
    part(type)
    part(dump)
    return h.digest("hex")
  }
  part(v.type)
  switch (v.type) {
    case "string":
      part(v.value)
      break
    case "hash":
      for (const [f, x] of [...v.fields].sort((a, b) => compare(a[0], b[0]))) {
        part(f)
        part(x)
      }
      break
    case "list":
      v.items.forEach(part)
      break
    case "set":
      ;[...v.members].sort(compare).forEach(part)
      break
    case "zset":
      for (const [m, score] of v.members) {
        part(m)
        part(score)
      }
      break
  }
  return h.digest("hex")
}
