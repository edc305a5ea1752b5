import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeRequest, encodeResponse } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { structArbitrary } from './messages/arbitrary-message.js'
import { checkConnection } from './traffic-check.js'

/**
 * The checker behind test/codec/real-traffic.test.ts, without brokers: it must pair responses the way a client
 * does (acks=0 Produce gets none, ApiVersions may answer in v0), and it must really catch what it is for.
 */

function body(name: string, version: number, seed: number): Record<string, unknown> {
  return fc.sample(structArbitrary(name, version), { numRuns: 1, seed })[0]!
}

function request(apiKey: number, apiVersion: number, correlationId: number, value: unknown): Buffer {
  return encodeRequest({ requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId: 'unit' }, value)
}

function response(apiKey: number, apiVersion: number, correlationId: number, value: unknown): Buffer {
  return encodeResponse(apiKey, apiVersion, { correlationId }, value)
}

describe('checkConnection', () => {
  it('skips acks=0 Produce when pairing and decodes an ApiVersions v0 error answer to a newer request (KIP-511)', () => {
    const produce = { ...body('ProduceRequest', 7, 1), acks: 0 }
    const apiVersionsError = { errorCode: 35, apiKeys: [{ apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 3 }] }
    const checked = checkConnection({
      id: 1,
      requests: [
        request(ApiKey.Produce, 7, 1, produce),
        request(ApiKey.Metadata, 12, 2, body('MetadataRequest', 12, 2)),
        request(ApiKey.ApiVersions, 4, 3, body('ApiVersionsRequest', 4, 3)),
      ],
      responses: [
        response(ApiKey.Metadata, 12, 2, body('MetadataResponse', 12, 4)),
        response(ApiKey.ApiVersions, 0, 3, apiVersionsError),
      ],
    })
    expect(checked.map((f) => [f.direction, f.apiKey, f.apiVersion, f.decodedVersion, f.outcome])).toEqual([
      ['request', ApiKey.Produce, 7, 7, 'identical'],
      ['request', ApiKey.Metadata, 12, 12, 'identical'],
      ['request', ApiKey.ApiVersions, 4, 4, 'identical'],
      ['response', ApiKey.Metadata, 12, 12, 'identical'],
      ['response', ApiKey.ApiVersions, 4, 0, 'identical'],
    ])
  })

  it('reports bytes that decode but do not re-encode identically as a mismatch, naming the offset', () => {
    // Metadata v4: topics (int32 -1 = all) then AllowAutoTopicCreation, the frame's last byte. Any non-zero byte
    // reads as true, but true is written as 1.
    const frame = request(ApiKey.Metadata, 4, 7, { topics: null, allowAutoTopicCreation: true })
    frame[frame.length - 1] = 2
    const [checked] = checkConnection({ id: 1, requests: [frame], responses: [] })
    expect(checked!.outcome).toBe('mismatch')
    expect(checked!.reason).toContain(`first difference at byte ${frame.length - 1}`)
  })

  it('lists versions outside the specs as undecodable, and responses without their request as unpaired', () => {
    // Produce v2: header v1 and a body the codec never looks at (KIP-896 removed Produce v0-2).
    const produceV2 = request(ApiKey.Metadata, 4, 5, { topics: null, allowAutoTopicCreation: true })
    produceV2.writeInt16BE(ApiKey.Produce, 4)
    produceV2.writeInt16BE(2, 6)
    const checked = checkConnection({
      id: 1,
      requests: [produceV2],
      responses: [response(ApiKey.Metadata, 4, 99, body('MetadataResponse', 4, 5))],
    })
    expect(checked.map((f) => [f.direction, f.outcome])).toEqual([
      ['request', 'undecodable'],
      ['response', 'unpaired'],
    ])
    expect(checked[0]!.reason).toMatch(/Produce v2 is below v3/)
  })
})
