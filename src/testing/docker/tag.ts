/**
 * `docker tag` through the engine's API. `Engine` has no tag call, so this speaks the one
 * request it needs (`POST /images/{name}/tag`) to the engine's own address.
 */
import * as http from "node:http"
import { Effect } from "effect"
import type { Engine, EngineCallError } from "../../docker/Engine.ts"

const target = (address: string): http.RequestOptions => {
  if (address.startsWith("unix://")) return { socketPath: address.slice("unix://".length) }
  const url = new URL(address.replace(/^tcp:/, "http:"))
  return { host: url.hostname, port: Number(url.port || 2375) }
}

/** Tags image `image` (id or reference) as `repo:tag`. */
export const tagImage = (engine: Engine, image: string, repo: string, tag: string): Effect.Effect<void, EngineCallError> => {
  const op = `tag ${image} as ${repo}:${tag}`
  return Effect.tryPromise({
    try: (signal) =>
      new Promise<void>((resolve, reject) => {
        const req = http.request(
          { ...target(engine.address), method: "POST", path: `/images/${encodeURIComponent(image)}/tag?repo=${encodeURIComponent(repo)}&tag=${encodeURIComponent(tag)}`, signal, timeout: 10_000 },
          (res) => {
            let body = ""
            res.on("data", (c: Buffer) => (body += c.toString("utf8")))
            res.on("end", () => (res.statusCode !== undefined && res.statusCode < 300 ? resolve() : reject(Object.assign(new Error(body.trim()), { statusCode: res.statusCode ?? 0 }))))
          },
        )
        req.on("timeout", () => req.destroy(new Error("no answer within 10000 ms")))
        req.on("error", reject)
        req.end()
      }),
    catch: (e): EngineCallError => {
      const status = (e as { statusCode?: number }).statusCode ?? 0
      const code = (e as { code?: string }).code
      return { _tag: "EngineCallError", op, status, detail: e instanceof Error ? e.message : String(e), unreachable: status === 0 && code !== undefined }
    },
  })
}
