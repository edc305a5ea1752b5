import { describe, expect, it } from 'vitest'
import { API_DEFINITIONS } from '../../../codec/messages/generated/apis.js'
import {
  clientThrottles,
  isConnectionSetup,
  isControllerMutation,
  STRICT_MUTATION_QUOTA_SINCE,
} from '../../../filters/rate-limit/throttle-versions.js'
import { ApiKey, hasThrottleTime } from '../../../src/pipeline/filter-api.js'

describe('client-side throttling versions (KIP-219)', () => {
  it('are the versions PROTOCOL.md and the Java client name for the common APIs', () => {
    const since = (apiKey: number) => {
      for (let v = 0; v <= 20; v++) if (clientThrottles(apiKey, v)) return v
      return undefined
    }
    expect(since(ApiKey.Produce)).toBe(6)
    expect(since(ApiKey.Fetch)).toBe(8)
    expect(since(ApiKey.Metadata)).toBe(6)
    expect(since(ApiKey.ListOffsets)).toBe(3)
    expect(since(ApiKey.OffsetCommit)).toBe(4)
    expect(since(ApiKey.OffsetFetch)).toBe(4)
    expect(since(ApiKey.JoinGroup)).toBe(3)
    expect(since(ApiKey.FindCoordinator)).toBe(2)
    expect(since(ApiKey.SyncGroup)).toBe(2)
    expect(since(ApiKey.Heartbeat)).toBe(2)
    expect(since(ApiKey.ApiVersions)).toBe(2)
    expect(since(ApiKey.CreateTopics)).toBe(3)
    expect(since(ApiKey.ConsumerGroupHeartbeat)).toBeUndefined()
  })

  it('every version a client throttles on carries throttle_time_ms in the schema', () => {
    for (const def of API_DEFINITIONS) {
      if (def === undefined) continue
      const key = def.apiKey
      for (let v = def.response.minVersion; v <= def.response.maxVersion; v++) {
        if (clientThrottles(key, v)) expect(hasThrottleTime(key, v), `${def.name} v${v}`).toBe(true)
      }
    }
  })

  it('knows the controller mutation APIs and their strict versions (KIP-599)', () => {
    expect([...STRICT_MUTATION_QUOTA_SINCE]).toEqual([
      [ApiKey.CreateTopics, 6],
      [ApiKey.CreatePartitions, 3],
      [ApiKey.DeleteTopics, 5],
    ])
    expect(isControllerMutation(ApiKey.DeleteTopics)).toBe(true)
    expect(isControllerMutation(ApiKey.DeleteRecords)).toBe(false)
    expect(isConnectionSetup(ApiKey.SaslAuthenticate)).toBe(true)
    expect(isConnectionSetup(ApiKey.Metadata)).toBe(false)
  })
})
