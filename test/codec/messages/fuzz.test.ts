import fc from 'fast-check'
import { describe, it } from 'vitest'
import { CodecError } from '../../../codec/errors.js'
import { decodeRequest, decodeResponse } from '../../../codec/messages/frames.js'
import { API_DEFINITIONS } from '../../../codec/messages/generated/apis.js'
import { Reader } from '../../../codec/primitives/reader.js'
import { Writer } from '../../../codec/primitives/writer.js'
import { structArbitrary } from './arbitrary-message.js'

/**
 * Malformed input gives typed errors only: valid encodings of random messages are truncated, bit-flipped,
 * and have random bytes spliced in; decoding either succeeds or throws a CodecError. Anything else
 * (RangeError, TypeError, an out-of-memory from an untrusted length) is a codec bug.
 */

const RUNS = Number(process.env.KSC_FUZZ_RUNS ?? 15)

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }),
  }),
  fc.record({
    kind: fc.constant('length' as const),
    at: fc.nat(),
    value: fc.constantFrom(0x7fffffff, -2, 0xffff, 0x7fff),
  }),
)

function mutate(bytes: Buffer, m: Parameters<typeof apply>[1]): Buffer {
  return apply(bytes, m)
}

function apply(
  bytes: Buffer,
  m:
    | { kind: 'truncate'; at: number }
    | { kind: 'flip'; at: number; bit: number }
    | { kind: 'splice'; at: number; bytes: Uint8Array }
    | { kind: 'length'; at: number; value: number },
): Buffer {
  if (bytes.length === 0) return Buffer.from([0xff])
  const at = m.at % bytes.length
  switch (m.kind) {
    case 'truncate':
      return bytes.subarray(0, at)
    case 'flip': {
      const b = Buffer.from(bytes)
      b[at]! ^= 1 << m.bit
      return b
    }
    case 'splice':
      return Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)])
    case 'length': {
      // Overwrite 4 bytes with a hostile length, the classic attack on length-prefixed formats.
      const b = Buffer.from(bytes)
      if (at + 4 <= b.length) b.writeInt32BE(m.value | 0, at)
      return b
    }
  }
}

function expectOnlyCodecErrors(fn: () => unknown): void {
  try {
    fn()
  } catch (err) {
    if (!(err instanceof CodecError)) throw new Error(`non-codec error escaped: ${(err as Error)?.stack ?? err}`)
  }
}

const apis = API_DEFINITIONS.filter((a) => a !== undefined && a.request.minVersion <= a.request.maxVersion)

describe('fuzzed message bodies give typed errors only', () => {
  it.each(apis.map((a) => [a!.name, a!] as const))('%s', (_name, api) => {
    for (const codec of [api.request, api.response]) {
      for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
        fc.assert(
          fc.property(structArbitrary(codec.name, v), fc.array(mutation, { minLength: 1, maxLength: 3 }), (msg, ms) => {
            const w = new Writer(codec.size(msg, v))
            codec.write(w, msg, v)
            let bytes = w.finish()
            for (const m of ms) bytes = mutate(bytes, m)
            expectOnlyCodecErrors(() => codec.read(new Reader(bytes), v))
          }),
          { numRuns: RUNS },
        )
      }
    }
  })
})

describe('fuzzed whole frames give typed errors only', () => {
  it('random bytes as requests and as responses', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: -1, max: 20 }),
        (raw, key, ver) => {
          const bytes = Buffer.from(raw)
          expectOnlyCodecErrors(() => decodeRequest(bytes))
          expectOnlyCodecErrors(() => decodeResponse(bytes, key, ver))
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('requests with a valid header and a random body', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 95 }),
        fc.integer({ min: 0, max: 20 }),
        fc.uint8Array({ maxLength: 80 }),
        (key, ver, body) => {
          const header = Buffer.alloc(10)
          header.writeInt16BE(key, 0)
          header.writeInt16BE(ver, 2)
          header.writeInt32BE(7, 4)
          header.writeInt16BE(-1, 8)
          expectOnlyCodecErrors(() => decodeRequest(Buffer.concat([header, body])))
        },
      ),
      { numRuns: 3000 },
    )
  })
})
