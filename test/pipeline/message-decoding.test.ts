import { describe, expect, it } from 'vitest'
import { encodeRequest, encodeRequestPieces, encodeResponse } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { FetchResponse } from '../../codec/messages/generated/fetch-response.js'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import { encodeRecordBatch } from '../../codec/records/index.js'
import type { Filter } from '../../src/pipeline/filter-api.js'
import { Frame } from '../../src/pipeline/frame.js'
import {
  decodeRequestFrame,
  decodeResponseFrame,
  filtersNeeding,
  reencodeRequest,
  reencodeResponse,
} from '../../src/pipeline/message-decoding.js'

const batch = (n: number) =>
  encodeRecordBatch(Array.from({ length: n }, (_, i) => ({ value: Buffer.alloc(200, 97 + (i % 26)) })))

/** A frame cut into pieces of `size` bytes, as socket reads hand it over. */
function inPieces(buf: Buffer, size: number): Frame {
  const pieces: Buffer[] = []
  for (let i = 0; i < buf.length; i += size) pieces.push(Buffer.from(buf.subarray(i, i + size)))
  return Frame.fromPieces(pieces, buf.length)
}

describe('decoding where the frame lies, and re-encoding without copying records', () => {
  const body: ProduceRequest = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [
      {
        name: 'orders',
        partitionData: [
          { index: 0, records: batch(40) },
          { index: 1, records: batch(3) },
        ],
      },
      { name: 'audit', partitionData: [{ index: 0, records: batch(20) }] },
    ],
  }
  const header = { requestApiKey: ApiKey.Produce, requestApiVersion: 9, correlationId: 7, clientId: 'app' }
  const wire = encodeRequest(header, body)

  it('a Produce request in pieces decodes to what the whole frame decodes to', () => {
    for (const size of [1, 7, 100, 4096]) {
      const d = decodeRequestFrame(inPieces(wire, size), false)
      expect(d.body).toEqual(decodeRequestFrame(Frame.of(wire), false).body)
      expect(d.size).toBe(wire.length)
    }
  })

  it('a renamed Produce request re-encodes to the bytes of a fresh encode', () => {
    const req = decodeRequestFrame(inPieces(wire, 1000), false)
    ;(req.body as ProduceRequest).topicData[0]!.name = 'orders-canary'
    const expected = encodeRequest(header, {
      ...body,
      topicData: [{ ...body.topicData[0]!, name: 'orders-canary' }, body.topicData[1]!],
    })
    expect(reencodeRequest(req, false).whole()).toEqual(expected)
  })

  it('large records are not copied into the new encoding: they are pieces of it, the very Buffers the request held', () => {
    const records = body.topicData[0]!.partitionData[0]!.records!
    const pieces = encodeRequestPieces(header, body, 1024)
    expect(
      pieces.some((p) => p === records || (p.buffer === records.buffer && p.byteOffset === records.byteOffset)),
    ).toBe(true)
    expect(Buffer.concat(pieces)).toEqual(wire)
    // Small ones are copied: fewer pieces for a write to carry.
    expect(pieces.some((p) => p.byteOffset === body.topicData[0]!.partitionData[1]!.records!.byteOffset)).toBe(false)
  })

  it('a changed Fetch response re-encodes the same way', () => {
    const fetch: FetchResponse = {
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
              highWatermark: 40n,
              lastStableOffset: 40n,
              logStartOffset: 0n,
              abortedTransactions: null,
              preferredReadReplica: -1,
              records: batch(40),
            },
          ],
        },
      ],
    }
    const buf = encodeResponse(ApiKey.Fetch, 12, { correlationId: 3 }, fetch)
    const res = decodeResponseFrame(inPieces(buf, 333), ApiKey.Fetch, 12, false, undefined)
    ;(res.body as FetchResponse).responses[0]!.topic = 'orders-x'
    const out = reencodeResponse(res, false).whole()
    fetch.responses[0]!.topic = 'orders-x'
    expect(out).toEqual(encodeResponse(ApiKey.Fetch, 12, { correlationId: 3 }, fetch))
  })
})

describe('filtersNeeding: which of the filters that want a response need it decoded', () => {
  // A Metadata v12 response (flexible header: correlation id, then tagged fields) with no brokers and no topics.
  const frame = Frame.of(
    encodeResponse(ApiKey.Metadata, 12, { correlationId: 7 }, {
      throttleTimeMs: 0,
      brokers: [],
      clusterId: 'c',
      controllerId: 1,
      topics: [],
    } as never),
  )
  const plain: Filter = { onResponse: () => undefined }
  const declining: Filter = { onResponse: () => undefined, needsResponse: () => false }
  const seen: number[] = []
  const reading: Filter = {
    onResponse: () => undefined,
    // The reader starts at the body: the throttle time (int32, 0) comes first.
    needsResponse: (_k, _v, body) => {
      seen.push(body.int32())
      return true
    },
  }
  const failing: Filter = {
    onResponse: () => undefined,
    needsResponse: () => {
      throw new Error('boom')
    },
  }

  it('gives back the very list when every filter needs it, and asks each with a reader at the body', () => {
    const wanted = [plain, reading]
    expect(filtersNeeding(wanted, ApiKey.Metadata, 12, frame, 512)).toBe(wanted)
    expect(seen).toEqual([0])
  })

  it('leaves out the filters that decline, in order, wherever they stand', () => {
    expect(filtersNeeding([declining, plain, reading], ApiKey.Metadata, 12, frame, 512)).toEqual([plain, reading])
    expect(filtersNeeding([plain, declining, reading], ApiKey.Metadata, 12, frame, 512)).toEqual([plain, reading])
    expect(filtersNeeding([plain, declining], ApiKey.Metadata, 12, frame, 512)).toEqual([plain])
    expect(filtersNeeding([declining], ApiKey.Metadata, 12, frame, 512)).toEqual([])
  })

  it('keeps a filter whose question throws, and every filter when the header cannot be read', () => {
    expect(filtersNeeding([failing, declining], ApiKey.Metadata, 12, frame, 512)).toEqual([failing])
    const garbage = Frame.of(Buffer.from([0, 0, 0, 2, 0, 0]))
    const wanted = [declining]
    expect(filtersNeeding(wanted, ApiKey.Metadata, 12, garbage, 512)).toBe(wanted)
  })
})
