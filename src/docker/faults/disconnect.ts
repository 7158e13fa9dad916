/**
 * Disconnect: the target's containers leave a Docker network — that interface, its address and
 * their DNS names (aliases) on it. Its compensation, `docker.reconnect`, connects each one again
 * with its original endpoint settings.
 */
import { Effect, Schema } from "effect"
import { fail, InjectionFailed, RollbackFailed } from "../../ShiftupError.ts"
import * as DockerFault from "../internal/fault.ts"
import type { FaultOptions } from "../internal/fault.ts"
import { ContainerId, declare, StringMap, Strings } from "../internal/kind.ts"
import type { Container, Endpoint, EngineCallError } from "../model.ts"
import type { ContainerTarget } from "../targets.ts"

const short = (id: string) => id.slice(0, 12)

/** One container's endpoint on the network, as it was before the disconnect. */
const SavedEndpoint = Schema.Struct({
  container: ContainerId,
  name: Schema.String,
  network: Schema.String,
  networkId: Schema.String,
  aliases: Strings,
  links: Strings,
  ipamIpv4: Schema.String,
  ipamIpv6: Schema.String,
  driverOpts: StringMap,
})

type Saved = typeof SavedEndpoint.Type

const connectedTo = (x: Container, saved: Saved) => Object.entries(x.networks).find(([name, e]) => e.networkId === saved.networkId || name === saved.network)?.[1]

/** Connects each container again with its saved endpoint; one already connected, or removed since, is left alone. */
export const Reconnect = declare({
  kind: "docker.reconnect",
  fields: { endpoints: Schema.Array(SavedEndpoint) },
  undo: (r, engine) =>
    DockerFault.eachOf(r.endpoints, (saved) =>
      Effect.gen(function* () {
        const id = saved.container
        const now = yield* DockerFault.current(engine, id)
        // Removed since, or already connected (a second replay, or someone reconnected it): nothing to do.
        if (now === undefined || connectedTo(now, saved) !== undefined) return
        const endpoint: Endpoint = { networkId: saved.networkId, aliases: saved.aliases, links: saved.links, ipv4: "", ipamIpv4: saved.ipamIpv4, ipamIpv6: saved.ipamIpv6, driverOpts: saved.driverOpts }
        const attempt = (net: string) => engine.connect(net, id, endpoint)
        yield* attempt(saved.networkId).pipe(
          // The network may have been re-created under the same name: try the name.
          Effect.catchIf((e) => e.status === 404 && saved.network !== "", () => attempt(saved.network)),
          Effect.catch((e: EngineCallError) =>
            Effect.gen(function* () {
              // Connected meanwhile (a concurrent replay) or removed: done. Otherwise it failed.
              const after = yield* DockerFault.current(engine, id)
              if (after === undefined || connectedTo(after, saved) !== undefined) return
              return yield* Effect.fail(e.unreachable ? e : fail(new RollbackFailed({ fault: r.kind, target: r.target, detail: `cannot reconnect ${saved.name || short(id)} to ${saved.network}: ${e.op}: ${e.detail}` })))
            }),
          ),
        )
      }),
    ),
  verify: (r, engine) =>
    DockerFault.differences(r.endpoints, (saved) =>
      DockerFault.current(engine, saved.container).pipe(
        Effect.map((now) => {
          if (now === undefined) return undefined
          const { name, network } = saved
          const e = connectedTo(now, saved)
          if (e === undefined) return `${name} is not connected to ${network}`
          const missing = saved.aliases.filter((a) => !e.aliases.includes(a))
          if (missing.length > 0) return `${name} lacks the aliases ${missing.join(", ")} on ${network}`
          if (saved.ipamIpv4 !== e.ipamIpv4 || saved.ipamIpv6 !== e.ipamIpv6) return `${name} has other static addresses on ${network}`
          return undefined
        }),
      ),
    ),
  // A disconnect takes some 60 ms on the engine.
  settleMs: 2000,
})

export interface DisconnectOptions extends FaultOptions {
  /** The network's name or id (a unique id prefix works too). */
  readonly network: string
}

const endpointOn = (c: Container, network: string): readonly [string, Endpoint] | undefined =>
  Object.entries(c.networks).find(([name, e]) => name === network || e.networkId === network || (network.length >= 12 && e.networkId.startsWith(network)))

/**
 * Disconnects the target's containers from a Docker network: they lose that interface, its
 * address and their DNS names (aliases) on it. Rollback reconnects each container that is not
 * connected again with its original endpoint settings: aliases (without the short container id
 * Docker adds by itself), links, static IPv4/IPv6 addresses and driver options. The interface
 * may come back under another name (`eth1`).
 *
 * @example
 * Docker.disconnect(auth, { network: "shop_backend" })
 */
export const disconnect = (target: ContainerTarget, options: DisconnectOptions) => {
  DockerFault.invalidOptions("disconnect", options.network.trim() === "" ? [{ path: "network", message: "name the network to disconnect from" }] : [])
  const id = options.id ?? `disconnect ${target.id} from ${options.network}`
  return DockerFault.make({
    id,
    title: `disconnect ${target.id} from network ${options.network}`,
    target,
    kind: Reconnect,
    capture: (list) =>
      Effect.gen(function* () {
        const endpoints: Array<Saved> = []
        for (const c of list) {
          const found = endpointOn(c, options.network)
          if (found === undefined) return yield* Effect.fail(fail(new InjectionFailed({ fault: id, target: target.id, detail: `container ${c.name} is not connected to network ${options.network} (it is on ${Object.keys(c.networks).join(", ") || "no network"})` })))
          const [name, e] = found
          endpoints.push({
            container: c.id,
            name: c.name,
            network: name,
            networkId: e.networkId,
            // Docker adds the short id as an alias by itself on every connect.
            aliases: e.aliases.filter((a) => a !== short(c.id)),
            links: [...e.links],
            ipamIpv4: e.ipamIpv4,
            ipamIpv6: e.ipamIpv6,
            driverOpts: { ...e.driverOpts },
          })
        }
        const aliases = [...new Set(endpoints.flatMap((e) => e.aliases))]
        return {
          record: {
            description: `reconnect ${DockerFault.names(list)} to network ${options.network}${aliases.length === 0 ? "" : ` with aliases ${aliases.join(", ")}`}, their links, static addresses and driver options (a container already connected or removed is left alone)`,
            endpoints,
          },
        }
      }),
    inject: (list, engine) =>
      DockerFault.eachOf(list, (c) => {
        const found = endpointOn(c, options.network)
        return found === undefined ? Effect.void : engine.disconnect(found[1].networkId, c.id)
      }),
  })
}
