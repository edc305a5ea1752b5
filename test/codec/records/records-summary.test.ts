import { describe, expect, it } from 'vitest'
import { InvalidRecordBatchError } from '../../../codec/errors.js'
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  readRequest,
  readResponse,
} from '../../../codec/messages/frames.js'
import { ApiKey } from '../../../codec/messages/generated/apis.js'
import type { FetchResponse } from '../../../codec/messages/generated/fetch-response.js'
import type { ProduceRequest } from '../../../codec/messages/generated/produce-request.js'
import { PiecesReader } from '../../../codec/primitives/pieces-reader.js'
import { Reader } from '../../../codec/primitives/reader.js'
import {
  encodeEndTxnMarkerBatch,
  encodeRecordBatch,
  isRecordsSummary,
  type RecordsSummary,
  readRecordsSummary,
  summarizeRecords,
} from '../../../codec/records/index.js'
import { legacyMessage } from './legacy-message.js'

const v2 = encodeRecordBatch(
  [
    { key: Buffer.from('a'), value: Buffer.from('1'), timestamp: 1n },
    { key: Buffer.from('b'), value: Buffer.from('2'), timestamp: 2n },
  ],
  { baseOffset: 10n },
)
const compressed = encodeRecordBatch([{ value: Buffer.alloc(300, 7), timestamp: 3n }], {
  baseOffset: 12n,
  compression: 1,
})
const transactional = encodeRecordBatch([{ value: Buffer.from('t'), timestamp: 4n }], {
  baseOffset: 13n,
  isTransactional: true,
  producerId: 5n,
  producerEpoch: 0,
  baseSequence: 0,
})
const marker = encodeEndTxnMarkerBatch({
  producerId: 5n,
  producerEpoch: 0,
  commit: true,
  coordinatorEpoch: 1,
  baseOffset: 14n,
})

const all = Buffer.concat([v2, compressed, transactional, marker])

/** The buffer split into pieces at the given positions, as socket reads would cut it. */
function split(buf: Buffer, ...cuts: number[]): Buffer[] {
  const points = [0, ...cuts, buf.length]
  return points.slice(1).map((end, i) => buf.subarray(points[i], end))
}

describe('records summaries', () => {
  it('summarizes batch headers: offsets, counts, control and transactional flags, sizes', () => {
    const s = summarizeRecords(all)
    expect(s.byteLength).toBe(all.length)
    expect(s.partialBytes).toBe(0)
    expect(
      s.batches.map((b) => [b.baseOffset, b.lastOffsetDelta, b.recordCount, b.isControl, b.isTransactional]),
    ).toEqual([
      [10n, 1, 2, false, false],
      [12n, 0, 1, false, false],
      [13n, 0, 1, false, true],
      [14n, 0, 1, true, true],
    ])
    expect(s.batches.map((b) => b.sizeInBytes)).toEqual([
      v2.length,
      compressed.length,
      transactional.length,
      marker.length,
    ])
    expect(summarizeRecords(s)).toBe(s)
    expect(isRecordsSummary(s)).toBe(true)
    expect(isRecordsSummary(all)).toBe(false)
  })

  it('reads the same summary from a reader over one buffer and over pieces cut anywhere', () => {
    const expected = summarizeRecords(all)
    const framed = Buffer.concat([Buffer.from([9, 9, 9]), all, Buffer.from([8])])
    const r = new Reader(framed, 3)
    expect(readRecordsSummary(r, all.length)).toEqual(expected)
    expect(r.pos).toBe(3 + all.length)
    for (let cut = 1; cut < all.length; cut += 7) {
      for (const second of [cut + 1, cut + 61, all.length - 1]) {
        if (second <= cut || second >= all.length) continue
        const pr = new PiecesReader(split(all, cut, second))
        expect(readRecordsSummary(pr, all.length), `cuts at ${cut} and ${second}`).toEqual(expected)
        expect(pr.pos).toBe(all.length)
      }
    }
  })

  it('counts legacy (magic 0/1) messages as one record each', () => {
    const legacy = Buffer.concat([legacyMessage(41n, 'old'), legacyMessage(42n, 'older')])
    const fromBuffer = summarizeRecords(legacy)
    expect(fromBuffer.batches.map((b) => [b.magic, b.baseOffset, b.recordCount])).toEqual([
      [1, 41n, 1],
      [1, 42n, 1],
    ])
    expect(readRecordsSummary(new PiecesReader(split(legacy, 5, 30)), legacy.length)).toEqual(fromBuffer)
  })

  it('reports a trailing partial batch (a Fetch response cut at max.bytes) at every cut', () => {
    for (let cut = v2.length + 1; cut < v2.length + compressed.length; cut++) {
      const cutAll = all.subarray(0, cut)
      const expected = summarizeRecords(cutAll)
      expect(expected.batches).toHaveLength(1)
      expect(expected.partialBytes).toBe(cut - v2.length)
      expect(readRecordsSummary(new PiecesReader(split(cutAll, 3, cut - 2)), cutAll.length)).toEqual(expected)
    }
  })

  it('rejects a batch length below the smallest message, as readBatches does', () => {
    const bad = Buffer.from(all)
    bad.writeInt32BE(3, v2.length + 8)
    expect(() => summarizeRecords(bad)).toThrow(InvalidRecordBatchError)
    expect(() => readRecordsSummary(new Reader(bad), bad.length)).toThrow(InvalidRecordBatchError)
    const badMagic = Buffer.from(all)
    badMagic.writeInt8(7, 16)
    expect(() => readRecordsSummary(new Reader(badMagic), badMagic.length)).toThrow(InvalidRecordBatchError)
  })
})

describe('decoding with records as summaries', () => {
  it('a Produce request in pieces: every other field as a full decode gives it, records as summaries', () => {
    const body: ProduceRequest = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30_000,
      topicData: [
        {
          name: 'orders',
          partitionData: [
            { index: 0, records: all },
            { index: 1, records: v2 },
          ],
        },
      ],
    }
    for (const version of [3, 8, 9, 12]) {
      const frame = encodeRequest(
        { requestApiKey: ApiKey.Produce, requestApiVersion: version, correlationId: 7, clientId: 'c' },
        body,
      )
      const full = decodeRequest(frame, 4)
      for (const cut of [20, 60, 200, frame.length - 30]) {
        const r = new PiecesReader(split(frame, cut, cut + 13), 4)
        r.recordsReader = readRecordsSummary
        const summarized = readRequest(r)
        const b = summarized.body as ProduceRequest
        const records = b.topicData[0]!.partitionData.map((p) => p.records as unknown as RecordsSummary)
        expect(records.map((x) => x.kind)).toEqual(['records-summary', 'records-summary'])
        expect(records[0]).toEqual(summarizeRecords(all))
        expect(records[1]).toEqual(summarizeRecords(v2))
        // Everything but the records is what a full decode gives.
        const strip = (x: ProduceRequest) => ({
          ...x,
          topicData: x.topicData.map((t) => ({
            ...t,
            partitionData: t.partitionData.map((p) => ({ ...p, records: null })),
          })),
        })
        expect(strip(b)).toEqual(strip(full.body as ProduceRequest))
        expect(summarized.header).toEqual(full.header)
      }
    }
  })

  it('a Fetch response in pieces, with a partial last batch and a null records field', () => {
    const body: FetchResponse = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topic: 'orders',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 20n,
              lastStableOffset: 20n,
              logStartOffset: 0n,
              abortedTransactions: [],
              preferredReadReplica: -1,
              records: all.subarray(0, all.length - 5),
            },
            {
              partitionIndex: 1,
              errorCode: 0,
              highWatermark: 0n,
              lastStableOffset: 0n,
              logStartOffset: 0n,
              abortedTransactions: null,
              preferredReadReplica: -1,
              records: null,
            },
          ],
        },
      ],
    }
    const frame = encodeResponse(ApiKey.Fetch, 11, { correlationId: 3 }, body)
    const full = decodeResponse(frame, ApiKey.Fetch, 11, 4)
    const r = new PiecesReader(split(frame, 50, 300, 301), 4)
    r.recordsReader = readRecordsSummary
    const summarized = readResponse(r, ApiKey.Fetch, 11)
    const partitions = (summarized.body as FetchResponse).responses[0]!.partitions
    const first = partitions[0]!.records as unknown as RecordsSummary
    expect(first).toEqual(summarizeRecords(all.subarray(0, all.length - 5)))
    expect(first.partialBytes).toBe(marker.length - 5)
    expect(partitions[1]!.records).toBeNull()
    expect(partitions[0]!.highWatermark).toBe((full.body as FetchResponse).responses[0]!.partitions[0]!.highWatermark)
  })

  it('a records reader that stops short of the field is an error, not a silent misread', () => {
    const frame = encodeRequest(
      { requestApiKey: ApiKey.Produce, requestApiVersion: 9, correlationId: 1, clientId: 'c' },
      {
        transactionalId: null,
        acks: 1,
        timeoutMs: 1,
        topicData: [{ name: 't', partitionData: [{ index: 0, records: v2 }] }],
      },
    )
    const r = new Reader(frame, 4)
    r.recordsReader = (reader) => {
      reader.skip(3)
      return null
    }
    expect(() => readRequest(r)).toThrow(/stopped at/)
  })
})
