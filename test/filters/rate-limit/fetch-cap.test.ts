import { describe, expect, it } from 'vitest'
import type { FetchRequest } from '../../../codec/messages/generated/fetch-request.js'
import { capFetch } from '../../../filters/rate-limit/fetch-cap.js'
import { ApiKey } from '../../../src/pipeline/filter-api.js'
import { request } from '../../support/filter-testing.js'

const fetch = (maxBytes: number, minBytes: number) =>
  request(ApiKey.Fetch, 12, {
    maxBytes,
    minBytes,
    topics: [{ topic: 't', partitions: [{ partition: 0, partitionMaxBytes: 1_048_576 }] }],
  }).body as FetchRequest

describe('capFetch', () => {
  it('lowers max_bytes (and min_bytes with it) to the allowance; partition limits stay', () => {
    const b = fetch(52_428_800, 100_000)
    expect(capFetch(b, 65_536.7)).toBe(true)
    expect(b.maxBytes).toBe(65_536)
    expect(b.minBytes).toBe(65_536)
    expect(b.topics[0]!.partitions[0]!.partitionMaxBytes).toBe(1_048_576)
  })

  it('leaves a request within the allowance alone', () => {
    const b = fetch(1000, 1)
    expect(capFetch(b, 5000)).toBe(false)
    expect(b.maxBytes).toBe(1000)
  })

  it('asks for one byte while the budget is in debt: the broker still returns the first batch (KIP-74)', () => {
    const b = fetch(1000, 1)
    expect(capFetch(b, -5000)).toBe(true)
    expect(b.maxBytes).toBe(1)
    expect(b.minBytes).toBe(1)
  })
})
