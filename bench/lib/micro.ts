/**
 * Micro-benchmark timing shared by the codec and filter benchmarks: `--time-ms=N` per measurement, split into
 * rounds after a warm-up; the best round counts, since on a shared machine it is the one least disturbed by other
 * processes.
 */

export const ROUNDS = 5

/** The `--time-ms=N` argument (default 1000). */
export function timeMsArg(argv: readonly string[] = process.argv): number {
  for (const a of argv) {
    const m = /^--time-ms=(\d+)$/.exec(a)
    if (m) return Number(m[1])
  }
  return 1000
}

/**
 * Calls per second of `fn`: warm-up for a quarter of `timeMs`, then ROUNDS rounds of timeMs / ROUNDS, timed in
 * batches of 16 calls so the clock read does not dominate nanosecond-scale functions.
 */
export function bestRate(fn: () => void, timeMs: number): number {
  const warmUntil = performance.now() + timeMs / 4
  while (performance.now() < warmUntil) fn()
  let best = 0
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now()
    const deadline = start + timeMs / ROUNDS
    let calls = 0
    let now = start
    while (now < deadline) {
      for (let i = 0; i < 16; i++) fn()
      calls += 16
      now = performance.now()
    }
    best = Math.max(best, (calls * 1000) / (now - start))
  }
  return best
}
