/** Recognises a journal value (the matchers accept only journals). */
import { schema, type Journal } from "../Journal.ts"

export const isJournal = (u: unknown): u is Journal =>
  typeof u === "object" && u !== null && (u as { schema?: unknown }).schema === schema && Array.isArray((u as { steps?: unknown }).steps)
