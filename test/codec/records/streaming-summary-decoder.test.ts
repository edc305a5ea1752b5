import { describe, expect, it } from 'vitest'
import { InvalidRecordBatchError, TruncatedInputError } from '../../../codec/errors.js'
import { encodeRequest, encodeResponse, readRequest, readResponse } from '../../../codec/messages/frames.js'
import { ApiKey } from '../../../codec/messages/generated/apis.js'
import type { FetchResponse } from '../../../codec/messages/generated/fetch-response.js'
import type { ProduceRequest } from '../../../codec/messages/generated/produce-request.js'
import { Reader } from '../../../codec/primitives/reader.js'
import { encodeRecordBatch, readRecordsSummary } from '../../../codec/records/index.js'
import { MAX_REPLAY_READS, StreamingSummaryDecoder } from '../../../codec/records/streaming-summary-decoder.js'
import { legacyMessage } from './legacy-message.js'

/** A batch of `count` records of `valueBytes` each. */
function batch(baseOffset: bigint, count: number, valueBytes: number): Buffer {
  return encodeRecordBatch(
    Array.from({ length: count }, (_, i) => ({ value: Buffer.alloc(valueBytes, i), timestamp: BigInt(i) })),
    { baseOffset },
  )
}

function fetchResponse(version: number, partitions: Array<Buffer | null>): Buffer {
  const body: FetchResponse = {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        topic: 'orders',
        topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
        partitions: partitions.map((records, partitionIndex) => ({
          partitionIndex,
          errorCode: 0,
          highWatermark: 1000n + BigInt(partitionIndex),
          lastStableOffset: 1000n,
          logStartOffset: 0n,
          abortedTransactions: partitionIndex % 2 === 0 ? [] : [{ producerId: 9n, firstOffset: 3n }],
          preferredReadReplica: -1,
          records,
        })),
      },
    ],
  }
  return encodeResponse(ApiKey.Fetch, version, { correlationId: 42 }, body)
}

function produceRequest(version: number, partitions: Buffer[]): Buffer {
  const body: ProduceRequest = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: 'orders', partitionData: partitions.map((records, index) => ({ index, records })) }],
  }
  return encodeRequest(
    { requestApiKey: ApiKey.Produce, requestApiVersion: version, correlationId: 7, clientId: 'producer-1' },
    body,
  )
}

/** The summary decode of the whole frame at once: what the streamed decode must equal. */
function wholeSummary<T>(frame: Buffer, decode: (r: Reader) => T): T {
  const r = new Reader(frame, 4)
  r.recordsReader = readRecordsSummary
  return decode(r)
}

/**
 * Pushes `frame` in pieces of the given sizes (cycled), each a fresh copy that is overwritten right after push
 * returns, as a reused read buffer would be: a decoder that kept a view would decode garbage.
 */
function streamed<T>(
  frame: Buffer,
  sizes: number[],
  decode: (r: Reader) => T,
): { decoder: StreamingSummaryDecoder<T>; maxKept: number } {
  const decoder = new StreamingSummaryDecoder(frame.length, 4, decode)
  let at = 0
  let i = 0
  let maxKept = 0
  while (at < frame.length) {
    const n = Math.min(sizes[i++ % sizes.length]!, frame.length - at)
    const piece = Buffer.from(frame.subarray(at, at + n))
    decoder.push(piece)
    piece.fill(0xee)
    maxKept = Math.max(maxKept, decoder.keptBytes)
    at += n
  }
  return { decoder, maxKept }
}

const fetchDecode = (version: number) => (r: Reader) => readResponse(r, ApiKey.Fetch, version)

describe('StreamingSummaryDecoder', () => {
  const big = [
    Buffer.concat([batch(0n, 40, 1000), batch(40n, 40, 1000)]),
    null,
    Buffer.concat([batch(100n, 3, 10), legacyMessage(103n, 'legacy'), batch(104n, 60, 1000)]),
    // Cut inside its second batch, as a broker cuts at max.bytes.
    Buffer.concat([batch(200n, 50, 1000), batch(250n, 50, 1000)]).subarray(0, 70_000),
  ]

  for (const version of [4, 11, 12, 13, 15]) {
    it(`a Fetch v${version} response pushed in pieces of any size equals the whole decode`, () => {
      const frame = fetchResponse(version, big)
      const expected = wholeSummary(frame, fetchDecode(version))
      for (const sizes of [[3, 7], [61], [100, 4096], [65_536], [70_001, 13], [frame.length]]) {
        const { decoder } = streamed(frame, sizes, fetchDecode(version))
        expect(decoder.result()).toEqual(expected)
      }
      // Byte by byte, on a smaller response (each push costs a little; 300,000 of them would only be slow).
      const small = fetchResponse(version, [
        batch(0n, 3, 50),
        null,
        Buffer.concat([batch(3n, 2, 9), legacyMessage(5n, 'x')]),
      ])
      expect(streamed(small, [1], fetchDecode(version)).decoder.result()).toEqual(
        wholeSummary(small, fetchDecode(version)),
      )
    })
  }

  it('keeps only structure and split headers, not records, between pieces', () => {
    const frame = fetchResponse(12, big)
    for (const size of [4096, 16_384, 65_536]) {
      const { decoder, maxKept } = streamed(frame, [size], fetchDecode(12))
      decoder.result()
      // Four partition headers, a topic name and at most one split batch header: a few hundred bytes of ~300 KB.
      expect(maxKept).toBeLessThan(600)
      // Walked records fields are skipped by later replays: about two replays per field, not one per batch or piece.
      expect(decoder.replays).toBeLessThanOrEqual(2 * 4 + 1)
    }
  })

  it('a Produce request pushed in pieces equals the whole decode', () => {
    const partitions = [batch(0n, 64, 1000), batch(0n, 1, 5), Buffer.concat([batch(0n, 2, 3), batch(2n, 30, 900)])]
    for (const version of [3, 8, 9, 12]) {
      const frame = produceRequest(version, partitions)
      const expected = wholeSummary(frame, readRequest)
      for (const sizes of [[5, 250], [8192], [frame.length - 1, 1]]) {
        expect(streamed(frame, sizes, readRequest).decoder.result()).toEqual(expected)
      }
    }
  })

  it('past its budget of replay reads it keeps every further byte and still decodes the same', () => {
    // Many small partitions in small pieces: a replay for nearly every piece, each longer than the last.
    const partitions = Array.from({ length: MAX_REPLAY_READS / 32 }, (_, i) => batch(BigInt(i), 1, 20))
    const frame = fetchResponse(12, partitions)
    const expected = wholeSummary(frame, fetchDecode(12))
    const { decoder, maxKept } = streamed(frame, [97], fetchDecode(12))
    expect(decoder.result()).toEqual(expected)
    expect(maxKept).toBeGreaterThan(frame.length / 2)
  })

  it('a malformed batch fails with the error a whole decode gives, whenever it arrives', () => {
    const records = Buffer.concat([batch(0n, 5, 100), batch(5n, 5, 100)])
    records.writeInt32BE(3, records.length / 2 + 8) // the second batch's length: below the smallest message
    const frame = fetchResponse(12, [batch(0n, 2, 10), records])
    expect(() => wholeSummary(frame, fetchDecode(12))).toThrow(InvalidRecordBatchError)
    for (const sizes of [[1], [64], [frame.length]]) {
      const { decoder } = streamed(frame, sizes, fetchDecode(12))
      expect(() => decoder.result()).toThrow(InvalidRecordBatchError)
    }
  })

  it('a frame that ends inside its structure fails as a whole decode fails', () => {
    const frame = fetchResponse(12, [batch(0n, 2, 10), batch(2n, 2, 10)])
    const cut = frame.subarray(0, frame.length - 3)
    expect(() => wholeSummary(cut, fetchDecode(12))).toThrow(TruncatedInputError)
    for (const sizes of [[1], [10], [cut.length]]) {
      expect(() => streamed(cut, sizes, fetchDecode(12)).decoder.result()).toThrow(TruncatedInputError)
    }
  })

  it('has no result before the last byte, and refuses bytes beyond the frame', () => {
    const frame = fetchResponse(12, [batch(0n, 2, 10)])
    const decoder = new StreamingSummaryDecoder(frame.length, 4, fetchDecode(12))
    decoder.push(frame.subarray(0, 20))
    expect(() => decoder.result()).toThrow(/no result yet/)
    expect(() => decoder.push(Buffer.alloc(frame.length))).toThrow(/bytes pushed for a/)
  })
})

describe('StreamingSummaryDecoder misuse', () => {
  it('a decode function that sets its own records reader gets an error, not a silently slow decode', () => {
    const frame = fetchResponse(12, [batch(0n, 2, 10)])
    const decoder = new StreamingSummaryDecoder(frame.length, 4, (r) => {
      r.recordsReader = readRecordsSummary
      return readResponse(r, ApiKey.Fetch, 12)
    })
    decoder.push(frame)
    expect(() => decoder.result()).toThrow(/must not/)
  })
})
