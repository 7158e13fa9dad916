/**
 * Reads a Chaos Toolkit experiment file: JSON, or YAML (`.yaml`/`.yml`, with the `yaml` package
 * loaded only then). A file that does not parse is a `LoadFailed` naming the file and the line.
 */
import { readFileSync } from "node:fs"
import { extname } from "node:path"
import { describeUnknown, fail, LoadFailed } from "../ShiftupError.ts"

/** Whether a file is a Chaos Toolkit experiment by its extension. */
export const isCtkFile = (file: string): boolean => [".json", ".yaml", ".yml"].includes(extname(file).toLowerCase())

export const readDocument = async (file: string): Promise<unknown> => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (e) {
    throw fail(new LoadFailed({ file, detail: describeUnknown(e) }))
  }
  if (extname(file).toLowerCase() === ".json") {
    try {
      return JSON.parse(text) as unknown
    } catch (e) {
      throw fail(new LoadFailed({ file, detail: `it is not valid JSON: ${describeUnknown(e)}` }))
    }
  }
  const { parse } = await import("yaml")
  try {
    return parse(text) as unknown
  } catch (e) {
    throw fail(new LoadFailed({ file, detail: `it is not valid YAML: ${describeUnknown(e)}` }))
  }
}
