import { readFileSync } from "node:fs"

/** Whether process `pid` exists (one we may not signal counts as existing). */
export const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * When process `pid` started (clock ticks since boot, field 22 of /proc/<pid>/stat), so a pid the
 * kernel gave to another process since is not mistaken for the one recorded. `undefined` where
 * /proc cannot tell (another OS, a process that is gone).
 */
export const processStart = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
  } catch {
    return undefined
  }
}
