/**
 * The source of a regression experiment, and of its vitest file: TypeScript that imports the
 * `shiftup` packages as a user's project does, type-checks, and reproduces the production
 * finding against the mapped target with the same check (the same rule, the same check id). Its
 * header links back to the finding; its tag `shiftup.finding:<fingerprint>` puts the fingerprint
 * into the journal of every run, which is how `shiftup findings` links runs to the finding.
 */
import type { StoredFinding } from "../store/Store.ts"
import { describeSide, type Mapped } from "./mapping.ts"
import type { Recipe } from "./recipe.ts"

/** The tag that carries a finding's fingerprint into every journal of its regression experiment. */
export const findingTag = (fingerprint: string) => `shiftup.finding:${fingerprint}`

/** The fingerprints a journal's tags link it to. */
export const taggedFindings = (tags: ReadonlyArray<string>): ReadonlyArray<string> => tags.filter((t) => t.startsWith("shiftup.finding:")).map((t) => t.slice("shiftup.finding:".length))

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "")
    .replace(/-{2,}/g, "-") || "asset"

/** The regression experiment's id (and file name): from the rule id and the production asset. */
export const regressionId = (recipe: Recipe, asset: string) => `regression.${slug(recipe.rule)}.${slug(asset)}`

const str = (s: string) => JSON.stringify(s)

/** A variable name for the stand-in target: the production id without its production words (`api-prod` → `api`). */
const identifier = (productionId: string) => {
  const id = productionId
    .split(/[^A-Za-z0-9]+/)
    .filter((t) => !/^(prod|prd|production|live)$/i.test(t))
    .join("-")
  const camel = id.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c === undefined ? "" : c.toUpperCase())).replace(/^[^A-Za-z_$]+/, "")
  return camel === "" || ["default", "import", "export", "const", "new", "class"].includes(camel) ? "target" : camel
}

/** A comment line, safe inside a block comment. */
const line = (s: string) => ` *${s === "" ? "" : ` ${s.replace(/\*\//g, "* /")}`}`

export interface RenderInput {
  readonly finding: StoredFinding
  /** Other findings of the same rule on the same asset (another phase) that the file reproduces too. */
  readonly also?: ReadonlyArray<StoredFinding>
  readonly recipe: Recipe
  readonly mapped: Mapped
  readonly id: string
}

const targetSource = (name: string, m: Mapped): { readonly imports: ReadonlyArray<string>; readonly code: string } => {
  const env = str(m.environment)
  const id = str(m.production.id)
  switch (m.to._tag) {
    case "Url":
      return { imports: [`import * as Http from "shiftup/http"`], code: `const ${name} = Http.target(${id}, { url: ${str(m.to.url)}, environment: ${env} })` }
    case "Address":
      // No recipe checks a bare address yet (its findings' checks need a URL or a container).
      throw new Error(`unreachable: a host:port stand-in for ${m.production.id}`)
    case "Container": {
      const labels = Object.keys(m.to.labels).length === 0 ? "" : `labels: ${JSON.stringify(m.to.labels)}, `
      return {
        imports: [`import * as Docker from "shiftup/docker"`],
        code:
          m.to.name !== undefined && labels === ""
            ? `const ${name} = Docker.container(${str(m.to.name)}, { environment: ${env} })`
            : `const ${name} = Docker.containers(${id}, { select: { ${m.to.name === undefined ? "" : `name: ${str(m.to.name)}, `}${labels}}, environment: ${env} })`,
      }
    }
  }
}

const checkSource = (name: string, r: Recipe): { readonly imports: ReadonlyArray<string>; readonly code: string } => {
  if (r._tag === "Misconfig")
    return { imports: [`import { Misconfig } from "shiftup/inventory"`], code: `Misconfig.noMisconfiguration(${name}, [${str(r.rule)}], { id: ${str(r.checkId)} })` }
  const args = [name, ...(r.path === undefined ? [] : [str(r.path)]), `{ id: ${str(r.probeId)} }`]
  return { imports: [`import * as Http from "shiftup/http"`], code: `Http.Findings.expectNone(Http.${r.probe}.probe(${args.join(", ")}), ${str(r.rule)}, { id: ${str(r.checkId)} })` }
}

/** The regression experiment file. */
export const renderExperiment = ({ finding: f, also = [], recipe, mapped, id }: RenderInput): string => {
  const tags = ["regression", ...[f, ...also].map((x) => findingTag(x.fingerprint))]
  const name = identifier(mapped.production.id)
  const target = targetSource(name, mapped)
  const check = checkSource(name, recipe)
  const imports = [`import { Experiment } from "shiftup"`, ...[...new Set([...target.imports, ...check.imports])].sort()]
  const header = [
    `Regression: ${f.title} (${recipe.rule}) on ${f.asset}, found in production by \`shiftup watch\`.`,
    "",
    "Written by `shiftup feedback` from the finding store:",
    `  finding     ${[f, ...also].map((x) => x.fingerprint).join(", ")}`,
    `  rule        ${recipe.rule} (stored as ${f.rule})`,
    `  production  ${mapped.production.id} (${describeSide(mapped.production.side)})${f.location === "" ? "" : `, ${f.location}`}`,
    `  first seen  ${f.firstSeen}`,
    `  reproduced  against ${describeSide(mapped.to)} (${mapped.environment}), feedback.map[${mapped.index}]`,
    "",
    "It fails (exit 1) with the same check while the weakness is there and passes once it is",
    "fixed. Its tag puts the fingerprint into the journal of every run, so `shiftup findings`",
    "shows when it was reproduced and fixed:",
    ...[f, ...also].map((x) => `  ${findingTag(x.fingerprint)}`),
    ...(recipe._tag === "Misconfig" ? ["", "The rule runs under the profile the config chooses for the target (else `web`): pass", "`profile` to noMisconfiguration if production's finding came from another."] : []),
  ]
  return `/**
${header.map(line).join("\n")}
 */
${imports.join("\n")}

${target.code}

export default Experiment.make({
  id: ${str(id)},
  title: ${str(`Regression: ${f.title} (${recipe.rule}) on ${f.asset}`)},
  tags: [${tags.map(str).join(", ")}],
  targets: { ${name} },
  hypothesis: [${check.code}],
  method: [],
})
`
}

/** The vitest file next to it: the experiment as a suite (`shiftup/vitest`), one test per check. */
export const renderTest = (experimentFile: string, f: StoredFinding): string => `/**
 * The regression experiment of finding ${f.fingerprint} as a vitest suite: it fails while the
 * weakness is there and passes once it is fixed. Written by \`shiftup feedback --vitest\`.
 */
import { describeExperiment } from "shiftup/vitest"
import experiment from ${str(`./${experimentFile}`)}

describeExperiment(experiment)
`
