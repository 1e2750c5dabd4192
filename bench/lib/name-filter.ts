// Picking bench runs by name: an env variable of comma-separated words (BENCH_RUNS,
// BENCH_MEMORY_VARIANTS) selects the runs whose name contains one of them, case-insensitive.

/** The lower-cased words of a comma-separated list; undefined when there are none (everything runs). */
export function filterWords(raw: string | undefined): string[] | undefined {
  const words = (raw ?? '').split(',').map((w) => w.trim().toLowerCase()).filter((w) => w !== '');
  return words.length ? words : undefined;
}

/** Whether the run called `name` is selected: no words, or one of them in its name. */
export function isSelected(name: string, words: readonly string[] | undefined): boolean {
  return !words || words.some((w) => name.toLowerCase().includes(w));
}
