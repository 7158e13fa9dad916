/**
 * Crash trials on Redis (test/support/crash-trials.ts): a real `shiftup run` holding a random
 * sequence of data faults (corruptions of four kinds, encryption with a ransom note, an expiry
 * storm) on a real, password-protected redis-server is SIGKILLed at a random ledger point;
 * `shiftup recover` in a fresh process, reconnecting through `passwordEnv`, must bring every key
 * back exactly: type, content and expiry instant (the test client's own snapshot).
 */
import { crashTrials } from "../support/crash-trials.ts"
import { fixture, useProcessCleanup } from "../support/proc-cli.ts"
import { seedSessions, snapshot, useRedisServer } from "../support/redis-data.ts"

useProcessCleanup()

const password = `crash-${Math.random().toString(36).slice(2)}-pw`
const redis = useRedisServer(password)

crashTrials(
  () => ({
    name: "redis",
    fixture: fixture("crash", "redis.ts"),
    faults: ["garble", "truncate", "confuse", "admin", "encrypt", "expire"],
    setup: async () => {
      await seedSessions(redis.client)
      return { SHIFTUP_CRASH_URL: `redis://127.0.0.1:${redis.server.port}`, SHIFTUP_CRASH_PASSWORD_ENV: "SHIFTUP_CRASH_REDIS_PASSWORD" }
    },
    snapshot: () => snapshot(redis.client),
    password: { env: "SHIFTUP_CRASH_REDIS_PASSWORD", value: password },
  }),
  { trials: 25, name: "Redis" },
)
