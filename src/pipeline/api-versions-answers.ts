import { ErrorCode } from '../../codec/messages/error-codes.js'
import { decodeResponse, encodeResponse, type ResponseMessage } from '../../codec/messages/frames.js'
import type { ApiVersionsResponse } from '../../codec/messages/generated/api-versions-response.js'
import { API_DEFINITIONS, ApiKey } from '../../codec/messages/generated/apis.js'

const UNSUPPORTED_VERSION = ErrorCode.UNSUPPORTED_VERSION

/**
 * Decodes an ApiVersions response. When a broker does not support the version the client asked for, it answers
 * UNSUPPORTED_VERSION in a v0 body whatever the request version was (KIP-511; Kafka's
 * ApiVersionsResponse.parse falls back to v0), so the error code is looked at first. The response header of
 * ApiVersions is always v0: the body starts right after the 4-byte correlation id.
 */
export function decodeApiVersionsResponse(frame: Buffer, requestVersion: number): ResponseMessage {
  const errorCode = frame.length >= 10 ? frame.readInt16BE(8) : 0
  const version = errorCode === UNSUPPORTED_VERSION ? 0 : requestVersion
  return decodeResponse(frame, ApiKey.ApiVersions, version, 4)
}

/**
 * The sidecar's own answer to an ApiVersions request newer than its codec: UNSUPPORTED_VERSION with the
 * ApiVersions versions it does support, in a v0 body, so the client retries with one of them.
 */
export function apiVersionsUnsupportedResponse(correlationId: number): Buffer {
  const codec = API_DEFINITIONS[ApiKey.ApiVersions]!.request
  const body: ApiVersionsResponse = {
    errorCode: UNSUPPORTED_VERSION,
    apiKeys: [{ apiKey: ApiKey.ApiVersions, minVersion: codec.minVersion, maxVersion: codec.maxVersion }],
  }
  return encodeResponse(ApiKey.ApiVersions, 0, { correlationId }, body)
}
