/**
 * The protocol fingerprint lives in the core (`src/internal/fingerprint.ts`), so planning can use it
 * for every target with a network endpoint without loading dockerode; the Docker adapter keeps
 * exporting it under the names its users know.
 */
export { type Contact, type Engine, fingerprint, type FingerprintOptions, type FingerprintResult } from "../internal/fingerprint.ts"
