import { availableParallelism } from "node:os"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url))

export default defineConfig({
  resolve: {
    // The catalogue and the examples import "shiftup" as users do; in this checkout that is src/.
    alias: [
      { find: /^shiftup\/(advanced|testing|http|net|vitest|report|docker|data|ctk|inventory|watch)$/, replacement: src("$1/index.ts") },
      { find: /^shiftup$/, replacement: src("index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    // SHIFTUP_TEST_DOCKER=0 leaves out the tests that need a Docker engine (documented in README).
    exclude: process.env["SHIFTUP_TEST_DOCKER"] === "0" ? ["test/**/docker*.test.ts", "test/**/docker/**"] : [],
    globalSetup: ["test/support/docker-global.ts"],
    setupFiles: ["test/support/isolate-user-dirs.ts"],
    pool: "forks",
    // Most files wait on servers, containers and child processes, not on the CPU: two files at
    // once even on a 2-core CI machine (vitest's default there is one). Files never share state:
    // each has its own home directory, servers on free ports, objects under its own run label.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 60_000,
    // In CI a JSON report is written too, so .ci/run can print a plain "N passed, N failed" line.
    reporters: process.env["CI"] === "true" ? ["default", ["json", { outputFile: ".shiftup/test-report.json" }]] : ["default"],
    hookTimeout: 60_000,
  },
})
