import { describe, expect, it } from 'vitest'
import { API_DEFINITIONS, ApiKey } from '../../../codec/messages/generated/apis.js'
import { hasRecordsFields } from '../../../codec/messages/records-fields.js'

describe('hasRecordsFields', () => {
  it('finds record batches in Produce requests and Fetch, ShareFetch and FetchSnapshot responses only', () => {
    const found: string[] = []
    for (const api of Object.values(API_DEFINITIONS).filter((a) => a !== undefined)) {
      for (const side of ['request', 'response'] as const) {
        const codec = api[side]
        for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
          if (hasRecordsFields(api.apiKey, side, v)) {
            found.push(`${api.name} ${side}`)
            break
          }
        }
      }
    }
    expect(found.sort()).toEqual(['Fetch response', 'FetchSnapshot response', 'Produce request', 'ShareFetch response'])
  })

  it('is per direction and version', () => {
    expect(hasRecordsFields(ApiKey.Produce, 'request', 9)).toBe(true)
    expect(hasRecordsFields(ApiKey.Produce, 'response', 9)).toBe(false)
    expect(hasRecordsFields(ApiKey.Fetch, 'request', 12)).toBe(false)
    expect(hasRecordsFields(ApiKey.Fetch, 'response', 12)).toBe(true)
    expect(hasRecordsFields(999, 'request', 0)).toBe(false)
  })
})
