import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { OffsetDigits } from '../../../filters/tap/offset-digits.js'

const text = (d: OffsetDigits) => Buffer.from(d.digits.subarray(0, d.count)).toString('latin1')

describe('offset digits', () => {
  // Safe integers only, as the tap gives it (runs of at most 40 x 30 stay below 2^53).
  it('are the decimal digits of every value, set one after another or by jumps', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: 1, max: 30 }).map((run) => ({ run, from: undefined as number | undefined })),
            fc
              .oneof(
                fc.integer({ min: 0, max: 1_000_000 }),
                fc.constantFrom(0, 9, 95, 999_990, 9_999_999_995, Number.MAX_SAFE_INTEGER - 2_000),
                fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 2_000 }),
              )
              .map((from) => ({ run: 0, from })),
          ),
          { maxLength: 40 },
        ),
        (steps) => {
          const d = new OffsetDigits()
          let n = -1
          for (const { run, from } of steps) {
            if (from !== undefined) {
              n = from
              d.set(n)
              expect(text(d)).toBe(String(n))
            }
            if (n < 0) continue
            for (let i = 0; i < run; i++) {
              d.set(++n)
              expect(text(d)).toBe(String(n))
            }
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('carry into a new digit, down again after a jump', () => {
    const d = new OffsetDigits()
    for (const n of [8, 9, 10, 11, 99, 100, 5, 6, 999_999, 1_000_000, 0, 1]) {
      d.set(n)
      expect(text(d)).toBe(String(n))
    }
  })
})
