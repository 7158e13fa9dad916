/**
 * The Docker engine as an Effect service, `DockerEngine`: a narrow, typed interface over
 * dockerode (which ships no types). Every call has a deadline, and an engine that is down or
 * unreachable fails with `EngineUnavailable` naming the address, so a run stops at plan time with
 * nothing injected.
 *
 * The service is a `Context.Reference`: without a layer, the engine comes from `DOCKER_HOST` or
 * the default socket; `Engine.layer({ socketPath })` provides another one and owns its client.
 *
 * @example
 * Runner.run(experiment).pipe(Effect.provide(Docker.Engine.layer({ socketPath: "/run/user/1000/docker.sock" })))
 * Effect.provideService(Docker.DockerEngine, Docker.Engine.make({ timeoutMs: 5000 }))
 */
import { Effect, Layer } from "effect"
import { addressOf, at, DockerEngine, makeClient } from "./internal/client.ts"
import type { EngineOptions } from "./model.ts"

export type { Container, ContainerState, ContainerSummary, CreateSpec, DockerEvent, Endpoint, EngineOptions, ImageDetails, ImageInfo, Mount, NetworkInfo, Privileges, PublishedPort, Resources } from "./model.ts"
export { addressOf, at, DockerEngine }
export { EngineCallError } from "./internal/call-error.ts"

/** A client for the engine at these options (`DOCKER_HOST` or the default socket when empty). */
export const make = (options: EngineOptions = {}): DockerEngine => makeClient(addressOf(options), options.timeoutMs ?? 10_000)

/** A layer with its own client, closed when the layer is released. */
export const layer = (options: EngineOptions = {}): Layer.Layer<never> =>
  Layer.effect(DockerEngine, Effect.acquireRelease(Effect.sync(() => make(options)), (e) => Effect.sync(() => e.close())))

/**
 * The engine service under its first name (`Docker.Engine.Engine`).
 *
 * @deprecated Use `DockerEngine` (`Docker.DockerEngine`); the service and the client type are the same.
 */
export const Engine = DockerEngine
/** @deprecated Use `DockerEngine`. */
export type Engine = DockerEngine
