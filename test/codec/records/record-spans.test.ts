import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Reader } from '../../../codec/primitives/reader.js'
import { type CompressionType, encodeRecordBatch, RecordBatch, readBatches } from '../../../codec/records/index.js'
import { recordsArbitrary } from './arbitraries.js'

/** The records section starts after the 61-byte v2 batch header (batch-layout.ts RECORDS). */
const RECORDS = 61

function single(buf: Buffer): RecordBatch {
  const [entry] = [...readBatches(buf)]
  if (!(entry instanceof RecordBatch)) throw new Error('expected one record batch')
  return entry
}

function spanOf(data: Buffer, start: number, length: number): Buffer | null {
  return length < 0 ? null : data.subarray(start, start + length)
}

/** Headers read back from where the walk says they start, to compare with decodeRecord's. */
function headersAt(data: Buffer, start: number, count: number): { key: string; value: Buffer | null }[] {
  const r = new Reader(data, start)
  const out: { key: string; value: Buffer | null }[] = []
  for (let i = 0; i < count; i++) {
    const key = r.raw(r.varint()).toString('utf8')
    const n = r.varint()
    out.push({ key, value: n < 0 ? null : r.raw(n) })
  }
  return out
}

/** What walking the records gives: per record the key, value and headers, then how the walk ended. */
function walk(batch: RecordBatch): { records: unknown[]; error: string | undefined } {
  const records: unknown[] = []
  try {
    const spans = batch.recordSpans()
    while (spans.next()) {
      records.push({
        key: spanOf(spans.data, spans.keyStart, spans.keyLength),
        value: spanOf(spans.data, spans.valueStart, spans.valueLength),
        headers: headersAt(spans.data, spans.headersStart, spans.headerCount),
      })
    }
  } catch (err) {
    return { records, error: `${(err as Error).constructor.name}: ${(err as Error).message}` }
  }
  return { records, error: undefined }
}

/** The same from decodeRecord (RecordBatch.records). */
function decode(batch: RecordBatch): { records: unknown[]; error: string | undefined } {
  const records: unknown[] = []
  try {
    for (const r of batch.records()) {
      records.push({ key: r.key, value: r.value, headers: r.headers.map((h) => ({ key: h.key, value: h.value })) })
    }
  } catch (err) {
    return { records, error: `${(err as Error).constructor.name}: ${(err as Error).message}` }
  }
  return { records, error: undefined }
}

describe('RecordSpans', () => {
  it.each([0, 1, 2, 3, 4] as const)('walks the records decodeRecord decodes, compression %i', (compression) => {
    fc.assert(
      fc.property(recordsArbitrary, (records) => {
        const batch = single(encodeRecordBatch(records, { compression: compression as CompressionType }))
        const walked = walk(batch)
        expect(walked.error).toBeUndefined()
        expect(walked.records).toHaveLength(records.length)
        expect(walked).toEqual(decode(batch))
      }),
      { numRuns: compression === 0 ? 200 : 40 },
    )
  })

  it('refuses corrupt records with the same error, at the same record, as decodeRecord', () => {
    const corrupt = fc
      .tuple(
        recordsArbitrary.filter((r) => r.length > 0),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat(), { nil: undefined }),
      )
      .map(([records, flips, cut]) => {
        const buf = Buffer.from(encodeRecordBatch(records))
        const span = buf.length - RECORDS
        for (const [at, byte] of flips) buf[RECORDS + (at % span)] = byte
        // Cutting the records short, with the batch length following, leaves a batch that is whole but whose
        // last record is not.
        const whole = cut === undefined ? buf : buf.subarray(0, RECORDS + (cut % span))
        whole.writeInt32BE(whole.length - 12, 8)
        return whole
      })
    let refused = 0
    fc.assert(
      fc.property(corrupt, (buf) => {
        const batch = single(buf)
        const walked = walk(batch)
        if (walked.error !== undefined) refused++
        expect(walked).toEqual(decode(batch))
      }),
      { numRuns: 400, seed: 7 },
    )
    // The property means little unless most inputs are refused somewhere.
    expect(refused).toBeGreaterThan(200)
  })

  it('checks the declared count against the bytes before the first record, as records() does', () => {
    const buf = Buffer.from(encodeRecordBatch([{ value: Buffer.from('a') }]))
    buf.writeInt32BE(1000, 57)
    const batch = single(buf)
    expect(() => batch.recordSpans()).toThrow(/declares 1000 record\(s\)/)
    const trailing = Buffer.from(encodeRecordBatch([{ value: Buffer.from('a') }, { value: Buffer.from('b') }]))
    trailing.writeInt32BE(1, 57)
    const spans = single(trailing).recordSpans()
    expect(spans.next()).toBe(true)
    expect(() => spans.next()).toThrow(/byte\(s\) after its 1 declared record/)
  })
})
