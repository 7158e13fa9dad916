/**
 * The inventory's costs: a snapshot of 200 real containers (created by the bench from the local
 * busybox image, labelled with the bench's run, removed after) beside the plain
 * `docker ps -q | xargs docker inspect` of the same containers; the incremental snapshot that
 * follows it; and a connect scan of 1,024 loopback ports with 200 connections in flight (beside
 * `nmap -sT` when nmap is installed).
 */
import { execFileSync, execSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { Effect } from "effect"
import * as Engine from "../src/docker/engine.ts"
import * as Inventory from "../src/inventory/index.ts"
import { ensureImageMap } from "../src/testing/docker/images.ts"
import { median, type Line, type Section } from "./lib.ts"

const count = 200
const rounds = 3

const time = async (f: () => Promise<unknown> | unknown): Promise<number> => {
  const t0 = performance.now()
  await f()
  return performance.now() - t0
}

const has = (bin: string) => {
  try {
    execFileSync("which", [bin], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

export const inventorySection: Section = {
  name: "inventory",
  title: `snapshot of ${count} real containers vs docker inspect; connect scan of 1,024 loopback ports`,
  run: async () => {
    const runId = `bench-inv-${randomBytes(4).toString("hex")}`
    const label = `shiftup.run=${runId}`
    const engine = Engine.make()
    const lines: Array<Line> = []
    try {
      const image = (await Effect.runPromise(ensureImageMap(engine, { only: ["busybox"] }))).busybox ?? ""
      // Created, not started: what an inventory reads is the same, and 200 starts would dominate the bench.
      execSync(`seq ${count} | xargs -P 4 -I{} docker create --label ${label} --label owner=bench --name ${runId}-{} -p 127.0.0.1::80 ${image} sleep 3600 > /dev/null`, { stdio: ["ignore", "ignore", "inherit"] })
      const take = (previous?: Inventory.Snapshot) => Effect.runPromise(Inventory.snapshot({ docker: { labels: [label] }, ...(previous === undefined ? {} : { previous }) }))
      const first = await take()
      if (first.assets.length !== count) throw new Error(`the snapshot saw ${first.assets.length} containers, not ${count}`)
      const ours: Array<number> = []
      const plain: Array<number> = []
      for (let i = 0; i < rounds; i++) {
        ours.push(await time(() => take()))
        plain.push(await time(() => execSync(`docker ps -aq --filter label=${label} | xargs docker inspect > /dev/null`)))
      }
      const incremental = median(await Promise.all([0, 1, 2].map(() => time(() => take(first)))))
      lines.push(
        { name: "inventory.docker_200_ms", value: median(ours), digits: 0, note: `median of ${rounds} snapshots of ${count} containers (list, inspect ×${count} at 16 in flight, image inspect); aim < 3000` },
        { name: "inventory.docker_200_inspect_cli_ms", value: median(plain), digits: 0, note: "docker ps -aq --filter … | xargs docker inspect, same containers" },
        { name: "inventory.docker_200_ratio_inspect", value: median(ours) / median(plain), note: "aim ≤ 1.5" },
        { name: "inventory.docker_200_incremental_ms", value: incremental, digits: 0, note: "the next snapshot given the previous one: list, events since, nothing re-inspected" },
      )
    } finally {
      execSync(`docker ps -aq --filter label=${label} | xargs -r docker rm -f > /dev/null`)
      engine.close()
    }
    const targets = Array.from({ length: 1024 }, (_, i) => ({ address: "127.0.0.1", port: 40_000 + i, pace: "127.0.0.1" }))
    const scans: Array<number> = []
    let open = 0
    for (let i = 0; i < rounds; i++) scans.push(await time(async () => (open = (await Inventory.scan(targets, { concurrency: 200 })).filter((s) => s === "open").length)))
    lines.push({ name: "inventory.scan_1024_ports_ms", value: median(scans), digits: 1, note: `connect scan of 127.0.0.1:40000-41023, 200 in flight, median of ${rounds} (${open} open)` })
    if (has("nmap")) {
      const nmap = median(await Promise.all([0].map(() => time(() => execSync("nmap -sT -n -Pn -p 40000-41023 --max-parallelism 200 127.0.0.1 > /dev/null")))))
      lines.push({ name: "inventory.scan_ratio_nmap", value: median(scans) / nmap, note: `nmap -sT of the same ports: ${nmap.toFixed(0)} ms` })
    } else lines.push({ name: "inventory.scan_ratio_nmap", value: "n/a", note: "nmap is not installed" })
    return lines
  },
}
