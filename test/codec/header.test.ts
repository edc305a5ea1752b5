import { describe, expect, it } from 'vitest'
import { TruncatedInputError } from '../../codec/errors.js'
import {
  peekClientId,
  peekRequestHeader,
  peekResponseCorrelationId,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../codec/header.js'
import { decodeRequest, encodeRequest } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'

describe('header versions', () => {
  it('follow the body flexibility (Metadata v9+ and Produce v9+ are flexible)', () => {
    expect(requestHeaderVersion(ApiKey.Metadata, 8)).toBe(1)
    expect(requestHeaderVersion(ApiKey.Metadata, 9)).toBe(2)
    expect(responseHeaderVersion(ApiKey.Produce, 8)).toBe(0)
    expect(responseHeaderVersion(ApiKey.Produce, 9)).toBe(1)
  })

  it('ApiVersions responses always use header v0 (KIP-511), even at flexible versions', () => {
    expect(requestHeaderVersion(ApiKey.ApiVersions, 3)).toBe(2)
    expect(responseHeaderVersion(ApiKey.ApiVersions, 3)).toBe(0)
    expect(responseHeaderVersion(ApiKey.ApiVersions, 4)).toBe(0)
  })
})

describe('header peek', () => {
  const frame = encodeRequest(
    { requestApiKey: ApiKey.Metadata, requestApiVersion: 12, correlationId: 4242, clientId: 'my-client' },
    { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false },
  )

  it('reads api key, version and correlation id at fixed offsets, with or without the size prefix', () => {
    expect(peekRequestHeader(frame, 4)).toEqual({ apiKey: ApiKey.Metadata, apiVersion: 12, correlationId: 4242 })
    expect(peekRequestHeader(frame.subarray(4))).toEqual({
      apiKey: ApiKey.Metadata,
      apiVersion: 12,
      correlationId: 4242,
    })
  })

  it('reads the client id, which keeps its int16 length in flexible header v2', () => {
    expect(peekClientId(frame, 4)).toBe('my-client')
    const decoded = decodeRequest(frame, 4)
    expect(decoded.headerVersion).toBe(2)
    expect(decoded.header.clientId).toBe('my-client')
  })

  it('reports a null client id', () => {
    const f = encodeRequest(
      { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 0, correlationId: 1, clientId: null },
      {},
    )
    expect(peekClientId(f, 4)).toBeNull()
  })

  it('typed errors for truncated headers', () => {
    expect(() => peekRequestHeader(Buffer.alloc(7))).toThrow(TruncatedInputError)
    expect(() => peekResponseCorrelationId(Buffer.alloc(3))).toThrow(TruncatedInputError)
    const f = Buffer.from(frame.subarray(4, 4 + 12))
    expect(() => peekClientId(f)).toThrow(TruncatedInputError)
  })
})
