// "Did you mean": the nearest known word to a typo, for config keys, flags and commands.

/** A near miss by edits (typo), else the shortest key containing the word ("server" -> server_url).
 * Nothing for a word that resembles no key: a far-fetched "did you mean" misleads. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const byEdits = candidates.map((c) => ({ c, d: levenshtein(word, c) })).sort((a, b) => a.d - b.d)[0];
  if (byEdits && byEdits.d <= Math.max(2, Math.floor(word.length * 0.4))) return byEdits.c;
  if (word.length < 3) return undefined;
  return candidates.filter((c) => c.includes(word)).sort((a, b) => a.length - b.length)[0];
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
