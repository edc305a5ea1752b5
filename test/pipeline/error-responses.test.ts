import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../codec/messages/error-codes.js'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { defaultRequest } from '../../codec/messages/message-defaults.js'
import { buildErrorResponse } from '../../src/pipeline/error-responses.js'
import type { DecodedRequest } from '../../src/pipeline/filter-api.js'

function decoded(apiKey: number, apiVersion: number, body: unknown): DecodedRequest {
  const frame = encodeRequest(
    { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId: 1, clientId: 'c' },
    body,
  )
  return { ...decodeRequest(frame, 4), size: frame.length } as DecodedRequest
}

describe('buildErrorResponse', () => {
  it('answers APIs other than Produce (which used to close the connection) with an encodable response', () => {
    const req = decoded(
      ApiKey.OffsetCommit,
      8,
      defaultRequest(ApiKey.OffsetCommit, 8, {
        groupId: 'g',
        topics: [{ name: 't', partitions: [{ partitionIndex: 2 }] }],
      }),
    )
    const body = buildErrorResponse(req, ErrorCode.GROUP_AUTHORIZATION_FAILED, undefined)
    const frame = encodeResponse(ApiKey.OffsetCommit, 8, { correlationId: 1 }, body)
    expect(decodeResponse(frame, ApiKey.OffsetCommit, 8, 4).body).toEqual({
      throttleTimeMs: 0,
      topics: [{ name: 't', partitions: [{ partitionIndex: 2, errorCode: 30 }] }],
    })
  })

  it('carries the message into Produce v8+ partitions', () => {
    const req = decoded(
      ApiKey.Produce,
      9,
      defaultRequest(ApiKey.Produce, 9, { acks: -1, topicData: [{ name: 't', partitionData: [{ index: 0 }] }] }),
    )
    const body = buildErrorResponse(req, ErrorCode.INVALID_RECORD, 'schema mismatch') as {
      responses: { partitionResponses: { errorCode: number; errorMessage: string }[] }[]
    }
    expect(body.responses[0]!.partitionResponses[0]).toMatchObject({ errorCode: 87, errorMessage: 'schema mismatch' })
  })
})
