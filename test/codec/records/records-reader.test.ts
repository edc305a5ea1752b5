import { describe, expect, it } from 'vitest'
import { InvalidRecordBatchError } from '../../../codec/errors.js'
import {
  encodeRecordBatch,
  LegacyMessageSet,
  PartialBatch,
  RecordBatch,
  readBatches,
} from '../../../codec/records/index.js'
import { legacyMessage } from './legacy-message.js'

const a = encodeRecordBatch([{ key: Buffer.from('a'), value: Buffer.from('1'), timestamp: 1n }], { baseOffset: 0n })
const b = encodeRecordBatch([{ key: Buffer.from('b'), value: Buffer.from('2'), timestamp: 2n }], {
  baseOffset: 1n,
  compression: 1,
})

describe('readBatches', () => {
  it('yields each batch of a records buffer as a view', () => {
    const all = Buffer.concat([a, b])
    const entries = [...readBatches(all)] as RecordBatch[]
    expect(entries.map((e) => e.kind)).toEqual(['batch', 'batch'])
    expect(entries[0]!.raw.equals(a)).toBe(true)
    expect(entries[1]!.raw.buffer).toBe(all.buffer)
    expect(entries.map((e) => e.toArray()[0]!.value!.toString())).toEqual(['1', '2'])
  })

  it('yields a truncated last batch as a PartialBatch at every cut, preserving its bytes', () => {
    const all = Buffer.concat([a, b])
    for (let cut = a.length + 1; cut < all.length; cut++) {
      const entries = [...readBatches(all.subarray(0, cut))]
      expect(entries).toHaveLength(2)
      expect(entries[1]).toBeInstanceOf(PartialBatch)
      const partial = entries[1] as PartialBatch
      expect(partial.position).toBe(a.length)
      expect(partial.raw.equals(b.subarray(0, cut - a.length))).toBe(true)
    }
  })

  it('rejects a partial batch where the caller expects whole ones (Produce)', () => {
    expect(() => [...readBatches(Buffer.concat([a, b.subarray(0, 30)]), { partial: 'reject' })]).toThrow(
      InvalidRecordBatchError,
    )
  })

  it('yields legacy magic 0/1 messages as opaque entries', () => {
    const legacy = legacyMessage(41n, 'old')
    const entries = [...readBatches(Buffer.concat([legacy, a]))]
    expect(entries[0]).toBeInstanceOf(LegacyMessageSet)
    const message = entries[0] as LegacyMessageSet
    expect([message.offset, message.magic, message.compression]).toEqual([41n, 1, 0])
    expect(message.raw.equals(legacy)).toBe(true)
    expect(entries[1]).toBeInstanceOf(RecordBatch)
  })

  it.each([
    ['a length below any message', (buf: Buffer) => buf.writeInt32BE(5, 8)],
    ['a v2 length below the v2 header', (buf: Buffer) => buf.writeInt32BE(20, 8)],
    ['magic 3', (buf: Buffer) => buf.writeInt8(3, 16)],
    ['a negative magic', (buf: Buffer) => buf.writeInt8(-1, 16)],
  ])('rejects %s', (_name, damage) => {
    const buf = Buffer.concat([a, Buffer.alloc(0)])
    damage(buf)
    expect(() => [...readBatches(buf)]).toThrow(InvalidRecordBatchError)
  })

  it('yields nothing for an empty buffer', () => {
    expect([...readBatches(Buffer.alloc(0))]).toEqual([])
  })
})
