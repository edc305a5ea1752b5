import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CompressionType,
  encodeEndTxnMarkerBatch,
  encodeRecordBatch,
  type RecordInput,
  readBatches,
  TimestampType,
} from '../../../codec/records/index.js'
import { Arena } from '../../../filters/tap/arena.js'
import { type Capture, declaredRecords, newCapture } from '../../../filters/tap/capture.js'
import { parseTapSpec } from '../../../filters/tap/config.js'
import { TAP_HEADERS } from '../../../filters/tap/decorate.js'
import { extractRecords } from '../../../filters/tap/extract.js'
import { copyRecords } from '../../../filters/tap/record-copies.js'
import { TapBatchBuilder } from '../../../filters/tap/tap-batch.js'
import { ActiveTap } from '../../../filters/tap/taps.js'
import { partitionForKey } from '../../../src/pipeline/filter-api.js'
import { checkedPrebuiltBatch } from '../../../src/upstream-client/prebuilt-batch.js'
import { fakeContext } from '../../support/filter-testing.js'

/** A seeded generator, so that the two paths' samplers draw the same numbers. */
function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s / 2 ** 32
  }
}

const tapOf = (fields: Record<string, unknown>, seed: number) =>
  new ActiveTap(parseTapSpec({ name: 't', topic: 'tap-out', ...fields }, 'tap'), 'config', 0, undefined, seeded(seed))

function captureOf(records: Buffer, taps: ActiveTap[], fields: Partial<Capture> = {}): Capture {
  const c = newCapture(
    {
      direction: fields.direction ?? 'produce',
      topic: 'orders',
      topicId: undefined,
      partition: 3,
      view: records,
      taps,
      ctx: fakeContext({ clientId: 'orders-svc', principal: 'shop/orders' }),
      fetchOffset: fields.fetchOffset,
    },
    declaredRecords(records),
    new Arena(1024 * 1024, 1),
  )
  return Object.assign(c, fields)
}

interface Plain {
  key: string | null
  value: string | null
  headers: [string, string | null][]
  timestamp: bigint
}

const str = (v: Uint8Array | string | null | undefined) =>
  v == null ? null : typeof v === 'string' ? v : Buffer.from(v).toString('latin1')

/** What the decoding path copies. */
function slowCopies(c: Capture): Plain[] {
  const out: Plain[] = []
  extractRecords(c, 'pod-a', (e) =>
    out.push({
      key: str(e.record.key),
      value: str(e.record.value),
      headers: (e.record.headers ?? []).map((h) => [h.key, str(h.value)]),
      timestamp: e.record.timestamp as bigint,
    }),
  )
  return out
}

/** What the encoded path copies, through tap batches of at most `limit` bytes, decoded with the codec. */
function fastCopies(
  c: Capture,
  limit: number,
): { copies: Plain[]; batches: Buffer[]; partitions: (number | undefined)[] } {
  const batches: Buffer[] = []
  const partitions: (number | undefined)[] = []
  let builder: TapBatchBuilder | undefined
  const seal = () => {
    if (builder !== undefined && builder.count > 0) batches.push(Buffer.from(builder.finish()))
  }
  const result = copyRecords(
    c,
    c.taps.map((tap) => ({ tap, partitions: 5 })),
    'pod-a',
    (_tap, partition, need) => {
      partitions.push(partition)
      if (builder === undefined) builder = new TapBatchBuilder(undefined, limit)
      else if (builder.wouldOverflow(need)) {
        seal()
        builder.reset(undefined, limit)
      }
      return builder
    },
  )
  seal()
  expect(result.unreadable).toBe(0)
  const copies: Plain[] = []
  for (const raw of batches) {
    expect(checkedPrebuiltBatch(raw)).toBeGreaterThan(0)
    for (const entry of readBatches(raw)) {
      if (entry.kind !== 'batch') throw new Error(`not a batch: ${entry.kind}`)
      expect(entry.verifyCrc()).toBe(true)
      expect(entry.timestampType).toBe(TimestampType.CreateTime)
      let i = 0
      for (const r of entry.records()) {
        expect(r.offsetDelta).toBe(i++)
        copies.push({
          key: str(r.key),
          value: str(r.value),
          headers: r.headers.map((h) => [h.key, str(h.value)]),
          timestamp: r.timestamp,
        })
      }
    }
  }
  return { copies, batches, partitions }
}

const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a))
const record: fc.Arbitrary<RecordInput> = fc.record({
  key: fc.option(bytes, { nil: null }),
  value: fc.option(bytes, { nil: null }),
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 20 }), value: fc.option(bytes, { nil: null }) }), {
    maxLength: 12,
  }),
  timestamp: fc.bigInt({ min: 0n, max: 4_000_000_000_000n }),
})
const compression = fc.constantFrom(
  CompressionType.None,
  CompressionType.Gzip,
  CompressionType.Snappy,
  CompressionType.Lz4,
  CompressionType.Zstd,
)
const batchArb = fc.record({ records: fc.array(record, { minLength: 1, maxLength: 40 }), compression })

describe('tap copies built from encoded records', () => {
  it('decode to exactly what the decoding path copies: random batches, every compression, sampled or not', () => {
    fc.assert(
      fc.property(
        fc.array(batchArb, { minLength: 1, maxLength: 4 }),
        fc.constantFrom(undefined, { rate: 0.5, by: 'records' }, { rate: 0.5, by: 'batches' }),
        fc.option(fc.bigInt({ min: 0n, max: 2n ** 40n }), { nil: undefined }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(300, 16 * 1024),
        (batches, sample, baseOffset, seed, limit) => {
          const raw = Buffer.concat(batches.map((b) => encodeRecordBatch(b.records, { compression: b.compression })))
          const fields = { ...(sample !== undefined && { sample }) }
          const slow = slowCopies(captureOf(raw, [tapOf(fields, seed)], { baseOffset }))
          const fast = fastCopies(captureOf(raw, [tapOf(fields, seed)], { baseOffset }), limit)
          expect(fast.copies).toEqual(slow)
          if (sample === undefined) expect(slow).toHaveLength(batches.reduce((n, b) => n + b.records.length, 0))
        },
      ),
      { numRuns: 150 },
    )
  })

  it('fetched records: own offsets, LogAppendTime, control batches and records below the fetch offset left out', () => {
    const rec = (i: number): RecordInput => ({
      key: i % 2 ? null : Buffer.from(`k${i}`),
      value: i % 3 ? Buffer.from(`v${i}`) : null,
      headers: [{ key: 'app', value: Buffer.from(`h${i}`) }],
      timestamp: 1_700_000_000_000n + BigInt(i * 1000),
    })
    const raw = Buffer.concat([
      encodeRecordBatch([rec(0), rec(1), rec(2)], { baseOffset: 10n, compression: CompressionType.Lz4 }),
      encodeEndTxnMarkerBatch({ producerId: 1n, producerEpoch: 0, commit: true, coordinatorEpoch: 0, baseOffset: 13n }),
      encodeRecordBatch([rec(3), rec(4)], {
        baseOffset: 14n,
        timestampType: TimestampType.LogAppendTime,
        maxTimestamp: 7n,
      }),
      encodeRecordBatch([rec(5)], { baseOffset: 2n ** 60n }),
    ])
    const fields = { match: { direction: 'fetch' } }
    const slow = slowCopies(captureOf(raw, [tapOf(fields, 1)], { direction: 'fetch', fetchOffset: 11n }))
    const fast = fastCopies(captureOf(raw, [tapOf(fields, 1)], { direction: 'fetch', fetchOffset: 11n }), 16384)
    expect(fast.copies).toEqual(slow)
    const offsets = fast.copies.map((c) => c.headers.find(([k]) => k === TAP_HEADERS.offset)?.[1])
    expect(offsets).toEqual(['11', '12', '14', '15', String(2n ** 60n)])
    const ts = (i: number) => rec(i).timestamp!
    expect(fast.copies.map((c) => c.timestamp)).toEqual([ts(1), ts(2), 7n, 7n, ts(5)])
  })

  it('the broker-refused partition (error header), acks=0 (no offset) and LogAppendTime from the Produce response', () => {
    const raw = encodeRecordBatch([{ key: null, value: Buffer.from('x'), headers: [] }], { timestamp: 5n })
    for (const fields of [{ errorCode: 6 }, {}, { baseOffset: 3n, logAppendTime: 42n }] as Partial<Capture>[]) {
      const slow = slowCopies(captureOf(raw, [tapOf({}, 1)], fields))
      expect(fastCopies(captureOf(raw, [tapOf({}, 1)], fields), 16384).copies).toEqual(slow)
    }
  })

  it('timestamps beyond the safe integers stay exact', () => {
    const far = 2n ** 62n
    const raw = encodeRecordBatch([
      { key: null, value: Buffer.from('a'), headers: [], timestamp: far },
      { key: null, value: Buffer.from('b'), headers: [], timestamp: far + 3n },
      { key: null, value: Buffer.from('c'), headers: [], timestamp: 1n },
    ])
    const slow = slowCopies(captureOf(raw, [tapOf({}, 1)], { baseOffset: 0n }))
    expect(fastCopies(captureOf(raw, [tapOf({}, 1)], { baseOffset: 0n }), 16384).copies).toEqual(slow)
  })

  it('keyed copies go to the partition Kafka puts the key on; keyless ones to none in particular', () => {
    const keys = ['a', 'bb', 'order-17', 'zzzz']
    const raw = encodeRecordBatch([
      ...keys.map((k) => ({ key: Buffer.from(k), value: null, headers: [] })),
      { key: null, value: Buffer.from('v'), headers: [] },
    ])
    const { partitions } = fastCopies(captureOf(raw, [tapOf({}, 1)], { baseOffset: 0n }), 16384)
    expect(partitions).toEqual([...keys.map((k) => partitionForKey(Buffer.from(k), 5)), undefined])
  })

  it('a corrupt batch is unreadable as a whole, as on the decoding path: nothing of it is copied', () => {
    const good = encodeRecordBatch([{ key: null, value: Buffer.from('ok'), headers: [] }])
    const bad = Buffer.from(
      encodeRecordBatch([
        { key: null, value: Buffer.from('a'), headers: [] },
        { key: null, value: Buffer.from('b'), headers: [] },
      ]),
    )
    bad.writeInt32BE(3, 57) // declares 3 records, holds 2
    const c = captureOf(Buffer.concat([good, bad]), [tapOf({}, 1)], { baseOffset: 0n })
    const copies: number[] = []
    const builder = new TapBatchBuilder(undefined, 16384)
    const result = copyRecords(c, [{ tap: c.taps[0]!, partitions: 1 }], 'pod-a', () => {
      copies.push(1)
      return builder
    })
    expect(copies).toHaveLength(1)
    expect(result.unreadable).toBe(3)
    const slow = extractRecords(c, 'pod-a', () => {})
    expect(result.unreadable).toBe(slow.unreadable)
  })
})
