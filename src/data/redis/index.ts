/** The redis data adapter (in progress). */
import type { Compensators } from "../../Compensation.ts"

/** The compensators of this engine's data faults, by kind. */
export const compensators: Compensators = {}
