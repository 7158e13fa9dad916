/**
 * The Redis client as an Effect service (`RedisClient`): how every Redis fault, probe and
 * compensator opens a connection. The default connects with the `redis` package (imported at the
 * first connection, one short-lived connection per operation); provide another — a client of
 * your own, a counting wrapper in a test — with `layer` or `Effect.provideService`.
 *
 * @example
 * import { Effect } from "effect"
 * Runner.run(experiment).pipe(Effect.provide(Data.Redis.Client.layer(myClient)))
 */
import { Layer } from "effect"
import { RedisClient } from "./internal/client.ts"

export { RedisCallError, RedisClient, type Session, withSession } from "./internal/client.ts"
export type { Connection } from "../internal/connection.ts"

/** A layer providing `client` as the `RedisClient`. */
export const layer = (client: RedisClient): Layer.Layer<never> => Layer.succeed(RedisClient, client)
