import { describe, expect, it } from 'vitest'
import { decodeResponse, encodeResponse } from '../../../codec/messages/frames.js'
import { ApiKey } from '../../../codec/messages/generated/apis.js'
import type { FetchResponse } from '../../../codec/messages/generated/fetch-response.js'
import type { ProduceResponse } from '../../../codec/messages/generated/produce-response.js'
import { Reader } from '../../../codec/primitives/reader.js'
import { BrokerAddressFilter } from '../../../filters/broker-address/index.js'
import type { BrokerEndpointService, DecodedResponse, FilterContext } from '../../../src/pipeline/filter-api.js'

/** The runtime's endpoint service as the filter sees it: node N is at 127.0.0.1:9000+N, listening at once or later. */
function context(async: boolean): { ctx: FilterContext; seen: unknown[] } {
  const seen: unknown[] = []
  const brokers: BrokerEndpointService = {
    localEndpointFor(nodeId, upstream, kind) {
      seen.push({ nodeId, upstream, kind })
      const ep = { host: '127.0.0.1', port: 9000 + nodeId }
      return async ? Promise.resolve(ep) : ep
    },
  }
  return { ctx: { brokers } as FilterContext, seen }
}

function roundTrip<T>(apiKey: number, version: number, body: T): DecodedResponse {
  const frame = encodeResponse(apiKey, version, { correlationId: 1 }, body)
  const d = decodeResponse(frame, apiKey, version, 4)
  return {
    apiKey: d.apiKey,
    apiVersion: version,
    header: d.header,
    size: frame.length,
    body: d.body,
    request: undefined,
  }
}

describe('BrokerAddressFilter', () => {
  const filter = new BrokerAddressFilter()

  it('rewrites KIP-951 NodeEndpoints in a Produce v13 response (leader moved) and remembers the real address', async () => {
    const body: ProduceResponse = {
      throttleTimeMs: 0,
      responses: [
        {
          topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
          partitionResponses: [
            {
              index: 0,
              errorCode: 6,
              baseOffset: -1n,
              logAppendTimeMs: -1n,
              logStartOffset: -1n,
              recordErrors: [],
              errorMessage: null,
              currentLeader: { leaderId: 2, leaderEpoch: 7 },
            },
          ],
        },
      ],
      nodeEndpoints: [{ nodeId: 2, host: '10.1.2.3', port: 9092, rack: 'r1' }],
    }
    for (const async of [false, true]) {
      const { ctx, seen } = context(async)
      const res = roundTrip(ApiKey.Produce, 13, body)
      const verdict = await filter.onResponse(res, ctx)
      expect(verdict?.kind).toBe('replace')
      expect((res.body as ProduceResponse).nodeEndpoints).toEqual([
        { nodeId: 2, host: '127.0.0.1', port: 9002, rack: 'r1' },
      ])
      expect(seen).toEqual([{ nodeId: 2, upstream: { host: '10.1.2.3', port: 9092, rack: 'r1' }, kind: 'broker' }])
      const out = encodeResponse(ApiKey.Produce, 13, res.header, res.body)
      expect(out.includes(Buffer.from('10.1.2.3'))).toBe(false)
    }
  })

  it('rewrites NodeEndpoints in a Fetch v17 response and leaves one without endpoints untouched', async () => {
    const withEndpoints: FetchResponse = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [],
      nodeEndpoints: [{ nodeId: 3, host: 'broker-3.internal', port: 9093, rack: null }],
    }
    const { ctx } = context(false)
    const res = roundTrip(ApiKey.Fetch, 17, withEndpoints)
    await filter.onResponse(res, ctx)
    expect((res.body as FetchResponse).nodeEndpoints![0]).toMatchObject({ host: '127.0.0.1', port: 9003 })

    const plain = roundTrip(ApiKey.Fetch, 17, { ...withEndpoints, nodeEndpoints: undefined })
    expect(await filter.onResponse(plain, ctx)).toBeUndefined()
  })

  it('decodes a Fetch or Produce response only when its top-level tags carry NodeEndpoints', () => {
    const body = (apiKey: number, version: number, b: unknown) => {
      const frame = encodeResponse(apiKey, version, { correlationId: 1 }, b)
      return new Reader(frame, 4 + 4 + 1) // after the size prefix, correlation id, empty header tagged section
    }
    const fetch: FetchResponse = { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [] }
    expect(filter.needsResponse(ApiKey.Fetch, 17, body(ApiKey.Fetch, 17, fetch))).toBe(false)
    expect(
      filter.needsResponse(
        ApiKey.Fetch,
        17,
        body(ApiKey.Fetch, 17, { ...fetch, _unknownTaggedFields: [{ tag: 5, data: Buffer.from([1]) }] }),
      ),
    ).toBe(false)
    expect(
      filter.needsResponse(
        ApiKey.Fetch,
        17,
        body(ApiKey.Fetch, 17, { ...fetch, nodeEndpoints: [{ nodeId: 1, host: 'h', port: 1, rack: null }] }),
      ),
    ).toBe(true)
    // Metadata always carries brokers: no scan, always decode.
    expect(filter.needsResponse(ApiKey.Metadata, 12, new Reader(Buffer.alloc(0)))).toBe(true)
  })

  it('wants only responses that can carry endpoints', () => {
    expect(filter.wantsResponse(ApiKey.Metadata, 12)).toBe(true)
    expect(filter.wantsResponse(ApiKey.Fetch, 11)).toBe(false) // kafkajs' Fetch: passes undecoded
    expect(filter.wantsResponse(ApiKey.Fetch, 16)).toBe(true)
    expect(filter.wantsResponse(ApiKey.Produce, 9)).toBe(false)
    expect(filter.wantsResponse(ApiKey.OffsetCommit, 8)).toBe(false)
  })
})
