/**
 * Before-images: what a key was before a fault, exactly — its DUMP payload (type, value, encoding
 * and Redis's own checksum, opaque and version-stamped), a digest of its content independent of
 * the encoding, and the absolute instant it expires (PEXPIRETIME, so a restore puts back the same
 * deadline, not a fresh TTL). A key that did not exist has no payload: restoring it deletes it.
 * Restoring is RESTORE … REPLACE ABSTTL, which is idempotent; verifying compares the content
 * digest and the expiry instant — not DUMP bytes, which differ after a RESTORE for a set or hash
 * kept in a hash table (its iteration order changes).
 */
import type { Session } from "./client.ts"
import { contentDigest } from "./values.ts"

export interface Image {
  readonly key: string
  /** The DUMP payload as base64; null when the key did not exist. */
  readonly dump: string | null
  /** SHA-256 (hex) of the key's type and content, whatever its encoding; null when it did not exist. */
  readonly content: string | null
  /** Epoch milliseconds the key expires at; -1 when it has no expiry (or did not exist). */
  readonly expireAt: number
}

/** The key's image now. */
export const imageOf = async (s: Session, key: string): Promise<Image> => {
  const dump = (await s.call(["DUMP", key], true)) as Buffer | null
  const content = dump === null ? undefined : await contentDigest(s, key)
  if (dump === null || content === undefined) return { key, dump: null, content: null, expireAt: -1 }
  const at = Number(await s.call(["PEXPIRETIME", key]))
  return { key, dump: dump.toString("base64"), content, expireAt: at >= 0 ? at : -1 }
}

/** Puts `image` back: RESTORE … REPLACE (ABSTTL when it expires), or DEL when it did not exist. Idempotent. */
export const restoreImage = async (s: Session, image: Image): Promise<void> => {
  if (image.dump === null) {
    await s.call(["DEL", image.key])
    return
  }
  const payload = Buffer.from(image.dump, "base64")
  // An expiry already past: RESTORE with that ABSTTL deletes the key, as Redis itself would have.
  await s.call(image.expireAt >= 0 ? ["RESTORE", image.key, String(image.expireAt), payload, "REPLACE", "ABSTTL"] : ["RESTORE", image.key, "0", payload, "REPLACE"])
}

/** What differs between `image` and the key now (one phrase), or undefined when it is the same. */
export const differs = async (s: Session, image: Image, now: number): Promise<string | undefined> => {
  const current = await imageOf(s, image.key)
  const expired = image.expireAt >= 0 && image.expireAt <= now
  if (image.dump === null || expired) return current.dump === null ? undefined : `${image.key} exists but ${image.dump === null ? "did not before the fault" : "should have expired"}`
  if (current.dump === null) return `${image.key} is missing`
  if (current.content !== image.content) return `${image.key} has another type or value`
  if (current.expireAt !== image.expireAt) return `${image.key} expires at ${current.expireAt < 0 ? "never" : new Date(current.expireAt).toISOString()} instead of ${image.expireAt < 0 ? "never" : new Date(image.expireAt).toISOString()}`
  return undefined
}

/** Bytes of the payloads an image list holds. */
export const bytesOf = (images: ReadonlyArray<Image>): number => images.reduce((n, i) => n + (i.dump === null ? 0 : Math.floor((i.dump.length * 3) / 4)), 0)
