// Percentiles of measured latencies, shared by the benchmarks.

/** The p-th percentile (0–100) of ascending `sorted` by the nearest-rank rule; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
