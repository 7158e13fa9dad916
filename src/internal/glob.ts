/** A pattern with `*` wildcards (anything, including nothing) as an anchored regular expression. */
export const glob = (pattern: string): RegExp => new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`)
