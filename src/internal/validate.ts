/** Schema decoding that reports every issue with a dotted path, for experiments and configs. */
import { Cause, Exit, Schema, SchemaIssue } from "effect"
import type { Issue } from "../ShiftupError.ts"

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

export const pathOf = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc === "" ? String(k) : `${acc}.${String(k)}`), "")

/** Every issue of `input` against `schema`; extra keys are an issue unless `excess: "ignore"` (open records). */
export const decodeAll = (schema: Schema.Top, input: unknown, options: { readonly excess?: "error" | "ignore" } = {}): ReadonlyArray<Issue> => {
  const exit = Schema.decodeUnknownExit(schema as Schema.Codec<unknown, unknown>)(input, { errors: "all", onExcessProperty: options.excess ?? "error" })
  if (Exit.isSuccess(exit)) return []
  const error = Cause.squash(exit.cause)
  if (!Schema.isSchemaError(error)) return [{ path: "", message: String(error) }]
  return formatter(error.issue).issues.map((i) => ({ path: pathOf((i.path ?? []).map((p) => (typeof p === "object" ? p.key : p))), message: i.message }))
}
