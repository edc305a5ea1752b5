import { describe, expect, it } from 'vitest'
import { API_DEFINITIONS, ApiKey } from '../../../codec/messages/generated/apis.js'
import { FETCH_MAX_VERSION, intersectApiVersions } from '../../../filters/api-versions/index.js'

describe('intersectApiVersions', () => {
  it('caps maxima at the codec, keeps broker minima, drops unknown APIs and APIs the codec cannot decode at all', () => {
    const metadataMax = API_DEFINITIONS[ApiKey.Metadata]!.request.maxVersion
    const out = intersectApiVersions({
      errorCode: 0,
      apiKeys: [
        { apiKey: ApiKey.Produce, minVersion: 0, maxVersion: 99 },
        { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: metadataMax - 1 },
        { apiKey: 999, minVersion: 0, maxVersion: 3 },
        { apiKey: ApiKey.ControlledShutdown, minVersion: 0, maxVersion: 3 }, // removed in Kafka 4: no codec versions
        { apiKey: ApiKey.Fetch, minVersion: 50, maxVersion: 60 }, // a broker needing versions we cannot decode
        { apiKey: ApiKey.ListOffsets, minVersion: 1, maxVersion: 3 },
      ],
      throttleTimeMs: 0,
    })
    expect(out.apiKeys).toEqual([
      { apiKey: ApiKey.Produce, minVersion: 0, maxVersion: API_DEFINITIONS[ApiKey.Produce]!.request.maxVersion },
      { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: metadataMax - 1 },
      { apiKey: ApiKey.ListOffsets, minVersion: 1, maxVersion: 3 },
    ])
  })

  it('caps Fetch below v16 so Fetch responses (no NodeEndpoints) stream through', () => {
    const out = intersectApiVersions({
      errorCode: 0,
      apiKeys: [{ apiKey: ApiKey.Fetch, minVersion: 4, maxVersion: 18 }],
      throttleTimeMs: 0,
    })
    expect(out.apiKeys).toEqual([{ apiKey: ApiKey.Fetch, minVersion: 4, maxVersion: FETCH_MAX_VERSION }])
    expect(FETCH_MAX_VERSION).toBe(15)
  })
})
