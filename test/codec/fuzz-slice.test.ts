import fc from 'fast-check'
import { beforeAll, describe, it } from 'vitest'
import { installAllocationGuard, withMemoryLimits } from '../../bench/fuzz/memory-guard.js'
import { fuzzProperty } from '../../bench/fuzz/runner.js'
import type { FuzzTarget } from '../../bench/fuzz/target.js'
import { FUZZ_TARGETS } from '../../bench/fuzz/targets/index.js'

/**
 * A short fixed-seed slice of every fuzz target of `npm run fuzz` (bench/fuzz.ts): the same cases and invariants,
 * structure-aware through fast-check and byte-level through each target's coverage-guided entry (runBytes), so a
 * change that breaks an invariant fails here before a long run finds it. KSC_FUZZ_SLICE multiplies the counts.
 * Crashes the long runs found are replayed, minimal, in fuzz-regressions.test.ts.
 */

const SCALE = Number(process.env.KSC_FUZZ_SLICE ?? 1)
// Cases per target, sized to the target's cost: under 30 s for the file on a two-core machine loaded by other work.
const CASES: Record<string, number> = {
  'frame-decoder': 400,
  header: 400,
  messages: 400,
  'records-messages': 150,
  'record-batches': 100,
}
const SEED = 21

beforeAll(() => installAllocationGuard())

describe.each(
  FUZZ_TARGETS.map((t) => [t.name, t as FuzzTarget<unknown>] as const),
)('fuzz target %s', (name, target) => {
  it('structure-aware cases keep every invariant', async () => {
    await target.prepare?.()
    fc.assert(fuzzProperty(target), { seed: SEED, numRuns: Math.round((CASES[name] ?? 500) * SCALE) })
  })

  it('raw bytes (the coverage-guided entry) give typed errors only', async () => {
    await target.prepare?.()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        withMemoryLimits(target.limits.allocation, target.limits.growth, () => target.runBytes(Buffer.from(bytes)))
      }),
      { seed: SEED, numRuns: Math.round(150 * SCALE) },
    )
  })
})
