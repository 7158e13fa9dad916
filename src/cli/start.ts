/**
 * The CLI's first stage: parses the arguments and answers what needs no library — `--version`,
 * `--help`, a missing or unknown command, a malformed option — in about the time Node takes to
 * start; only a real command loads the library (`./main.ts`, and through it Effect). It imports
 * nothing but `node:util`, the version and the "did you mean" helper: keep it that way
 * (`npm run bench -- cli` measures `cli.version_ms` against a bare `node -e 0`).
 */
import { parseArgs } from "node:util"
import { closest } from "../internal/suggest.ts"
import { version } from "../version.ts"

export const help = `shiftup ${version} — security chaos experiments

Usage:
  shiftup init [--url <url> | --container <name>] [--environment <env>] [--force]
                                              scaffold shiftup.config.ts, an experiment (against
                                              your URL or container, else the demo lab), a vitest
                                              test and npm scripts in this project
  shiftup lab                                 run the embedded demo lab on loopback until Ctrl-C
                                              (SHIFTUP_LAB_PORT moves it)
  shiftup run <files or folders…> [options]   run experiments: inject, probe, assert, roll back
                                              (a .json/.yaml file: a Chaos Toolkit experiment,
                                              see docs/chaostoolkit.md)
  shiftup plan <files or folders…> [options]  dry run: targets, environments, decisions, faults,
                                              compensations and budget use; touches nothing
  shiftup recover [ledger files…] [options]   replay compensations a crashed run left pending
  shiftup report <journal files or folders…> --format <formats> [--out <dir>]
                                              render journals: html, junit, sarif, md
  shiftup halt [reason…] [--clear]            emergency stop: every run of yours aborts and
                                              rolls back; --clear lets runs start again
  shiftup pause | shiftup resume              hold every run of yours before its next step
                                              (faults stay, within their fault time) / continue
                                              (control dir: $SHIFTUP_CONTROL_DIR, config
                                              controlDir, or ~/.local/state/shiftup/control)
  shiftup import ctk <file> [--out <file.ts>] write a Chaos Toolkit experiment as a TypeScript
                                              experiment (stdout without --out)
  shiftup reap [--run <id> | --all] [--force] remove containers, networks and images labelled
                                              shiftup.run of runs that are over (Docker): the
                                              runs in --state-dir, one run, or all of them
  shiftup vulns --osv <dir> (--image <ref>… | --sbom <file>…) [--format text|json|sarif]
                [--out <file>] [--fail-on <severity>]
                                              vulnerable components: packages of images (read,
                                              never run) and SBOMs against local OSV advisories;
                                              exit 1 on a finding at/above --fail-on (default any)
  shiftup inventory [--docker] [--endpoints <host:port,host,cidr…>] [--ports <list>]
                    [--observe-production] [--previous <snapshot>] [--out <file>] [--json]
                    [--packages] [--osv <dir>] [--check [--profile <name>] [--format text|json|sarif]
                    [--report <formats, dir/ or files>]] [--fail-on <severity>]
                                              snapshot what runs (Docker containers, endpoints
                                              inside the egress allowlist); default: the
                                              config's \`inventory\` section; --packages reads
                                              each image's packages, --osv matches them;
                                              --check: then the misconfiguration rules
  shiftup inventory diff <old> <new> [--json] what changed between two snapshots; exit 1 when
                                              a configured "must not happen" rule matched
  shiftup misconfig [--snapshot <file> | --docker] [--profile <name>]
                    [--format text|json|sarif] [--out <file>] [--fail-on <severity>]
                    [--report <formats, dir/ or files>]
                                              misconfiguration rules (CIS Docker, TLS, data
                                              stores) under an environment profile; exit 1 on
                                              a blocking finding
  shiftup profiles                            the environment profiles and their parameters
  shiftup watch [--log json|human]            run the config's \`watch\` jobs (observe-only) on
                                              their schedules until SIGTERM/SIGINT; findings go
                                              to the store, /healthz and /metrics on 127.0.0.1
  shiftup findings [--format text|json|sarif|html] [--out <file>]  the open findings of the watch store
  shiftup findings accept <fingerprint> --until <date> <reason…>
                                              accept a finding's risk until a date (then it
                                              reopens)
  shiftup feedback <fingerprint> | --new-since <date|24h> [--out <dir>] [--vitest] [--force]
                                              write a regression experiment per finding: the
                                              same check against the non-production target the
                                              config's \`feedback.map\` maps its target to
  shiftup promote <file> (--every <5m> | --cron <expr>) [--name <job>] [--force]
                                              add an observe-only experiment to the watch's
                                              jobs file (shiftup.watch-jobs.json); refused
                                              (exit 2) when a step is not observe-class

Options:
  --journal <path>    where to write the journal (one experiment) or the prefix (several);
                      default .shiftup/journals/<run id>.json
  --config <path>     configuration file; default ./shiftup.config.ts if present
  --environment <env> run/plan/import: the environment of a Chaos Toolkit experiment's
                      targets (production, staging, development, lab); the most restrictive
                      of this, its \`shiftup_environment\` configuration and its
                      \`environment:<env>\` tags wins
  --tag <tag>         only experiments with this tag (repeatable: any of them)
  --state-dir <dir>   where ledgers and journals live; default .shiftup
  --force             recover: also replay ledgers whose runner still seems alive;
                      feedback: overwrite existing files; promote: replace a job of that name;
                      reap: also remove objects of runs that still seem alive
  --watchdog          run: start a detached dead-man switch first; if this process dies
                      (even by SIGKILL) it rolls back from the ledger within a second
  --run <id>          reap: only this run's objects (even if it seems alive)
  --all               reap: every object labelled shiftup.run on the engine, not only
                      the runs of this state directory
  --report <formats>  run/plan: also write reports (html,junit,sarif,md) into --out;
                      misconfig, inventory --check: formats (into <state dir>/reports),
                      a directory/ (html, junit, sarif) or files (.html, .xml, .sarif, .md)
  --out <dir>         where reports go; default <state dir>/reports (report: stdout
                      when a single format is given)
  --format <formats>  report: the formats to render (html,junit,sarif,md);
                      vulns, findings: text (default), json or sarif
  --log <format>      watch: human (default on a terminal) or json (JSON lines)
  --until <date>      findings accept: when the acceptance expires (ISO date or time)
  --new-since <when>  feedback: every open finding first seen (or regressed) since an ISO
                      date or time, or a duration back from now (24h, 7d)
  --vitest            feedback: also write a vitest file (shiftup/vitest) per experiment
  --every <interval>  promote: the job's interval (5m, 1h, "30 seconds")
  --cron <expr>       promote: the job's cron expression instead
  --name <job>        promote: the job's name (default: from the experiment id)
  --osv <dir>         vulns: a directory of OSV advisories (*.json, unzipped exports)
  --image <ref>       vulns: an image to read packages from (repeatable)
  --sbom <file>       vulns: a CycloneDX or SPDX JSON SBOM (repeatable)
  --fail-on <level>   vulns: exit 1 only for findings at or above critical, high,
                      medium, low or none; misconfig: at or above critical, high, medium,
                      low or info (default: the profile's failOn and mandatory rules;
                      no profile named: any finding)
  --snapshot <file>   misconfig: an inventory snapshot (shiftup inventory --out) to check
  --profile <name>    misconfig, run, plan: the environment profile for every asset or
                      target (web, healthcare, payments, internal or the config's), over
                      the config's choices; in a run its fault classes and probe rate apply
  --approve <step>    run: ask on the terminal before this step (repeatable; \`faults\`
                      for every fault, \`all\` for every step); declined → abort, rollback
  -y, --yes           run: approve every approval gate (CI)
  --step <id>         run/plan: only this method step (repeatable); hypothesis and
                      recovery still run
  --seed <n>          run: the seed of a property's schedules (default random, printed)
  --replay <seed:path>
                      run: replay a property's counterexample exactly (the line it printed)
  -h, --help          this help
  -v, --version       print the version

Exit codes:
  0 every check held, rollback complete     3 aborted (stop condition, timeout, signal), rolled back
  1 a defence failed: a finding              4 invalid input (experiment, config, arguments)
  2 refused by the safety policy, untouched  5 ROLLBACK INCOMPLETE: run \`shiftup recover\`
`

const options = {
  journal: { type: "string" },
  config: { type: "string" },
  tag: { type: "string", multiple: true },
  "state-dir": { type: "string" },
  force: { type: "boolean" },
  report: { type: "string", multiple: true },
  out: { type: "string" },
  format: { type: "string", multiple: true },
  approve: { type: "string", multiple: true },
  yes: { type: "boolean", short: "y" },
  clear: { type: "boolean" },
  step: { type: "string", multiple: true },
  seed: { type: "string" },
  replay: { type: "string" },
  watchdog: { type: "boolean" },
  all: { type: "boolean" },
  run: { type: "string" },
  pid: { type: "string" },
  url: { type: "string" },
  container: { type: "string" },
  environment: { type: "string" },
  osv: { type: "string" },
  image: { type: "string", multiple: true },
  sbom: { type: "string", multiple: true },
  "fail-on": { type: "string" },
  docker: { type: "boolean" },
  endpoints: { type: "string", multiple: true },
  ports: { type: "string" },
  "observe-production": { type: "boolean" },
  previous: { type: "string" },
  packages: { type: "boolean" },
  snapshot: { type: "string" },
  check: { type: "boolean" },
  profile: { type: "string" },
  json: { type: "boolean" },
  log: { type: "string" },
  until: { type: "string" },
  "new-since": { type: "string" },
  vitest: { type: "boolean" },
  every: { type: "string" },
  cron: { type: "string" },
  name: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const

const parse = (argv: ReadonlyArray<string>) => parseArgs({ args: [...argv], allowPositionals: true, strict: true, options })

export type Args = ReturnType<typeof parse>

/** The commands of the help; `watchdog` is started by `run --watchdog`, not by people. */
const commands = ["init", "lab", "run", "plan", "recover", "report", "halt", "pause", "resume", "reap", "import", "vulns", "inventory", "misconfig", "profiles", "watch", "findings", "feedback", "promote"] as const

/** Exit code 4, `Journal.exitCodes.invalid`, named here without loading the Journal (and Effect). */
const invalid = 4

/** What the arguments ask for: an answer ready to print, or a command to load the library for. */
export type First =
  | { readonly _tag: "Answer"; readonly code: number; readonly out?: string; readonly err?: string }
  | { readonly _tag: "Command"; readonly command: string; readonly rest: ReadonlyArray<string>; readonly args: Args }

// The same words as `InvalidArguments`' message, which this stage cannot load.
const usage = (detail: string): First => ({ _tag: "Answer", code: invalid, err: `shiftup: ${detail}; see \`shiftup --help\`\n` })

export const first = (argv: ReadonlyArray<string>): First => {
  let args: Args
  try {
    args = parse(argv)
  } catch (e) {
    return usage((e as Error).message.replace(/\. To specify.*$/s, ""))
  }
  if (args.values.version === true) return { _tag: "Answer", code: 0, out: `${version}\n` }
  const [command, ...rest] = args.positionals
  if (args.values.help === true || command === "help") return { _tag: "Answer", code: 0, out: help }
  if (command === undefined) return { _tag: "Answer", code: invalid, err: `shiftup: no command given; use run, plan or recover\n\n${help}` }
  if (command !== "watchdog" && !(commands as ReadonlyArray<string>).includes(command)) {
    const near = closest(command, commands)
    return usage(`unknown command "${command}"${near === undefined ? "" : ` (did you mean "${near}"?)`}; use ${commands.slice(0, -1).join(", ")} or ${commands.at(-1)}`)
  }
  if (command === "import" && (rest[0] !== "ctk" || rest.length !== 2)) return usage("`shiftup import` takes `ctk <experiment.json|.yaml>`")
  if ((command === "run" || command === "plan") && rest.length === 0) return usage(`\`shiftup ${command}\` needs experiment files or folders`)
  return { _tag: "Command", command, rest, args }
}

/** The `shiftup` bin's entry: answers at once when it can, else loads the CLI and runs the command. */
export const start = async (argv: ReadonlyArray<string>): Promise<void> => {
  const answer = first(argv)
  if (answer._tag === "Command") {
    const { cli } = await import("./main.ts")
    return cli(argv)
  }
  if (answer.out !== undefined) process.stdout.write(answer.out)
  if (answer.err !== undefined) process.stderr.write(answer.err)
  // Not process.exit: it could cut the help short on a pipe.
  process.exitCode = answer.code
}
