/**
 * What the classifier sees of one container (`Facts`), and where its TCP ports answer from this
 * machine. Pure, over the model's `Container`: the targets of a run and the inventory both use it,
 * and neither needs the engine client to load for it.
 */
import type { Endpoint, Facts } from "../../Target.ts"
import type { Container } from "../model.ts"

const basename = (path: string) => path.slice(path.lastIndexOf("/") + 1)

/** What the classifier sees of one container. */
export const factsOf = (c: Container, options: { readonly local: boolean }): Facts => {
  const aliases = Object.values(c.networks).flatMap((n) => n.aliases)
  return {
    id: c.id,
    name: c.name,
    hostnames: [...new Set([c.hostname, ...aliases].filter((h) => h !== "" && !c.id.startsWith(h)))],
    labels: c.labels,
    env: c.env,
    image: c.image,
    ...(c.command[0] === undefined ? {} : { process: basename(c.command[0]) }),
    ports: c.exposedPorts,
    endpoints: endpointsOf(c, options.local),
  }
}

/**
 * Where each TCP port of a container answers from this machine: published on loopback (or on
 * every address), else — on a local engine — the container's own address on its first network.
 * Planning fingerprints these when passive signals do not decide (src/internal/discover.ts).
 */
const endpointsOf = (c: Container, local: boolean): ReadonlyArray<Endpoint> => {
  const published = c.publishedPorts.filter((p) => p.protocol === "tcp" && ["127.0.0.1", "0.0.0.0", "::", "::1", ""].includes(p.hostIp))
  const own = local ? Object.values(c.networks).map((n) => n.ipv4).find((ip) => ip !== "") : undefined
  return c.exposedPorts.flatMap((port): ReadonlyArray<Endpoint> => {
    const p = published.find((x) => x.containerPort === port)
    if (p !== undefined) return [{ host: p.hostIp === "::" || p.hostIp === "::1" ? "::1" : "127.0.0.1", port: p.hostPort, protocol: "tcp" }]
    return own === undefined ? [] : [{ host: own, port, protocol: "tcp" }]
  })
}
