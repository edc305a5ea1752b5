import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CrcMismatchError, InvalidRecordBatchError } from '../../../codec/errors.js'
import {
  CompressionType,
  ControlRecordType,
  decodeControlRecord,
  encodeEndTxnMarkerBatch,
  encodeRecordBatch,
  RecordBatch,
  type RecordInput,
  readBatches,
  recompressBatch,
  TimestampType,
} from '../../../codec/records/index.js'
import { recordsArbitrary } from './arbitraries.js'
import { maxTimestampOf, viewOf } from './interop-records.js'

const TYPES = [0, 1, 2, 3, 4] as const

function single(buf: Buffer): RecordBatch {
  const entries = [...readBatches(buf)]
  expect(entries).toHaveLength(1)
  expect(entries[0]).toBeInstanceOf(RecordBatch)
  return entries[0] as RecordBatch
}

function inputView(r: RecordInput) {
  return viewOf({ timestamp: r.timestamp!, key: r.key ?? null, value: r.value ?? null, headers: r.headers ?? [] })
}

describe('record batch encode -> decode', () => {
  it.each(TYPES)('round-trips random records with compression %i', (compression) => {
    fc.assert(
      fc.property(recordsArbitrary, fc.bigInt({ min: 0n, max: 2n ** 62n }), (records, baseOffset) => {
        const batch = single(encodeRecordBatch(records, { compression, baseOffset }))
        expect(batch.verifyCrc()).toBe(true)
        expect(batch.compression).toBe(compression)
        expect(batch.baseOffset).toBe(baseOffset)
        expect(batch.recordCount).toBe(records.length)
        const decoded = batch.toArray({ verifyCrc: true })
        expect(decoded.map((r) => r.offset)).toEqual(records.map((_, i) => baseOffset + BigInt(i)))
        expect(decoded.map(viewOf)).toEqual(records.map(inputView))
        if (records.length > 0) {
          expect(batch.lastOffset).toBe(baseOffset + BigInt(records.length - 1))
          expect(batch.baseTimestamp).toBe(records[0]!.timestamp)
          expect(batch.maxTimestamp).toBe(maxTimestampOf(records))
        }
      }),
      { numRuns: compression === 0 ? 200 : 60 },
    )
  })

  it('round-trips a large batch of many records', () => {
    const records = Array.from({ length: 20_000 }, (_, i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.alloc(50 + (i % 200), i & 0xff),
      timestamp: 1_700_000_000_000n + BigInt(i),
    }))
    for (const compression of TYPES) {
      const batch = single(encodeRecordBatch(records, { compression }))
      let n = 0
      for (const r of batch) {
        expect(r.offsetDelta).toBe(n)
        expect(r.timestampDelta).toBe(n)
        n++
      }
      expect(n).toBe(records.length)
    }
  })

  it('keeps the header fields it is given', () => {
    const buf = encodeRecordBatch([{ value: Buffer.from('v'), timestamp: 5n, offsetDelta: 3 }], {
      baseOffset: 1000n,
      partitionLeaderEpoch: 12,
      producerId: 77n,
      producerEpoch: 2,
      baseSequence: 99,
      isTransactional: true,
      timestampType: TimestampType.LogAppendTime,
      maxTimestamp: 123n,
    })
    const batch = single(buf)
    expect(batch).toMatchObject({
      baseOffset: 1000n,
      lastOffsetDelta: 3,
      lastOffset: 1003n,
      partitionLeaderEpoch: 12,
      magic: 2,
      producerId: 77n,
      producerEpoch: 2,
      baseSequence: 99,
      isTransactional: true,
      isControl: false,
      hasDeleteHorizon: false,
      timestampType: TimestampType.LogAppendTime,
      baseTimestamp: 5n,
      maxTimestamp: 123n,
      batchLength: buf.length - 12,
    })
    // LogAppendTime: every record takes the batch's maxTimestamp (DefaultRecordBatch).
    const [record] = batch.toArray()
    expect(record!.timestamp).toBe(123n)
    expect(record!.offset).toBe(1003n)
  })

  it('encodes an empty batch', () => {
    const batch = single(encodeRecordBatch([], { baseOffset: 5n }))
    expect(batch.recordCount).toBe(0)
    expect(batch.toArray()).toEqual([])
    expect(batch.maxTimestamp).toBe(-1n)
    expect(batch.deleteHorizonMs).toBeNull()
  })

  it('marks a delete horizon and stores it as the base timestamp', () => {
    const batch = single(encodeRecordBatch([{ value: null, timestamp: 50n }], { deleteHorizonMs: 40n }))
    expect(batch.hasDeleteHorizon).toBe(true)
    expect(batch.deleteHorizonMs).toBe(40n)
    expect(batch.baseTimestamp).toBe(40n)
    expect(batch.toArray()[0]!.timestamp).toBe(50n)
  })
})

describe('control batches', () => {
  it.each([true, false])('round-trip a transaction marker (commit %s)', (commit) => {
    const batch = single(
      encodeEndTxnMarkerBatch({ producerId: 9n, producerEpoch: 3, commit, coordinatorEpoch: 17, timestamp: 1n }),
    )
    expect(batch.isControl).toBe(true)
    expect(batch.isTransactional).toBe(true)
    expect(batch.baseSequence).toBe(-1)
    const [record] = batch.toArray()
    expect(decodeControlRecord(record!)).toEqual({
      keyVersion: 0,
      type: commit ? ControlRecordType.Commit : ControlRecordType.Abort,
      coordinatorEpoch: 17,
    })
  })

  it('reports other control types without decoding their values', () => {
    const key = Buffer.from([0, 0, 0, ControlRecordType.LeaderChange])
    expect(decodeControlRecord({ key, value: Buffer.from([1, 2, 3]) })).toEqual({ keyVersion: 0, type: 2 })
  })

  it.each([
    ['a short key', { key: Buffer.from([0, 0, 0]), value: null }],
    ['a null key', { key: null, value: null }],
    ['a negative key version', { key: Buffer.from([0xff, 0xff, 0, 1]), value: Buffer.alloc(6) }],
    ['a short marker value', { key: Buffer.from([0, 0, 0, 1]), value: Buffer.alloc(5) }],
  ])('rejects %s', (_name, record) => {
    expect(() => decodeControlRecord(record)).toThrow(InvalidRecordBatchError)
  })
})

describe('CRC', () => {
  it('verifyCrc reports a flipped bit; decoding can be asked to verify', () => {
    const buf = Buffer.from(encodeRecordBatch([{ value: Buffer.from('hello'), timestamp: 1n }]))
    buf[buf.length - 2]! ^= 0x10
    const batch = single(buf)
    expect(batch.verifyCrc()).toBe(false)
    expect(() => batch.toArray({ verifyCrc: true })).toThrow(CrcMismatchError)
    expect(batch.toArray()).toHaveLength(1)
  })
})

describe('recompressBatch', () => {
  it.each(TYPES)('changes only the compression, length and CRC (to %i)', (to) => {
    const records = Array.from({ length: 50 }, (_, i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.from(`v${i}`),
      timestamp: BigInt(i),
    }))
    for (const from of TYPES) {
      const source = single(
        encodeRecordBatch(records, {
          compression: from,
          producerId: 5n,
          producerEpoch: 1,
          baseSequence: 40,
          baseOffset: 7n,
        }),
      )
      const out = single(recompressBatch(source, to))
      expect(out.compression).toBe(to)
      expect(out.verifyCrc()).toBe(true)
      expect([out.producerId, out.producerEpoch, out.baseSequence, out.baseOffset, out.lastOffsetDelta]).toEqual([
        5n,
        1,
        40,
        7n,
        49,
      ])
      expect(out.toArray().map(viewOf)).toEqual(source.toArray().map(viewOf))
    }
  })

  it('refuses to give a corrupted batch a fresh CRC', () => {
    const buf = Buffer.from(encodeRecordBatch([{ value: Buffer.from('hello'), timestamp: 1n }]))
    buf[buf.length - 1]! ^= 1
    expect(() => recompressBatch(single(buf), CompressionType.Gzip)).toThrow(CrcMismatchError)
  })
})
