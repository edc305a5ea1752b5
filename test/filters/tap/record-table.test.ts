import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CompressionType,
  encodeRecordBatch,
  RecordBatch,
  type RecordInput,
  type RecordSpans,
} from '../../../codec/records/index.js'
import { RecordTable } from '../../../filters/tap/record-table.js'

const FIELDS = [
  'recordStart',
  'recordEnd',
  'timestampDelta',
  'offsetDelta',
  'keyFieldStart',
  'keyStart',
  'keyLength',
  'valueEnd',
  'valueLength',
  'headersStart',
  'headerCount',
] as const

const fieldsOf = (s: Pick<RecordSpans, (typeof FIELDS)[number]>) => FIELDS.map((f) => s[f])

const bytes = fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a))
const record: fc.Arbitrary<RecordInput> = fc.record({
  key: fc.option(bytes, { nil: null }),
  value: fc.option(bytes, { nil: null }),
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 8 }), value: fc.option(bytes, { nil: null }) }), {
    maxLength: 4,
  }),
  // Far apart at times: deltas beyond the safe integers come back as bigints.
  timestamp: fc.oneof(fc.bigInt({ min: 0n, max: 4_000_000_000_000n }), fc.constantFrom(2n ** 62n, 1n)),
})
const compression = fc.constantFrom(
  CompressionType.None,
  CompressionType.Gzip,
  CompressionType.Snappy,
  CompressionType.Lz4,
  CompressionType.Zstd,
)

describe('the record table (one walk of a batch, read back)', () => {
  it('gives back, record by record, the fields the walk saw: random batches, every compression', () => {
    const table = new RecordTable()
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 150 }), compression, (records, c) => {
        const batch = new RecordBatch(encodeRecordBatch(records, { compression: c }))
        const spans = batch.recordSpans()
        const expected: unknown[][] = []
        while (spans.next()) expected.push(fieldsOf(spans))
        table.fill(batch.recordSpans())
        expect(table.data.equals(spans.data)).toBe(true)
        const got: unknown[][] = []
        while (table.next()) got.push(fieldsOf(table))
        expect(got).toEqual(expected)
        expect(got).toHaveLength(records.length)
      }),
      { numRuns: 100 },
    )
  })

  it('a corrupt batch throws as the walk does, and a table filled again forgets the previous batch', () => {
    const good = new RecordBatch(encodeRecordBatch([{ key: null, value: Buffer.from('ok'), headers: [] }]))
    const bad = Buffer.from(
      encodeRecordBatch([
        { key: null, value: Buffer.from('a'), headers: [] },
        { key: null, value: Buffer.from('b'), headers: [] },
      ]),
    )
    bad.writeInt32BE(3, 57) // declares 3 records, holds 2
    const table = new RecordTable()
    const walk = () => {
      const s = new RecordBatch(bad).recordSpans()
      while (s.next()) {
        // to the corrupt record
      }
    }
    let message = 'no error'
    try {
      walk()
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).not.toBe('no error')
    expect(() => table.fill(new RecordBatch(bad).recordSpans())).toThrow(message)
    table.fill(good.recordSpans())
    let n = 0
    while (table.next()) n++
    expect(n).toBe(1)
    table.clear()
    expect(table.next()).toBe(false)
  })
})
