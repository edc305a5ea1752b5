import { describe, expect, it } from 'vitest'
import { ApiKey } from '../../../codec/messages/generated/apis.js'
import {
  defaultRequest,
  defaultResponse,
  MessageShapeError,
  ZERO_UUID,
} from '../../../codec/messages/message-defaults.js'
import { apiVersionCases, decodeBody, encodeBody } from './message-cases.js'

/** Java's own default-constructed messages are compared byte for byte in java-interop.test.ts. */

const cases = apiVersionCases().map((c) => [`${c.api.name} v${c.version}`, c] as const)

describe('defaultRequest / defaultResponse', () => {
  it.each(cases)('%s: both encode and decode back unchanged', (_name, { api, version }) => {
    const req = defaultRequest(api.apiKey as ApiKey, version)
    expect(decodeBody(api.request, encodeBody(api.request, req, version), version)).toEqual(req)
    const res = defaultResponse(api.apiKey as ApiKey, version)
    expect(decodeBody(api.response, encodeBody(api.response, res, version), version)).toEqual(res)
  })

  it("fill each field of the version with the spec's default or the type's", () => {
    const produce = defaultRequest(ApiKey.Produce, 9)
    expect(produce).toEqual({ transactionalId: null, acks: 0, timeoutMs: 0, topicData: [] })
    const fetch = defaultRequest(ApiKey.Fetch, 12)
    expect(fetch.replicaId).toBe(-1) // "default": "-1"
    expect(fetch.maxBytes).toBe(0x7fffffff) // "default": "0x7fffffff"
    expect(fetch.sessionEpoch).toBe(-1)
    expect(fetch.rackId).toBe('')
    expect(fetch).not.toHaveProperty('clusterId') // tagged: absent means default
    expect(defaultRequest(ApiKey.Metadata, 12).topics).toEqual([]) // nullable, no default: Java's empty list
    expect(defaultResponse(ApiKey.InitProducerId, 4)).toMatchObject({ producerId: -1n, producerEpoch: 0 })
    expect(defaultResponse(ApiKey.ConsumerGroupHeartbeat, 0)).toMatchObject({ memberId: null, assignment: null })
    expect(defaultRequest(ApiKey.Produce, 13, { topicData: [{}] }).topicData[0]).toEqual({
      topicId: ZERO_UUID,
      partitionData: [],
    })
  })

  it('deep-merge overrides, completing struct elements of arrays with their defaults', () => {
    const req = defaultRequest(ApiKey.Produce, 9, {
      acks: -1,
      topicData: [{ name: 'orders', partitionData: [{ index: 3 }, { index: 4, records: Buffer.from([1]) }] }],
    })
    expect(req).toEqual({
      transactionalId: null,
      acks: -1,
      timeoutMs: 0,
      topicData: [
        {
          name: 'orders',
          partitionData: [
            { index: 3, records: null },
            { index: 4, records: Buffer.from([1]) },
          ],
        },
      ],
    })
    const res = defaultResponse(ApiKey.ConsumerGroupHeartbeat, 1, {
      memberId: 'm-1',
      assignment: { topicPartitions: [{ partitions: [0, 1] }] },
    })
    expect(res.assignment).toEqual({ topicPartitions: [{ topicId: ZERO_UUID, partitions: [0, 1] }] })
    expect(res.heartbeatIntervalMs).toBe(0)
  })

  it('set tagged fields and nulls when given, and ignore undefined', () => {
    const req = defaultRequest(ApiKey.Fetch, 12, { clusterId: 'c', rackId: undefined })
    expect(req.clusterId).toBe('c')
    expect(req.rackId).toBe('')
    expect(defaultRequest(ApiKey.Metadata, 12, { topics: null }).topics).toBeNull()
  })

  it('refuse fields the message does not have in that version, naming the ones it has', () => {
    expect(() => defaultRequest(ApiKey.Produce, 12, { topicData: [{ topicId: ZERO_UUID }] })).toThrow(MessageShapeError)
    expect(() => defaultRequest(ApiKey.Produce, 9, { acks: 1, ackz: 1 } as never)).toThrow(
      /ProduceRequest v9 has no field ackz; its fields are: transactionalId, acks, timeoutMs, topicData/,
    )
    expect(() => defaultRequest(ApiKey.Produce, 9, { topicData: {} as never })).toThrow(/expected an array/)
    expect(() => defaultRequest(ApiKey.Produce, 2)).toThrow(/versions 3-13, not 2/)
  })
})
