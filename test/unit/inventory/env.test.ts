/**
 * The inventory's judgement of a container's environment, without keeping values: which names say
 * "credential" (whole words, nothing after them that only describes one) and which values look
 * random — table-driven, true and false positives side by side.
 */
import { describe, expect, it } from "vitest"
import { envVarsOf, isSecretName, looksRandom } from "../../../src/inventory/sources/env.ts"

describe("secret-like variable names", () => {
  it.each([
    "DB_PASSWORD",
    "API_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "GITHUB_TOKEN",
    "POSTGRES_PASSWORD",
    "MYSQL_ROOT_PASSWORD",
    "DB_PASS",
    "REDIS_PWD",
    "JWT_SECRET",
    "SECRET_KEY_BASE",
    "STRIPE_APIKEY",
    "PRIVATE_KEY",
    "ENCRYPTION_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "BASIC_AUTH",
    "dbPassword",
    "slack-token",
  ])("%s is secret-like", (name) => expect(isSecretName(name)).toBe(true))

  it.each([
    "BYPASS_CACHE",
    "TOKEN_TTL_SECONDS",
    "PASSWORD_MIN_LENGTH",
    "PASSWORD_POLICY_MIN_LENGTH",
    "KEYBOARD_LAYOUT",
    "DB_PASSWORD_FILE",
    "AWS_ACCESS_KEY_ID",
    "CACHE_KEY",
    "SORT_KEY",
    "PASSTHROUGH",
    "COMPASS_URL",
    "TOKENIZER_MODEL",
    "PWD",
    "OLDPWD",
    "SECRET_NAME",
    "AUTH_DOMAIN",
    "OAUTH_ENABLED",
    "LOG_LEVEL",
  ])("%s is not", (name) => expect(isSecretName(name)).toBe(false))
})

describe("random-looking values, under any name", () => {
  it.each([
    ["9f86d081884c7d659a2feaa0c55ad015", true],
    ["ONAhhOyUUgZaLjORFWbUxQAQA9Hl1Aj4", true],
    ["debug", false],
    ["/usr/local/bin:/usr/bin:/bin", false],
    ["aaaaaaaaaaaaaaaaaaaaaaaa", false],
    ["the quick brown fox jumps", false],
  ] as const)("%s → %s", (value, random) => expect(looksRandom(value)).toBe(random))

  it("a random value under an innocent name is still flagged; no value is kept", () => {
    const vars = envVarsOf({ BYPASS_CACHE: "1", SESSION_SEED: "ONAhhOyUUgZaLjORFWbUxQAQA9Hl1Aj4", DB_PASSWORD: "hunter2" })
    expect(vars).toEqual([
      { name: "BYPASS_CACHE", secretName: false, highEntropy: false, empty: false },
      { name: "DB_PASSWORD", secretName: true, highEntropy: false, empty: false },
      { name: "SESSION_SEED", secretName: false, highEntropy: true, empty: false },
    ])
    expect(JSON.stringify(vars)).not.toMatch(/hunter2|ONAhh/)
  })
})
