import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  InvalidFieldError,
  InvalidLengthError,
  InvalidVarintError,
  TruncatedInputError,
} from '../../../codec/errors.js'
import { Reader } from '../../../codec/primitives/reader.js'
import {
  sizeOfNullableBytes,
  sizeOfNullableString,
  sizeOfUvarint,
  sizeOfUvarlong,
  sizeOfVarint,
  sizeOfVarlong,
} from '../../../codec/primitives/sizes.js'
import { Writer } from '../../../codec/primitives/writer.js'

function written(size: number, fn: (w: Writer) => void): Buffer {
  const w = new Writer(size)
  fn(w)
  return w.finish()
}

describe('varints (zigzag LEB128, as Kafka ByteUtils)', () => {
  // Vectors: protobuf's zigzag table (0->0, -1->1, 1->2, -2->3, 2147483647->4294967294, -2147483648->4294967295).
  it.each([
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-2, '03'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ])('varint %i <-> %s', (v, hex) => {
    const bytes = written(sizeOfVarint(v), (w) => w.varint(v))
    expect(bytes.toString('hex')).toBe(hex)
    expect(new Reader(bytes).varint()).toBe(v)
  })

  it('varlong round-trips the whole int64 range', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => {
        const bytes = written(sizeOfVarlong(v), (w) => w.varlong(v))
        expect(new Reader(bytes).varlong()).toBe(v)
      }),
    )
    const min = written(sizeOfVarlong(-(2n ** 63n)), (w) => w.varlong(-(2n ** 63n)))
    expect(min.length).toBe(10)
  })

  it('uvarint and uvarlong round-trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => {
        expect(new Reader(written(sizeOfUvarint(v), (w) => w.uvarint(v))).uvarint()).toBe(v)
      }),
    )
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (v) => {
        expect(new Reader(written(sizeOfUvarlong(v), (w) => w.uvarlong(v))).uvarlong()).toBe(v)
      }),
    )
  })

  it('rejects over-long and truncated varints with typed errors', () => {
    expect(() => new Reader(Buffer.from('ffffffffff01', 'hex')).uvarint()).toThrow(InvalidVarintError)
    expect(() => new Reader(Buffer.from('ffffffff1f', 'hex')).uvarint()).toThrow(InvalidVarintError)
    expect(() => new Reader(Buffer.from('8080', 'hex')).uvarint()).toThrow(TruncatedInputError)
    expect(() => new Reader(Buffer.from('ffffffffffffffffffff01', 'hex')).uvarlong()).toThrow(InvalidVarintError)
  })
})

describe('strings, bytes and arrays', () => {
  it('STRING and COMPACT_STRING, null and unicode', () => {
    for (const flexible of [false, true]) {
      for (const v of ['', 'kafka', 'ünïcødé ✓ 🚀', 'x'.repeat(42), 'y'.repeat(43), 'z'.repeat(300), null]) {
        const bytes = written(sizeOfNullableString(flexible, v), (w) => w.nullableString(flexible, v))
        expect(new Reader(bytes).nullableString(flexible, 's')).toBe(v)
      }
    }
    expect(written(2, (w) => w.nullableString(false, null)).toString('hex')).toBe('ffff')
    expect(written(1, (w) => w.nullableString(true, null)).toString('hex')).toBe('00')
  })

  it('bytes are views into the input, not copies', () => {
    const bytes = written(sizeOfNullableBytes(true, Buffer.from('abc')), (w) =>
      w.nullableBytes(true, Buffer.from('abc')),
    )
    const v = new Reader(bytes).bytes(true, 'b')
    expect(v.toString()).toBe('abc')
    expect(v.buffer).toBe(bytes.buffer)
  })

  it('null where not nullable is a typed error', () => {
    expect(() => new Reader(Buffer.from('ffff', 'hex')).string(false, 'name')).toThrow(InvalidFieldError)
    expect(() => new Reader(Buffer.from('00', 'hex')).string(true, 'name')).toThrow(InvalidFieldError)
    expect(() => new Reader(Buffer.from('ffffffff', 'hex')).arrayLength(false, false, 'a')).toThrow(InvalidFieldError)
  })

  it('a length past the end is a typed error, never an allocation', () => {
    expect(() => new Reader(Buffer.from('7fff41', 'hex')).string(false, 's')).toThrow(TruncatedInputError)
    expect(() => new Reader(Buffer.from('7fffffff00', 'hex')).bytes(false, 'b')).toThrow(TruncatedInputError)
    expect(() => new Reader(Buffer.from('7fffffff00', 'hex')).arrayLength(false, false, 'a')).toThrow(
      InvalidLengthError,
    )
    expect(() => new Reader(Buffer.from('fffffffe', 'hex')).nullableBytes(false, 'b')).toThrow(InvalidLengthError)
  })

  it('uuid as base64url, 22 characters', () => {
    const raw = Buffer.from('0123456789abcdef0123456789abcdef', 'hex')
    const id = new Reader(raw).uuid()
    expect(id).toHaveLength(22)
    expect(written(16, (w) => w.uuid(id)).equals(raw)).toBe(true)
    expect(() => written(16, (w) => w.uuid('not-a-uuid'))).toThrow(InvalidFieldError)
  })

  it('finish() catches a size computation that disagrees with the writes', () => {
    const w = new Writer(5)
    w.int32(1)
    expect(() => w.finish()).toThrow(/codec bug/)
  })
})
