/** "Did you mean …?" for a mistyped value: the closest candidate by edit distance, if close enough. */

const distance = (a: string, b: string): number => {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) next[j] = Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
    row = next
  }
  return row[b.length] ?? 0
}

/** The candidate nearest to `word`, when at most a third of it (and at least 2 edits) differs. */
export const closest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  let best: { readonly candidate: string; readonly d: number } | undefined
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase())
    if (best === undefined || d < best.d) best = { candidate, d }
  }
  return best !== undefined && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.candidate : undefined
}
