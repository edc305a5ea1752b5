import fc from 'fast-check'
import type { RecordInput } from '../../../codec/records/index.js'

const bytes = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1000, maxLength: 20_000 }) },
)
const nullableBytes = fc.option(bytes, { nil: null, freq: 5 })

export const recordArbitrary: fc.Arbitrary<RecordInput & { timestamp: bigint }> = fc.record({
  key: nullableBytes,
  value: nullableBytes,
  headers: fc.array(fc.record({ key: fc.string({ unit: 'grapheme', maxLength: 12 }), value: nullableBytes }), {
    maxLength: 4,
  }),
  // Timestamps from before 1970 to far ahead, so deltas are negative, small and (occasionally) past 2^48.
  timestamp: fc.oneof(
    fc.bigInt({ min: 1_600_000_000_000n, max: 1_600_000_100_000n }),
    fc.bigInt({ min: -(2n ** 60n), max: 2n ** 60n }),
  ),
})

export const recordsArbitrary = fc.array(recordArbitrary, { maxLength: 40 })
