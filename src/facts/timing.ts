/** Duration statistics of failed requests: the shapes that tell a backend timeout from a keepalive race. */
export interface DurationStats {
  median: number;
  /** Share of durations within 10% (and at least 50 ms) of the median. */
  clusterShare: number;
  /** Share of durations under 50 ms. */
  fastShare: number;
}

export function durationStats(durations: number[]): DurationStats {
  if (durations.length === 0) return { median: 0, clusterShare: 0, fastShare: 0 };
  const sorted = [...durations].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  const tolerance = Math.max(0.05, median * 0.1);
  const near = sorted.filter((d) => Math.abs(d - median) <= tolerance).length;
  const fast = sorted.filter((d) => d < 0.05).length;
  return {
    median: Math.round(median * 1000) / 1000,
    clusterShare: near / sorted.length,
    fastShare: fast / sorted.length,
  };
}
