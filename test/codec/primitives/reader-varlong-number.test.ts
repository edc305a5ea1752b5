import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TruncatedInputError } from '../../../codec/errors.js'
import { Reader } from '../../../codec/primitives/reader.js'
import { sizeOfVarlong } from '../../../codec/primitives/sizes.js'
import { Writer } from '../../../codec/primitives/writer.js'

function encode(v: bigint): Buffer {
  const w = new Writer(sizeOfVarlong(v))
  w.varlong(v)
  return w.finish()
}

describe('Reader.varlongNumberOrBigInt', () => {
  it('reads every int64 exactly: a number up to 7 bytes, a bigint beyond', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
          fc.bigInt({ min: -(2n ** 50n), max: 2n ** 50n }),
        ),
        (v) => {
          const buf = encode(v)
          const reader = new Reader(buf)
          const got = reader.varlongNumberOrBigInt()
          expect(reader.pos).toBe(buf.length)
          expect(typeof got).toBe(buf.length <= 7 ? 'number' : 'bigint')
          expect(BigInt(got)).toBe(v)
          expect(new Reader(buf).varlong()).toBe(v)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it.each([
    [0n, 0],
    [-1n, -1],
    [1n, 1],
    [2n ** 48n - 1n, 2 ** 48 - 1],
    [-(2n ** 48n), -(2 ** 48)],
  ])('reads %s as the number %s', (v, n) => {
    expect(new Reader(encode(v)).varlongNumberOrBigInt()).toBe(n)
  })

  it('throws a typed error when the input ends inside the varlong', () => {
    expect(() => new Reader(encode(2n ** 40n).subarray(0, 3)).varlongNumberOrBigInt()).toThrow(TruncatedInputError)
    expect(() => new Reader(encode(2n ** 60n).subarray(0, 8)).varlongNumberOrBigInt()).toThrow(TruncatedInputError)
  })
})
