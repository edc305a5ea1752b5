/**
 * What one call of a message-renaming way costs in process (bench/topic-rewrite-fetch.ts, topic-rewrite-produce.ts):
 * CPU time per call (process.cpuUsage, user + system) and the heap and array buffer bytes a call leaves behind.
 */

/** CPU microseconds per call: warm-up, then the best of 5 rounds of timeMs / 5 of wall time. */
export function cpuPerCall(fn: () => unknown, timeMs: number): number {
  const warm = performance.now() + timeMs / 4
  while (performance.now() < warm) fn()
  let best = Number.POSITIVE_INFINITY
  for (let round = 0; round < 5; round++) {
    const deadline = performance.now() + timeMs / 5
    const start = process.cpuUsage()
    let calls = 0
    while (performance.now() < deadline) {
      fn()
      calls++
    }
    const used = process.cpuUsage(start)
    best = Math.min(best, (used.user + used.system) / calls)
  }
  return best
}

/** Heap and array buffer bytes one call leaves behind after a forced collection: the median of 9 calls. */
export function allocatedPerCall(fn: () => unknown): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) return undefined
  const samples: number[] = []
  for (let i = 0; i < 9; i++) {
    gc()
    const before = process.memoryUsage()
    fn()
    const after = process.memoryUsage()
    samples.push(after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers))
  }
  samples.sort((a, b) => a - b)
  return samples[4]!
}
