import fc from 'fast-check'
import { type CaseMemory, withMemoryLimits } from './memory-guard.js'
import type { FuzzTarget } from './target.js'

/**
 * Runs a target's cases with fast-check in batches of `batchSize`, each batch with a seed of its own derived from
 * the run's seed: a failing case does not end the run (its batch stops, shrinks the case, and the next batch goes
 * on), and every crash comes with the batch seed and fast-check path that replay it alone
 * (`--target T --seed S --path P`). Between batches the event loop turns, so memory that Node frees from it (the
 * native snappy binding's buffers) is freed during long runs as it is in the sidecar.
 */

export interface Crash {
  target: string
  /** Seed and fast-check path of the shrunk case: `node dist/bench/fuzz.js --target T --seed S --path P`. */
  seed: number
  path: string
  kind: 'error' | 'hang' | 'out-of-memory'
  message: string
  stack: string
  /** The shrunk input, as fast-check prints it (cut at 4,000 characters). */
  input: string
}

export interface TargetRun {
  target: string
  cases: number
  crashes: Crash[]
  elapsedMs: number
  /** Largest heap-plus-external growth of one case (memory-guard.ts). */
  peakCaseGrowth: number
  /** Largest heap-plus-external total seen after a case (the isolate running the target). */
  peakHeap: number
}

/** The seed of batch `k` of a run seeded `seed`: well spread, so neighbouring runs share no batch. */
export function batchSeed(seed: number, k: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(k + 1, 0x85ebca6b)) | 0
}

function describeError(err: unknown): { message: string; stack: string } {
  if (err instanceof Error) return { message: `${err.name}: ${err.message}`, stack: err.stack ?? '' }
  return { message: String(err), stack: '' }
}

/** The property every case must satisfy: the target's invariants within the target's memory limits. */
export function fuzzProperty<T>(
  target: FuzzTarget<T>,
  onCase?: (memory: CaseMemory) => void,
): fc.IPropertyWithHooks<[T]> {
  return fc.property(target.arbitrary, (input) => {
    const memory = withMemoryLimits(target.limits.allocation, target.limits.growth, () => target.run(input))
    onCase?.(memory)
  })
}

export interface RunOptions {
  cases: number
  seed: number
  batchSize?: number
  /** First batch to run (a restarted worker goes on after the batch that hung). */
  startBatch?: number
  /** Run only the batches k with k % count === index: one of `count` workers sharing the run. */
  shard?: { index: number; count: number }
  onCrash?: (crash: Crash) => void
  /** Called after every batch with the cases run so far (progress lines of a long run). */
  onBatch?: (cases: number, elapsedMs: number) => void
  /** Called before every case (shrinking runs included) with its batch, its run index there and the cases so far. */
  onCase?: (batch: number, run: number, cases: number) => void
}

export async function runTarget<T>(target: FuzzTarget<T>, options: RunOptions): Promise<TargetRun> {
  const batchSize = options.batchSize ?? 2000
  const crashes: Crash[] = []
  let peakCaseGrowth = 0
  let peakHeap = 0
  let cases = 0
  let runIndex = 0
  const property = fuzzProperty(target, (memory) => {
    if (memory.growth > peakCaseGrowth) peakCaseGrowth = memory.growth
    if (memory.total > peakHeap) peakHeap = memory.total
  })
  let batch = 0
  property.beforeEach(() => {
    options.onCase?.(batch, runIndex, cases + runIndex)
    runIndex++
  })
  await target.prepare?.()
  const started = performance.now()
  const batches = Math.ceil(options.cases / batchSize)
  const shard = options.shard ?? { index: 0, count: 1 }
  for (let k = options.startBatch ?? 0; k < batches; k++) {
    if (k % shard.count !== shard.index) continue
    const numRuns = Math.min(batchSize, options.cases - k * batchSize)
    const seed = batchSeed(options.seed, k)
    runIndex = 0
    batch = k
    const details = fc.check(property, { seed, numRuns })
    cases += details.numRuns
    if (details.failed) {
      const { message, stack } = describeError(details.errorInstance)
      const crash: Crash = {
        target: target.name,
        seed,
        path: details.counterexamplePath ?? '',
        kind: 'error',
        message,
        stack,
        input: details.counterexample === null ? '' : fc.stringify(details.counterexample[0]).slice(0, 4000),
      }
      crashes.push(crash)
      options.onCrash?.(crash)
    }
    options.onBatch?.(cases, performance.now() - started)
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { target: target.name, cases, crashes, elapsedMs: performance.now() - started, peakCaseGrowth, peakHeap }
}

/** Replays one case (a crash's seed and path), throwing what it throws, with fast-check's report. */
export async function replay<T>(target: FuzzTarget<T>, seed: number, path: string): Promise<void> {
  await target.prepare?.()
  fc.assert(fuzzProperty(target), { seed, path, numRuns: 1, verbose: 2 })
}
