import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CodecError, DecompressedSizeExceededError, UnsupportedCompressionError } from '../../../../codec/errors.js'
import { CompressionType, compressionCodec } from '../../../../codec/records/compression/index.js'
import { compressionSamples } from './samples.js'

const TYPES = [
  CompressionType.None,
  CompressionType.Gzip,
  CompressionType.Snappy,
  CompressionType.Lz4,
  CompressionType.Zstd,
] as const

describe.each(TYPES)('compression type %i', (type) => {
  const codec = compressionCodec(type)

  it.each(compressionSamples())('round-trips %s', (_name, data) => {
    expect(codec.decompress(codec.compress(data)).equals(data)).toBe(true)
  })

  it('round-trips arbitrary bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 3000 }),
          // Repetitive input makes the compressors emit matches, overlapping ones included.
          fc
            .tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 2000 }))
            .map(([unit, n]) => Buffer.concat(Array.from({ length: n }, () => unit))),
        ),
        (data) => {
          expect(codec.decompress(codec.compress(data)).equals(Buffer.from(data))).toBe(true)
        },
      ),
      { numRuns: 200 },
    )
  })

  // The cap and damaged-input cases apply to real compressors only: registered for them alone.
  if (type !== CompressionType.None)
    it('refuses to decompress past the cap', () => {
      const bomb = codec.compress(Buffer.alloc(4 * 1024 * 1024))
      expect(() => codec.decompress(bomb, 1024 * 1024)).toThrow(DecompressedSizeExceededError)
      expect(codec.decompress(bomb, 4 * 1024 * 1024).length).toBe(4 * 1024 * 1024)
    })

  if (type !== CompressionType.None)
    it('throws only CodecErrors for damaged data', () => {
      const valid = codec.compress(compressionSamples()[6]![1])
      fc.assert(
        fc.property(
          fc.nat(valid.length - 1),
          fc.uint8Array({ minLength: 1, maxLength: 4 }),
          fc.boolean(),
          (at, junk, truncate) => {
            const damaged = Buffer.from(valid)
            let input: Buffer
            if (truncate) input = damaged.subarray(0, at)
            else {
              damaged.set(junk.subarray(0, damaged.length - at), at)
              input = damaged
            }
            try {
              codec.decompress(input, 1024 * 1024)
            } catch (err) {
              expect(err).toBeInstanceOf(CodecError)
            }
          },
        ),
        { numRuns: 300 },
      )
    })
})

describe('compressionCodec', () => {
  it.each([5, 6, 7])('rejects unassigned type %i', (type) => {
    expect(() => compressionCodec(type)).toThrow(UnsupportedCompressionError)
  })
})
