import { TruncatedInputError } from './errors.js'
import { API_DEFINITIONS, ApiKey } from './messages/generated/apis.js'
import { Reader } from './primitives/reader.js'

/**
 * Request and response headers (https://kafka.apache.org/protocol#protocol_messages):
 *   Request header v1:  api_key int16, api_version int16, correlation_id int32, client_id nullable int16-string
 *   Request header v2:  v1 + tagged fields (client_id keeps its int16 length: RequestHeader.json
 *                       declares ClientId with "flexibleVersions": "none")
 *   Response header v0: correlation_id int32;  v1: v0 + tagged fields
 * The header version follows the body: flexible body versions use request header v2 / response header v1.
 * ApiVersions responses always use response header v0, whatever the version, so that a client can parse
 * the answer to a version it proposed before knowing what the broker supports (KIP-511;
 * ApiVersionsResponse.json, ApiMessageType.responseHeaderVersion in Kafka).
 * Request header v0 (no client_id) was only used by ControlledShutdown v0, which Kafka 4.0 removed.
 */

/** Request header version for a request of this API and version; 1 for API keys the codec does not know. */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  const api = API_DEFINITIONS[apiKey]
  if (api === undefined) return 1
  if (apiKey === ApiKey.ControlledShutdown && apiVersion === 0) return 0
  return apiVersion >= api.request.flexibleMinVersion ? 2 : 1
}

/** Response header version for a response to this API and version. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ApiVersions) return 0
  const api = API_DEFINITIONS[apiKey]
  if (api === undefined) return 0
  return apiVersion >= api.response.flexibleMinVersion ? 1 : 0
}

/** The fixed-offset fields every request header starts with. */
export interface RequestHeaderPeek {
  apiKey: number
  apiVersion: number
  correlationId: number
}

/**
 * Reads api key, version and correlation id at their fixed offsets without decoding anything else.
 * `offset` is where the header starts (4 when `buf` still has the frame's length prefix).
 */
export function peekRequestHeader(buf: Buffer, offset = 0): RequestHeaderPeek {
  if (buf.length - offset < 8) throw new TruncatedInputError('request header', 8, buf.length - offset, offset)
  return {
    apiKey: buf.readInt16BE(offset),
    apiVersion: buf.readInt16BE(offset + 2),
    correlationId: buf.readInt32BE(offset + 4),
  }
}

/** The correlation id of a response: the first field of every response header version. */
export function peekResponseCorrelationId(buf: Buffer, offset = 0): number {
  if (buf.length - offset < 4) throw new TruncatedInputError('response header', 4, buf.length - offset, offset)
  return buf.readInt32BE(offset)
}

/**
 * The client id of a request (header v1+), or null. Separate from peekRequestHeader because it costs a
 * string: callers that see the same connection's requests can compare bytes first (see clientIdBytes).
 */
export function peekClientId(buf: Buffer, offset = 0): string | null {
  const bytes = clientIdBytes(buf, offset)
  return bytes === null ? null : bytes.toString('utf8')
}

/** The client id's UTF-8 bytes as a view into `buf`, or null when the request carries none. */
export function clientIdBytes(buf: Buffer, offset = 0): Buffer | null {
  if (buf.length - offset < 10)
    throw new TruncatedInputError('request header client_id', 10, buf.length - offset, offset)
  const n = buf.readInt16BE(offset + 8)
  if (n < 0) return null
  if (buf.length - offset - 10 < n)
    throw new TruncatedInputError('request header client_id', n, buf.length - offset - 10, offset + 10)
  return buf.subarray(offset + 10, offset + 10 + n)
}

/**
 * Where the body of a response starts: after the correlation id (v0), plus the header's tagged-field section (v1).
 * `offset` is where the response header starts (4 for a frame with its size prefix).
 */
export function responseBodyOffset(buf: Buffer, apiKey: number, apiVersion: number, offset = 0): number {
  let pos = offset + 4
  if (responseHeaderVersion(apiKey, apiVersion) >= 1) {
    const r = new Reader(buf, pos)
    r.skipTaggedFields()
    pos = r.pos
  }
  if (pos > buf.length) throw new TruncatedInputError('response header', pos - offset, buf.length - offset, offset)
  return pos
}
