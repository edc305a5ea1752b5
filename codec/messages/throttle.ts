import { API_DEFINITIONS } from './generated/apis.js'
import { STRUCT_SCHEMAS } from './generated/schema.js'
import { type FieldSchema, inRange } from './schema-types.js'

/**
 * throttle_time_ms on any response, without a switch over API keys (franz-go's kmsg ThrottleResponse /
 * SetThrottle, pkg/kmsg/api.go, do the same from generated code). The field is found in the generated schema:
 * a top-level int32 ThrottleTimeMs, which 78 of Kafka 4.4's responses carry in some versions (KIP-219 says
 * what clients do with it; see PROTOCOL.md, Throttling).
 */

const THROTTLE_FIELDS: readonly (FieldSchema | undefined)[] = API_DEFINITIONS.map((api) =>
  api === undefined
    ? undefined
    : STRUCT_SCHEMAS[api.response.name]?.fields.find((f) => f.prop === 'throttleTimeMs' && f.type === 'int32'),
)

/** True when responses of this API at this version carry a top-level throttle time. */
export function hasThrottleTime(apiKey: number, version: number): boolean {
  return inRange(THROTTLE_FIELDS[apiKey]?.versions, version)
}

/** The response's throttle time in ms, or undefined when this API and version carry none. */
export function throttleTimeMs(apiKey: number, version: number, responseBody: unknown): number | undefined {
  if (!hasThrottleTime(apiKey, version)) return undefined
  return (responseBody as { throttleTimeMs?: number }).throttleTimeMs
}

/**
 * Sets the response's throttle time: whole milliseconds in an int32, so fractions are dropped and values are
 * clamped to 0..2^31-1. Returns false, and changes nothing, when this API and version carry no throttle time.
 */
export function setThrottleTimeMs(apiKey: number, version: number, responseBody: unknown, ms: number): boolean {
  if (Number.isNaN(ms)) throw new RangeError('throttle time must be a number of milliseconds, not NaN')
  if (!hasThrottleTime(apiKey, version)) return false
  const value = Math.max(0, Math.min(0x7fffffff, Math.trunc(ms)))
  ;(responseBody as { throttleTimeMs: number }).throttleTimeMs = value
  return true
}
