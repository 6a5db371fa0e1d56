// Why: the benchmarks print medians of a few runs or windows; one definition, so that their figures agree.

/** The middle value; of an even count, the upper of the two middle ones. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
