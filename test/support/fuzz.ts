/**
 * One setting for every property-based test: a fixed seed and a bounded number of runs in `npm test`,
 * a longer run with `npm run fuzz` (WHY502_FUZZ_RUNS, and WHY502_FUZZ_SEED to replay a reported failure).
 * `runs(n)` scales a test's own default (what it can afford in `npm test`) by the fuzz factor.
 */
const FACTOR = Number(process.env.WHY502_FUZZ_FACTOR ?? 1);
const SEED = Number(process.env.WHY502_FUZZ_SEED ?? 502);

export function fuzzSettings(defaultRuns: number): { seed: number; numRuns: number } {
  const factor = Number.isFinite(FACTOR) && FACTOR > 0 ? FACTOR : 1;
  return { seed: SEED, numRuns: Math.max(1, Math.round(defaultRuns * factor)) };
}
