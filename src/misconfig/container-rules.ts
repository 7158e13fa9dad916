/**
 * Container rules: the CIS Docker Benchmark v1.6.0 section 5 checks, and its 4.1 (user), 4.4 (image
 * rebuilt) and 4.6 (health check), that an engine's inspect data answers — read from the inventory's container
 * assets, so they run on a live engine, on a snapshot file, and during a fault alike.
 * docs/misconfig.md lists which CIS 5.x checks are covered and how the others are.
 */
import type { ContainerAsset } from "../inventory/snapshot/model.ts"
import { defineRule, when, type Rule, type RuleSpec } from "./model.ts"

const rule = (spec: RuleSpec<"container">): Rule => defineRule("container", spec)

/** Capabilities that give a container a way out or over its host (CIS 5.4 asks for a reviewed, minimal set). */
export const dangerousCapabilities: ReadonlyArray<string> = ["ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_BOOT", "SYS_TIME", "NET_ADMIN", "DAC_READ_SEARCH", "DAC_OVERRIDE", "BPF", "PERFMON", "MAC_ADMIN", "MAC_OVERRIDE", "SYSLOG", "SETFCAP"]

/** Host directories whose mount gives a container the host (CIS 5.6); the Docker socket has a rule of its own. */
export const sensitiveHostPaths: ReadonlyArray<string> = ["/", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/sys", "/usr", "/bin", "/sbin", "/root", "/var/lib/docker", "/run/containerd"]

const dockerSocket = /(^|\/)(docker|containerd|podman)\.sock$/
const rootUser = (user: string) => user === "" || /^(root|0)(:|$)/.test(user)
const normal = (path: string) => (path.length > 1 ? path.replace(/\/+$/, "") : path)
const bindSources = (c: ContainerAsset) => c.mounts.filter((m) => m.type === "bind")

export const containerRules: ReadonlyArray<Rule> = [
  rule({
    id: "container.privileged",
    title: "Container runs privileged",
    reads: ["privileges.privileged"],
    severity: "critical",
    rationale: "A privileged container has every capability, every device and no seccomp or AppArmor confinement: root in it is root on the host.",
    remediation: "Remove --privileged (privileged: true); add only the capabilities the process needs with --cap-add.",
    references: { cis: ["5.5"], cwe: ["CWE-250"] },
    check: (c) => when(c.privileges.privileged, "HostConfig.Privileged is true"),
  }),
  rule({
    id: "container.root-user",
    title: "Container process runs as root",
    reads: ["privileges.user"],
    severity: "medium",
    rationale: "A process running as uid 0 turns any escape or writable host mount into host root.",
    remediation: "Set a non-root USER in the image, or run with --user <uid>:<gid>.",
    references: { cis: ["4.1"], cwe: ["CWE-250"] },
    check: (c) => when(rootUser(c.privileges.user), c.privileges.user === "" ? "Config.User is empty (the image's default user, root)" : `Config.User is ${c.privileges.user}`),
  }),
  rule({
    id: "container.dangerous-capabilities",
    title: "Container adds dangerous Linux capabilities",
    reads: ["privileges.capAdd"],
    severity: "high",
    rationale: "Capabilities such as SYS_ADMIN, NET_ADMIN or SYS_PTRACE let a process reconfigure, inspect or escape to the host.",
    remediation: "Drop ALL and add back only what the process needs (--cap-drop ALL --cap-add NET_BIND_SERVICE).",
    references: { cis: ["5.4"], cwe: ["CWE-250"] },
    check: (c) => c.privileges.capAdd.filter((cap) => dangerousCapabilities.includes(cap)).map((cap) => `HostConfig.CapAdd has ${cap}`),
  }),
  rule({
    id: "container.docker-socket",
    title: "Container runtime socket mounted into the container",
    reads: ["mounts"],
    severity: "critical",
    rationale: "Whoever can write to the Docker socket can start a privileged container: the socket is root on the host.",
    remediation: "Do not mount the Docker socket; give the container a narrowly scoped API (a socket proxy allowing only the calls it needs).",
    references: { cis: ["5.32"], cwe: ["CWE-269"] },
    check: (c) => c.mounts.filter((m) => dockerSocket.test(m.source) || dockerSocket.test(m.destination)).map((m) => `${m.source} mounted at ${m.destination}${m.readWrite ? "" : " (read-only, still usable)"}`),
  }),
  ...(
    [
      ["network", "hostNetwork", "5.10", "the host's network stack: its interfaces, loopback services and the ability to bind any host port", "--network host"],
      ["pid", "hostPid", "5.16", "the host's processes: it can see and signal them, and read their environments", "--pid host"],
      ["ipc", "hostIpc", "5.17", "the host's shared memory and semaphores", "--ipc host"],
      ["uts", "hostUts", "5.21", "the host's hostname", "--uts host"],
    ] as const
  ).map(([ns, fact, cis, what, flag]) =>
    rule({
      id: `container.host-${ns}`,
      title: `Container shares the host's ${ns.toUpperCase()} namespace`,
      reads: [`privileges.${fact}`],
      severity: ns === "uts" ? "low" : "high",
      rationale: `Sharing the host's ${ns} namespace gives the container ${what}.`,
      remediation: `Remove ${flag}; give the container its own namespace.`,
      references: { cis: [cis], cwe: ["CWE-653"] },
      check: (c) => when(c.privileges[fact], `${flag} (the host's ${ns} namespace)`),
    }),
  ),
  rule({
    id: "container.sensitive-host-path",
    title: "Sensitive host directory mounted",
    reads: ["mounts"],
    severity: "high",
    rationale: "A host system directory inside a container (/, /etc, /proc, /sys, /dev…) lets it read or change the host's configuration and secrets.",
    remediation: "Mount only the application's own directories; never host system directories. If one is unavoidable, mount it read-only.",
    references: { cis: ["5.6"], cwe: ["CWE-668"] },
    check: (c) => bindSources(c).filter((m) => sensitiveHostPaths.includes(normal(m.source))).map((m) => `host ${normal(m.source)} mounted at ${m.destination} ${m.readWrite ? "read-write" : "read-only"}`),
  }),
  rule({
    id: "container.writable-rootfs",
    title: "Container root filesystem is writable",
    reads: ["privileges.readonlyRootfs"],
    severity: "low",
    rationale: "A writable root filesystem lets an intruder persist tools and change binaries; an immutable one limits what a compromise can change.",
    remediation: "Run with --read-only and mount writable tmpfs or volumes only where the application writes.",
    references: { cis: ["5.13"], cwe: ["CWE-732"] },
    check: (c) => when(!c.privileges.readonlyRootfs, "HostConfig.ReadonlyRootfs is false"),
  }),
  rule({
    id: "container.no-memory-limit",
    title: "No memory limit",
    reads: ["limits.memory"],
    severity: "medium",
    rationale: "Without a memory limit one container can exhaust the host's memory and take its neighbours down.",
    remediation: "Set --memory (deploy.resources.limits.memory) to the application's measured need plus headroom.",
    references: { cis: ["5.11"], cwe: ["CWE-770"] },
    check: (c) => (c.limits === undefined ? null : when(c.limits.memory === 0, "HostConfig.Memory is 0 (no limit)")),
  }),
  rule({
    id: "container.no-cpu-limit",
    title: "No CPU limit or share",
    reads: ["limits.nanoCpus", "limits.cpuQuota", "limits.cpuShares"],
    severity: "low",
    rationale: "Without a CPU limit or relative share, one busy container can starve the others on the host.",
    remediation: "Set --cpus (or --cpu-shares) for the container.",
    references: { cis: ["5.12"], cwe: ["CWE-770"] },
    check: (c) => (c.limits === undefined ? null : when(c.limits.nanoCpus === 0 && c.limits.cpuQuota <= 0 && c.limits.cpuShares === 0, "HostConfig.NanoCpus, CpuQuota and CpuShares are unset")),
  }),
  rule({
    id: "container.no-pids-limit",
    title: "No PIDs limit",
    reads: ["limits.pidsLimit"],
    severity: "medium",
    rationale: "Without a PIDs limit a fork bomb in one container exhausts the host's process table.",
    remediation: "Set --pids-limit (e.g. 256) for the container.",
    references: { cis: ["5.29"], cwe: ["CWE-770"] },
    check: (c) => (c.limits === undefined ? null : when(c.limits.pidsLimit <= 0, "HostConfig.PidsLimit is unset (no limit)")),
  }),
  rule({
    id: "container.port-all-interfaces",
    title: "Port published on every host interface",
    reads: ["ports.published"],
    severity: "medium",
    rationale: "A port published on 0.0.0.0 (or ::) is reachable from every network the host is on, not only the one meant to reach it.",
    remediation: "Publish on the one interface that should receive the traffic: -p 127.0.0.1:8080:80, or the internal interface's address.",
    references: { cis: ["5.14"], cwe: ["CWE-1327"] },
    // The live bindings; a stopped or created container's configured ones (it publishes them when it starts).
    check: (c) => [...new Set((c.ports.published.length > 0 ? c.ports.published : (c.ports.configured ?? [])).filter((p) => p.hostIp === "" || p.hostIp === "0.0.0.0" || p.hostIp === "::").map((p) => `${p.containerPort}/${p.protocol} published on ${p.hostIp === "" ? "0.0.0.0" : p.hostIp}:${p.hostPort === 0 ? "(a port the engine picks)" : p.hostPort}`))],
  }),
  rule({
    id: "container.privileged-host-port",
    title: "Privileged host port mapped",
    reads: ["ports.published"],
    severity: "low",
    rationale: "Host ports below 1024 are reserved for system services; mapping one makes a container impersonate one.",
    remediation: "Map the container to a host port of 1024 or above, behind the host's load balancer if needed.",
    references: { cis: ["5.8"], cwe: ["CWE-250"] },
    check: (c) => c.ports.published.filter((p) => p.hostPort > 0 && p.hostPort < 1024).map((p) => `${p.containerPort}/${p.protocol} mapped to host port ${p.hostPort}`),
  }),
  rule({
    id: "container.no-healthcheck",
    title: "No health check",
    reads: ["healthcheck"],
    severity: "low",
    rationale: "Without a health check the engine and the orchestrator cannot tell a hung service from a healthy one, and recovery experiments cannot either.",
    remediation: "Add a HEALTHCHECK to the image or --health-cmd to the container.",
    references: { cis: ["5.27", "4.6"], cwe: ["CWE-754"] },
    check: (c) => when(c.healthcheck === null, "no health check configured"),
  }),
  rule({
    id: "container.no-new-privileges",
    title: "no-new-privileges not set",
    reads: ["privileges.securityOpt"],
    severity: "medium",
    rationale: "Without no-new-privileges a setuid binary inside the container can raise a process's privileges.",
    remediation: "Run with --security-opt no-new-privileges (or the daemon's \"no-new-privileges\": true).",
    references: { cis: ["5.26"], cwe: ["CWE-250"] },
    // The engine applies the last `no-new-privileges[=bool]` given.
    check: (c) => {
      const last = c.privileges.securityOpt.filter((o) => /^no-new-privileges([:=]|$)/.test(o)).at(-1)
      return when(last === undefined || /[:=]false$/.test(last), last === undefined ? "SecurityOpt lacks no-new-privileges" : `SecurityOpt ends with ${last}`)
    },
  }),
  rule({
    id: "container.seccomp-unconfined",
    title: "Seccomp profile disabled",
    reads: ["privileges.securityOpt", "privileges.privileged"],
    severity: "high",
    rationale: "The default seccomp profile blocks about 44 system calls used to escape containers; unconfined removes that layer.",
    remediation: "Remove --security-opt seccomp=unconfined; if a call is missing, extend the default profile with only that call.",
    references: { cis: ["5.22"], cwe: ["CWE-693"] },
    check: (c) => when(c.privileges.securityOpt.some((o) => /^seccomp[:=]unconfined$/.test(o)), "SecurityOpt has seccomp=unconfined"),
  }),
  rule({
    id: "container.apparmor-unconfined",
    title: "AppArmor profile disabled",
    reads: ["privileges.securityOpt"],
    severity: "high",
    rationale: "The default AppArmor profile denies writes to /proc and /sys and mounts; unconfined removes that layer.",
    remediation: "Remove --security-opt apparmor=unconfined; use the default or an application-specific profile.",
    references: { cis: ["5.2"], cwe: ["CWE-693"] },
    check: (c) => when(c.privileges.securityOpt.some((o) => /^apparmor[:=]unconfined$/.test(o)), "SecurityOpt has apparmor=unconfined"),
  }),
  rule({
    id: "container.selinux-disabled",
    title: "SELinux confinement disabled",
    reads: ["privileges.securityOpt", "privileges.privileged", "privileges.hostPid", "privileges.hostIpc"],
    severity: "high",
    rationale: "On an SELinux host the engine labels each container so that its processes cannot touch the host's or other containers' files; label=disable or an unconfined type (spc_t, unconfined_t) removes that layer.",
    remediation: "Remove --security-opt label=disable (or label=type:spc_t); if a volume needs access, relabel it with :z or :Z instead.",
    references: { cis: ["5.3"], cwe: ["CWE-693"] },
    // The engine itself adds label=disable to a privileged container and to one sharing the host's PID or IPC namespace: their own rules report those.
    check: (c) => (c.privileges.privileged || c.privileges.hostPid || c.privileges.hostIpc ? [] : c.privileges.securityOpt.filter((o) => /^label[:=](disable|type:(spc_t|unconfined_t))$/.test(o)).map((o) => `SecurityOpt has ${o}`)),
  }),
  rule({
    id: "container.sshd",
    title: "Container runs an SSH server",
    reads: ["program"],
    severity: "medium",
    rationale: "An SSH daemon in a container is a second way in, with its own keys, passwords and patches to manage, that bypasses the engine's access control and audit.",
    remediation: "Remove the SSH server from the image; use docker exec (audited by the engine) to get a shell when one is needed.",
    references: { cis: ["5.7"], cwe: ["CWE-284"] },
    // The program the container starts, nothing more: a daemon a shell or supervisor starts later is only visible in the process list (docs/misconfig.md).
    check: (c) => (c.program === undefined ? null : when(/^(sshd|dropbear)$/.test(c.program), `the container starts ${c.program}`)),
  }),
  rule({
    id: "container.restart-policy",
    title: "Restart policy retries without limit",
    reads: ["restartPolicy", "restartMaxRetries"],
    severity: "low",
    rationale: "A container restarted forever (always, unless-stopped, on-failure without a maximum) can be crash-looped into a denial of service of its host, and hides the failure that should be investigated.",
    remediation: "Use --restart on-failure:5 (at most 5 retries), or no restart policy; let the orchestrator decide on anything beyond.",
    references: { cis: ["5.15"], cwe: ["CWE-400"] },
    check: (c) => {
      if (c.restartPolicy === "always" || c.restartPolicy === "unless-stopped") return [`RestartPolicy is ${c.restartPolicy}`]
      if (c.restartPolicy !== "on-failure") return []
      if (c.restartMaxRetries === undefined) return null
      return when(c.restartMaxRetries === 0 || c.restartMaxRetries > 5, `RestartPolicy is on-failure with ${c.restartMaxRetries === 0 ? "no maximum" : `a maximum of ${c.restartMaxRetries}`} retries (at most 5)`)
    },
  }),
  rule({
    id: "container.host-devices",
    title: "Host device exposed to the container",
    reads: ["devices"],
    severity: "medium",
    rationale: "A host device inside a container (a disk, /dev/mem, a GPU) is reached without the host's file permissions in the way: with write or mknod rights the container can read or change what the device holds.",
    remediation: "Do not pass host devices with --device; if one is needed, pass only that one, read-only (--device /dev/x:/dev/x:r).",
    references: { cis: ["5.18"], cwe: ["CWE-668"] },
    check: (c) => (c.devices === undefined ? null : c.devices.map((d) => `host ${d.host} as ${d.container} (${d.permissions || "rwm"})`)),
  }),
  rule({
    id: "container.ulimit-override",
    title: "Default ulimits overridden",
    reads: ["ulimits"],
    severity: "low",
    rationale: "The daemon's default ulimits are the host-wide limit on open files and processes per container; a per-container override can raise them and let one container exhaust the host.",
    remediation: "Remove --ulimit and set the limits once in the daemon (default-ulimits); override per container only where reviewed.",
    references: { cis: ["5.19"], cwe: ["CWE-770"] },
    check: (c) => (c.ulimits === undefined ? null : c.ulimits.map((u) => `--ulimit ${u.name}=${u.soft}:${u.hard}`)),
  }),
  rule({
    id: "container.mount-propagation-shared",
    title: "Mount with shared propagation",
    reads: ["mounts"],
    severity: "medium",
    rationale: "A shared mount propagates mounts made inside the container to the host and to every other mount of the same source.",
    remediation: "Remove the :shared/:rshared propagation option; the default (rprivate) keeps the container's mounts its own.",
    references: { cis: ["5.20"], cwe: ["CWE-668"] },
    check: (c) => c.mounts.filter((m) => m.propagation === "shared" || m.propagation === "rshared").map((m) => `${m.source} mounted at ${m.destination} with ${m.propagation ?? ""} propagation`),
  }),
  rule({
    id: "container.cgroup-parent",
    title: "Container placed under a non-default cgroup parent",
    reads: ["cgroupParent"],
    severity: "low",
    rationale: "A container under another parent cgroup escapes the limits and accounting set on the engine's own cgroup, and shares its parent's with whatever else runs there.",
    remediation: "Remove --cgroup-parent unless the parent's limits were reviewed for this container.",
    references: { cis: ["5.25"], cwe: ["CWE-770"] },
    check: (c) => (c.cgroupParent === undefined ? null : when(c.cgroupParent !== "", `HostConfig.CgroupParent is ${c.cgroupParent}`)),
  }),
  rule({
    id: "container.default-bridge",
    title: "Container on the default bridge network (docker0)",
    reads: ["networks"],
    severity: "low",
    rationale: "Every container on the default bridge can reach every other one on it (and ARP-spoof it); a user-defined network isolates one application's containers from the others'.",
    remediation: "Create a network per application (docker network create app) and attach the container to it with --network app.",
    references: { cis: ["5.30"], cwe: ["CWE-653"] },
    check: (c) => when(c.networks.some((n) => n.name === "bridge"), "attached to the default bridge network"),
  }),
  rule({
    id: "container.host-userns",
    title: "Container shares the host's user namespace",
    reads: ["privileges.hostUserns"],
    severity: "medium",
    rationale: "With --userns host, root in the container is root on the host even where the daemon remaps users, so an escape lands as host root.",
    remediation: "Remove --userns host; keep the daemon's userns-remap for this container.",
    references: { cis: ["5.31"], cwe: ["CWE-653"] },
    check: (c) => (c.privileges.hostUserns === undefined ? null : when(c.privileges.hostUserns, "--userns host (the host's user namespace)")),
  }),
  rule({
    id: "container.secret-in-env",
    title: "Secret in an environment variable",
    reads: ["env"],
    severity: "high",
    rationale: "Environment variables are readable by anyone who can inspect the container, leak into logs, crash reports and child processes.",
    remediation: "Pass secrets as files (Docker secrets, a mounted tmpfs) or fetch them from a secret manager at start; rotate the exposed ones.",
    references: { cwe: ["CWE-526", "CWE-798"], asvs: ["V6.4.1", "V2.10.4"] },
    // Names and what was judged at read time only: the values were never stored.
    check: (c) =>
      c.env === undefined
        ? null
        : c.env.filter((v) => !v.empty && (v.secretName || v.highEntropy)).map((v) => `${v.name} (${[v.secretName ? "secret-like name" : "", v.highEntropy ? "random-looking value" : ""].filter((s) => s !== "").join(", ")}; value not shown)`),
  }),
  rule({
    id: "container.image-age",
    title: "Image older than the profile allows",
    reads: ["image.created"],
    severity: "medium",
    rationale: "An old image carries the vulnerabilities fixed since it was built; rebuilding regularly is how base-image fixes arrive.",
    remediation: "Rebuild the image on a current base and redeploy; automate rebuilds.",
    references: { cis: ["4.4", "5.28"], cwe: ["CWE-1104"] },
    check: (c, { profile, now }) => {
      if (c.image.created === "") return null
      const days = Math.floor((now.getTime() - Date.parse(c.image.created)) / 86_400_000)
      return when(days > profile.maxImageAgeDays, `image ${c.image.ref} built ${days} days ago (profile ${profile.name} allows ${profile.maxImageAgeDays})`)
    },
  }),
]
