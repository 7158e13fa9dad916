/**
 * Encrypt: ransomware against a data store. Every key in scope (or a sample) is replaced by an
 * AES-256-GCM ciphertext of its DUMP payload, keeping its expiry; a ransom note key may be left
 * too. Does the application notice, deny, alert — and does the team's restore path work?
 *
 * The compensation, `data.redis.encrypt`, restores the before-images; it does not decrypt. The
 * before-image is the exact state, verified key by key, whatever happened to the ciphertexts
 * meanwhile (an application overwriting or deleting them), while decrypting would depend on the
 * ciphertext still being there intact. So the key is never ledgered: it is made for the
 * injection and forgotten with it, like a real attacker's — only its fingerprint is in the
 * description.
 */
import { createCipheriv, createHash, randomBytes } from "node:crypto"
import type * as Fault from "../../../Fault.ts"
import type { Issue } from "../../../ShiftupError.ts"
import * as RedisFault from "../internal/fault.ts"
import { declare } from "../internal/kind.ts"
import { inScope } from "../internal/scope.ts"
import type { RedisTarget } from "../targets.ts"

/** Restores the keys an encryption replaced (and removes its ransom note) from their before-images. */
export const UndoEncrypt = declare("data.redis.encrypt")

export interface EncryptOptions extends RedisFault.CommonOptions {
  /** A key to leave a ransom note in (it must be in the target's scope); none by default. */
  readonly note?: string
}

/** What an encrypted value starts with: the format, then base64 of IV (12 bytes), tag (16) and ciphertext. */
export const encryptedPrefix = "shiftup-encrypted:v1:"

/**
 * Encrypts the values of the keys in scope (or a sample): each becomes a string holding the
 * AES-256-GCM ciphertext of the key's DUMP payload. `destroy`: lab targets only, and the budget
 * must allow a destroy step; rollback restores every key from its before-image.
 *
 * @example
 * Redis.encrypt(sessions, { note: "session:README" })
 */
export const encrypt = (target: RedisTarget, options: EncryptOptions = {}): Fault.Fault => {
  const issues: Array<Issue> = RedisFault.commonIssues(options)
  if (options.note !== undefined && !(typeof options.note === "string" && inScope(target.keys, options.note)))
    issues.push({ path: "note", message: `the ransom note key "${String(options.note)}" is not in the target's scope (${target.keys.join(", ")}): name a key the scope matches` })
  RedisFault.invalidOptions("encrypt", target, issues)
  return RedisFault.make({
    name: "encrypt",
    options,
    target,
    safety: "destroy",
    kind: UndoEncrypt,
    what: "encrypt (AES-256-GCM)",
    ...(options.note === undefined ? {} : { creates: [options.note] }),
    change: async (s, plan, ctx) => {
      const secret = randomBytes(32)
      const fingerprint = createHash("sha256").update(secret).digest("hex").slice(0, 16)
      for (const key of plan.keys) {
        if (key === options.note) continue
        const dump = (await s.call(["DUMP", key], true)) as Buffer | null
        if (dump === null) continue
        const iv = randomBytes(12)
        const cipher = createCipheriv("aes-256-gcm", secret, iv)
        const body = Buffer.concat([cipher.update(dump), cipher.final()])
        const value = `${encryptedPrefix}${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`
        const at = Number(await s.call(["PEXPIRETIME", key]))
        await s.call(["MULTI"])
        await s.call(["DEL", key])
        await s.call(["SET", key, value])
        if (at > 0) await s.call(["PEXPIREAT", key, String(at)])
        await s.call(["EXEC"])
      }
      if (options.note !== undefined)
        await s.call(["SET", options.note, `Your data has been encrypted (key ${fingerprint}). This is shiftup run ${ctx.runId}, a security chaos experiment: rolling it back restores every key.`])
    },
  })
}
