/**
 * An asset's classification as the snapshot keeps it: the core classifier's verdict with each
 * signal as one readable line, so a person sees why, and a diff sees when the evidence moved.
 */
import type { Classification } from "../../internal/classify.ts"
import type { AssetClassification } from "../snapshot/model.ts"

export const summarise = (c: Classification): AssetClassification => ({
  environment: c.environment,
  effective: c.effective,
  signals: c.environmentSignals.map((s) => `${s.source} ${s.key}=${s.value} → ${s.means}`),
  dataStore: c.dataStore.is,
  ...(c.dataStore.engine === undefined ? {} : { engine: c.dataStore.engine }),
})
