import { describe, expect, it } from 'vitest'
import {
  CompressionType,
  encodeEndTxnMarkerBatch,
  encodeRecordBatch,
  type RecordInput,
  TimestampType,
} from '../../../codec/records/index.js'
import { Arena } from '../../../filters/tap/arena.js'
import { type Capture, declaredRecords, newCapture } from '../../../filters/tap/capture.js'
import { parseTapSpec } from '../../../filters/tap/config.js'
import { TAP_HEADERS } from '../../../filters/tap/decorate.js'
import { type Extracted, extractRecords } from '../../../filters/tap/extract.js'
import { ActiveTap } from '../../../filters/tap/taps.js'
import { fakeContext } from '../../support/filter-testing.js'

const tap = (fields: Record<string, unknown> = {}) =>
  new ActiveTap(parseTapSpec({ name: 't', topic: 'tap-out', ...fields }, 'tap'), 'config', 0, undefined)

const rec = (i: number, extra: Partial<RecordInput> = {}): RecordInput => ({
  key: Buffer.from(`k${i}`),
  value: Buffer.from(`v${i}`),
  headers: [{ key: 'app', value: Buffer.from(`h${i}`) }],
  timestamp: 1_700_000_000_000n + BigInt(i),
  ...extra,
})

function capture(records: Buffer, fields: Partial<Capture> & { taps: ActiveTap[] }): Capture {
  const c = newCapture(
    {
      direction: fields.direction ?? 'produce',
      topic: 'orders',
      topicId: undefined,
      partition: 3,
      view: records,
      taps: fields.taps,
      ctx: fakeContext({ clientId: 'orders-svc', principal: 'shop/orders' }),
      fetchOffset: fields.fetchOffset,
    },
    declaredRecords(records),
    new Arena(1024 * 1024, 1),
  )
  return Object.assign(c, fields)
}

const headers = (e: Extracted) =>
  Object.fromEntries(
    (e.record.headers ?? []).map((h) => [
      h.key,
      h.value === null ? null : Buffer.from(h.value as Uint8Array).toString(),
    ]),
  )

function run(c: Capture): { out: Extracted[]; result: ReturnType<typeof extractRecords> } {
  const out: Extracted[] = []
  const result = extractRecords(c, 'pod-a', (e) => out.push(e))
  return { out, result }
}

describe('tap extraction', () => {
  it('produced records: key, value, own headers, timestamp, and the tap headers with offsets from the response', () => {
    const c = capture(encodeRecordBatch([rec(0), rec(1), rec(2)]), { taps: [tap()], baseOffset: 100n })
    const { out } = run(c)
    expect(out).toHaveLength(3)
    expect(out.map((e) => Buffer.from(e.record.value as Uint8Array).toString())).toEqual(['v0', 'v1', 'v2'])
    expect(Buffer.from(out[1]!.record.key as Uint8Array).toString()).toBe('k1')
    expect(out[2]!.record.timestamp).toBe(1_700_000_000_002n)
    expect(headers(out[1]!)).toEqual({
      app: 'h1',
      [TAP_HEADERS.name]: 't',
      [TAP_HEADERS.direction]: 'produce',
      [TAP_HEADERS.topic]: 'orders',
      [TAP_HEADERS.partition]: '3',
      [TAP_HEADERS.clientId]: 'orders-svc',
      [TAP_HEADERS.principal]: 'shop/orders',
      [TAP_HEADERS.sidecar]: 'pod-a',
      [TAP_HEADERS.offset]: '101',
    })
    // The tap's headers follow the record's own.
    expect(out[0]!.record.headers![0]!.key).toBe('app')
    expect(out[0]!.bytes).toBe(4)
  })

  it('no offset without an answer (acks=0); the error when the broker refused the partition', () => {
    expect(headers(run(capture(encodeRecordBatch([rec(0)]), { taps: [tap()] })).out[0]!)).not.toHaveProperty(
      TAP_HEADERS.offset,
    )
    const refused = run(capture(encodeRecordBatch([rec(0)]), { taps: [tap()], errorCode: 6 })).out[0]!
    expect(headers(refused)[TAP_HEADERS.error]).toBe('NOT_LEADER_OR_FOLLOWER')
    expect(headers(refused)).not.toHaveProperty(TAP_HEADERS.offset)
  })

  it('LogAppendTime from the Produce response replaces the client timestamps', () => {
    const { out } = run(capture(encodeRecordBatch([rec(0)]), { taps: [tap()], baseOffset: 0n, logAppendTime: 42n }))
    expect(out[0]!.record.timestamp).toBe(42n)
  })

  it.each([
    ['gzip', CompressionType.Gzip],
    ['snappy', CompressionType.Snappy],
    ['lz4', CompressionType.Lz4],
    ['zstd', CompressionType.Zstd],
  ])('%s batches are decompressed, and the decompressed bytes reported', (_name, compression) => {
    const records = Array.from({ length: 50 }, (_, i) => rec(i, { value: Buffer.alloc(200, 0x61 + (i % 26)) }))
    const { out, result } = run(capture(encodeRecordBatch(records, { compression }), { taps: [tap()], baseOffset: 0n }))
    expect(out).toHaveLength(50)
    expect(Buffer.from(out[49]!.record.value as Uint8Array)).toEqual(Buffer.alloc(200, 0x61 + 23))
    expect(result.decompressedBytes).toBeGreaterThan(50 * 200)
  })

  it('fetched records: their own offsets and timestamps (LogAppendTime included); control batches and records below the fetch offset left out', () => {
    const first = encodeRecordBatch([rec(0), rec(1), rec(2)], { baseOffset: 10n })
    const marker = encodeEndTxnMarkerBatch({
      producerId: 1n,
      producerEpoch: 0,
      commit: true,
      coordinatorEpoch: 0,
      baseOffset: 13n,
    })
    const appended = encodeRecordBatch([rec(3)], {
      baseOffset: 14n,
      timestampType: TimestampType.LogAppendTime,
      maxTimestamp: 7n,
    })
    const records = Buffer.concat([first, marker, appended])
    const c = capture(records, { direction: 'fetch', taps: [tap({ match: { direction: 'fetch' } })], fetchOffset: 11n })
    const { out } = run(c)
    expect(out.map((e) => headers(e)[TAP_HEADERS.offset])).toEqual(['11', '12', '14'])
    expect(out.map((e) => headers(e)[TAP_HEADERS.direction])).toEqual(['fetch', 'fetch', 'fetch'])
    expect(out[2]!.record.timestamp).toBe(7n)
  })

  it('a trailing partial batch (a Fetch response cut at max.bytes) is skipped', () => {
    const whole = encodeRecordBatch([rec(0)], { baseOffset: 5n })
    const next = encodeRecordBatch([rec(1)], { baseOffset: 6n })
    const c = capture(Buffer.concat([whole, next.subarray(0, 30)]), { direction: 'fetch', taps: [tap()] })
    expect(run(c).out.map((e) => headers(e)[TAP_HEADERS.offset])).toEqual(['5'])
  })

  it('metadata only: sizes and header names, no key, value or header value', () => {
    const { out } = run(capture(encodeRecordBatch([rec(0)]), { taps: [tap({ metadataOnly: true })], baseOffset: 0n }))
    expect(out[0]!.record.key).toBeNull()
    expect(JSON.parse(Buffer.from(out[0]!.record.value as Uint8Array).toString())).toEqual({
      keyBytes: 2,
      valueBytes: 2,
      headers: ['app'],
      headerBytes: 5,
    })
    expect(headers(out[0]!)).not.toHaveProperty('app')
    expect(headers(out[0]!)[TAP_HEADERS.offset]).toBe('0')
  })

  it('redaction: JSON fields replaced; a value that is not JSON is not copied and the header says so', () => {
    const json = rec(0, { value: Buffer.from('{"user":{"email":"a@b","id":1}}') })
    const text = rec(1, { value: Buffer.from('not json') })
    const { out } = run(
      capture(encodeRecordBatch([json, text]), { taps: [tap({ redact: ['user.email'] })], baseOffset: 0n }),
    )
    expect(Buffer.from(out[0]!.record.value as Uint8Array).toString()).toBe('{"user":{"email":"[REDACTED]","id":1}}')
    expect(out[1]!.record.value).toBeNull()
    expect(headers(out[1]!)[TAP_HEADERS.redaction]).toBe('not-json')
  })

  it('each tap samples on its own and gets its own copies', () => {
    const never = new ActiveTap(
      parseTapSpec({ name: 'never', topic: 'x', sample: 0.5 }, 'tap'),
      'config',
      0,
      undefined,
      () => 0.99,
    )
    const { out } = run(capture(encodeRecordBatch([rec(0), rec(1)]), { taps: [tap(), never], baseOffset: 0n }))
    expect(out.map((e) => e.tap.name)).toEqual(['t', 't'])
  })

  it('a corrupt batch is reported as unreadable, not thrown', () => {
    const batch = encodeRecordBatch([rec(0), rec(1)], { compression: CompressionType.Gzip })
    batch.fill(0xff, 70) // the compressed records
    const { out, result } = run(capture(batch, { taps: [tap()] }))
    expect(out).toEqual([])
    expect(result.unreadable).toBe(2)
    expect(result.unreadableReason).toBeDefined()
  })
})
