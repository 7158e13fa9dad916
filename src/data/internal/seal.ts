/**
 * The ransomware faults' cipher: AES-256-GCM from node's crypto, a value becoming
 * `base64(iv ‖ tag ‖ ciphertext)` bound (as associated data) to where it was — table, column,
 * row — so a moved value never decrypts, and a value that still holds shiftup's ciphertext is
 * proven so by its tag. Engine-independent: every SQL engine stores the base64 text in the column.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { Schema } from "effect"

/** A key, or a ciphertext, as it is ledgered. */
export const Base64 = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9+/]+={0,2}$/, { message: "base64" }))

/** A fresh 256-bit key. */
export const newKey = (): Buffer => randomBytes(32)

/** What a ciphertext is bound to: the table, the column and the row's key. */
export const aadOf = (table: string, column: string, k: ReadonlyArray<string>): Buffer => Buffer.from(`${table}\u0000${column}\u0000${JSON.stringify(k)}`)

/** `plain` sealed under `key` for that place, as base64. */
export const seal = (key: Buffer, aad: Buffer, plain: string): string => {
  const iv = randomBytes(12)
  const cipher = createCipheriv("aes-256-gcm", key, iv)
  cipher.setAAD(aad)
  const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")
}

/** How many characters the base64 ciphertext of a value of `bytes` UTF-8 bytes takes. */
export const sealedLength = (bytes: number): number => 4 * Math.ceil((28 + bytes) / 3)

/** The plaintext when `text` is shiftup's ciphertext under `key` for that place; `undefined` otherwise. */
export const unseal = (key: Buffer, aad: Buffer, text: string): string | undefined => {
  const raw = Buffer.from(text, "base64")
  if (raw.length < 28 || raw.toString("base64") !== text) return undefined
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12))
    decipher.setAAD(aad)
    decipher.setAuthTag(raw.subarray(12, 28))
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8")
  } catch {
    // A tag that does not verify: not our ciphertext (or not for this place).
    return undefined
  }
}
