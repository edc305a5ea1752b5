import type { FetchRequest } from '../../codec/messages/generated/fetch-request.js'

/**
 * A Fetch over its budget is answered early with less data, never with an error: the request's byte limit is lowered
 * to what the fetch budget holds, so the broker returns what the client may have now and the client fetches again.
 * Kafka's broker does the same with its own quota: it caps a consumer's fetch at the bytes the quota window allows
 * (KafkaApis.handleFetchRequest: fetchMaxBytes = min(request maxBytes, fetch.max.bytes, quotas.fetch
 * .getMaxValueInQuotaWindow) and fetchMinBytes = min(minBytes, fetchMaxBytes)). The broker still returns the first
 * record batch of the first non-empty partition when it is larger than the limit (KIP-74), so a consumer always
 * makes progress, and whatever goes over is charged and paid back by waiting.
 *
 * Only the request-level max_bytes (FetchRequest.json MaxBytes, v3+; the codec decodes Fetch v4+, Kafka 4's minimum)
 * is lowered: per-partition limits are part of a fetch session's cached state (KIP-227), and changing them behind
 * the client's back would outlive this request.
 */
export function capFetch(body: FetchRequest, allowance: number): boolean {
  const allowed = Math.max(1, Math.floor(allowance))
  if (body.maxBytes <= allowed) return false
  body.maxBytes = allowed
  if (body.minBytes > allowed) body.minBytes = allowed
  return true
}
