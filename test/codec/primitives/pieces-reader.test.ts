import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { API_DEFINITIONS } from '../../../codec/messages/generated/apis.js'
import { PiecesReader } from '../../../codec/primitives/pieces-reader.js'
import { Reader } from '../../../codec/primitives/reader.js'
import { Writer } from '../../../codec/primitives/writer.js'
import { structArbitrary } from '../messages/arbitrary-message.js'

function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const positions = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const pieces: Buffer[] = []
  let prev = 0
  for (const p of [...positions, bytes.length]) {
    pieces.push(bytes.subarray(prev, p))
    prev = p
  }
  return pieces
}

const codecs = API_DEFINITIONS.flatMap((a) =>
  a && a.request.minVersion <= a.request.maxVersion ? [a.request, a.response] : [],
)

describe('PiecesReader', () => {
  it('reads and skips any message split into any pieces exactly as a Reader reads it whole', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...codecs).chain((codec) =>
          fc.tuple(
            fc.constant(codec),
            fc
              .integer({ min: codec.minVersion, max: codec.maxVersion })
              .chain((v) => fc.tuple(fc.constant(v), structArbitrary(codec.name, v))),
          ),
        ),
        fc.array(fc.nat(), { maxLength: 12 }),
        ([codec, [version, msg]], cuts) => {
          const w = new Writer(codec.size(msg, version))
          codec.write(w, msg, version)
          const bytes = w.finish()
          const pieces = split(bytes, cuts)
          const whole = codec.read(new Reader(bytes), version)
          const pr = new PiecesReader(pieces)
          expect(codec.read(pr, version)).toEqual(whole)
          expect(pr.pos).toBe(bytes.length)
          const skipper = new PiecesReader(pieces)
          codec.skip(skipper, version)
          expect(skipper.pos).toBe(bytes.length)
          // stopAtTags stops where a whole-buffer Reader stops too.
          const a = new Reader(bytes)
          const b = new PiecesReader(pieces)
          codec.skip(a, version, true)
          codec.skip(b, version, true)
          expect(b.pos).toBe(a.pos)
        },
      ),
      { numRuns: 2000 },
    )
  })
})
