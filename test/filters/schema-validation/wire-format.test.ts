import { describe, expect, it } from 'vitest'
import {
  FramingError,
  readApicurioHeaderId,
  readConfluentFrame,
} from '../../../filters/schema-validation/wire-format.js'

const framed = (id: number, ...rest: number[]) => {
  const b = Buffer.alloc(5 + rest.length)
  b.writeInt32BE(id, 1)
  Buffer.from(rest).copy(b, 5)
  return b
}

describe('Confluent framing', () => {
  it('reads the schema id and leaves the payload as a view', () => {
    const bytes = framed(258, 0xaa, 0xbb)
    const f = readConfluentFrame(bytes, false)
    expect(f.schemaId).toBe(258)
    expect([...f.payload]).toEqual([0xaa, 0xbb])
    expect(f.payload.buffer).toBe(bytes.buffer)
  })

  it('names a missing magic byte, a short frame and an empty value', () => {
    expect(() => readConfluentFrame(Buffer.from('{"a":1}'), false)).toThrow(/has no magic byte: starts with 0x7b/)
    expect(() => readConfluentFrame(Buffer.from([0, 0, 1]), false)).toThrow(
      /too short for the magic byte and a 4-byte schema id/,
    )
    expect(() => readConfluentFrame(Buffer.alloc(0), false)).toThrow(FramingError)
  })

  it('reads Protobuf message indexes: the single 0 byte for [0], and zigzag varint paths', () => {
    expect(readConfluentFrame(framed(1, 0, 0x08, 0x01), true)).toMatchObject({ messageIndexes: [0] })
    expect([...readConfluentFrame(framed(1, 0, 0x08, 0x01), true).payload]).toEqual([0x08, 0x01])
    // count 2 (zigzag 4), indexes 1 (2) and 3 (6): the fourth message nested in the second top-level message
    const nested = readConfluentFrame(framed(7, 4, 2, 6, 0x10), true)
    expect(nested.messageIndexes).toEqual([1, 3])
    expect([...nested.payload]).toEqual([0x10])
    // a multi-byte varint: index 150 is zigzag 300 = 0xac 0x02
    expect(readConfluentFrame(framed(7, 2, 0xac, 0x02), true).messageIndexes).toEqual([150])
  })

  it('refuses message indexes that run past the end or are negative', () => {
    expect(() => readConfluentFrame(framed(1, 4, 2), true)).toThrow(/end early/)
    expect(() => readConfluentFrame(framed(1, 2, 1), true)).toThrow(/negative Protobuf message index/)
    expect(() => readConfluentFrame(framed(1, 0xfe, 0x01), true)).toThrow(/declares 127 Protobuf message indexes/)
  })
})

describe('Apicurio header mode', () => {
  const long = (n: number) => {
    const b = Buffer.alloc(8)
    b.writeBigInt64BE(BigInt(n))
    return b
  }
  it('reads the content id from apicurio.<part>.contentId, the last such header winning', () => {
    const headers = [
      { key: 'apicurio.value.contentId', value: long(3) },
      { key: 'apicurio.key.contentId', value: long(9) },
      { key: 'apicurio.value.contentId', value: long(4) },
    ]
    expect(readApicurioHeaderId(headers, 'value')).toBe(4)
    expect(readApicurioHeaderId(headers, 'key')).toBe(9)
  })
  it('says what is wrong when the header is missing, is a global id, or has the wrong size', () => {
    expect(() => readApicurioHeaderId([], 'value')).toThrow('has no apicurio.value.contentId header')
    expect(() => readApicurioHeaderId([{ key: 'apicurio.value.globalId', value: long(2) }], 'value')).toThrow(
      /set apicurio.registry.use-id=contentId/,
    )
    expect(() => readApicurioHeaderId([{ key: 'apicurio.value.contentId', value: Buffer.alloc(3) }], 'value')).toThrow(
      /3 byte\(s\): expected an 8-byte id/,
    )
  })
})
