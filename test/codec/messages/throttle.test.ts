import { describe, expect, it } from 'vitest'
import { API_DEFINITIONS, ApiKey } from '../../../codec/messages/generated/apis.js'
import { STRUCT_SCHEMAS } from '../../../codec/messages/generated/schema.js'
import { defaultResponse } from '../../../codec/messages/message-defaults.js'
import { inRange } from '../../../codec/messages/schema-types.js'
import { hasThrottleTime, setThrottleTimeMs, throttleTimeMs } from '../../../codec/messages/throttle.js'
import { apiVersionCases, decodeBody, encodeBody } from './message-cases.js'

describe('throttle time accessors', () => {
  it('know every response version with a top-level ThrottleTimeMs, and only those', () => {
    let carriers = 0
    for (const { api, version } of apiVersionCases()) {
      const field = STRUCT_SCHEMAS[api.response.name]!.fields.find((f) => f.prop === 'throttleTimeMs')
      expect(hasThrottleTime(api.apiKey, version), `${api.name} v${version}`).toBe(inRange(field?.versions, version))
      if (hasThrottleTime(api.apiKey, version)) carriers++
    }
    expect(carriers).toBeGreaterThan(250)
    // Facts from the specs: Produce has it in every version, Heartbeat from v1, SaslHandshake never,
    // the raft Vote RPC never.
    expect(hasThrottleTime(ApiKey.Produce, 3)).toBe(true)
    expect(hasThrottleTime(ApiKey.Heartbeat, 0)).toBe(false)
    expect(hasThrottleTime(ApiKey.Heartbeat, 1)).toBe(true)
    expect(hasThrottleTime(ApiKey.SaslHandshake, 1)).toBe(false)
    expect(hasThrottleTime(ApiKey.Vote, 1)).toBe(false)
    expect(hasThrottleTime(9999, 0)).toBe(false)
  })

  it('read and set it on any response that carries it, which then encodes with it', () => {
    for (const { api, version } of apiVersionCases()) {
      const body = defaultResponse(api.apiKey as ApiKey, version)
      const carries = hasThrottleTime(api.apiKey, version)
      expect(setThrottleTimeMs(api.apiKey, version, body, 1234)).toBe(carries)
      if (!carries) {
        expect(throttleTimeMs(api.apiKey, version, body)).toBeUndefined()
        expect(body).not.toHaveProperty('throttleTimeMs', 1234)
        continue
      }
      expect(throttleTimeMs(api.apiKey, version, body)).toBe(1234)
      const decoded = decodeBody(api.response, encodeBody(api.response, body, version), version)
      expect(throttleTimeMs(api.apiKey, version, decoded)).toBe(1234)
    }
    expect(API_DEFINITIONS.length).toBeGreaterThan(90)
  })

  it('clamp to what an int32 of milliseconds holds', () => {
    const body = defaultResponse(ApiKey.Produce, 9)
    setThrottleTimeMs(ApiKey.Produce, 9, body, 2 ** 40)
    expect(body.throttleTimeMs).toBe(0x7fffffff)
    setThrottleTimeMs(ApiKey.Produce, 9, body, -5)
    expect(body.throttleTimeMs).toBe(0)
    setThrottleTimeMs(ApiKey.Produce, 9, body, 12.9)
    expect(body.throttleTimeMs).toBe(12)
    expect(() => setThrottleTimeMs(ApiKey.Produce, 9, body, Number.NaN)).toThrow(RangeError)
  })
})
