import { describe, expect, it } from 'vitest'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { Filter } from '../../src/pipeline/filter-api.js'
import { FilterChain, recordsAsSummary } from '../../src/pipeline/filter-chain.js'

const stats: Filter = {
  observesOnly: true,
  records: 'summary',
  wantsRequest: (k) => k === ApiKey.Produce,
  wantsResponse: (k) => k === ApiKey.Produce || k === ApiKey.Fetch,
  onRequest: () => undefined,
  onResponse: () => undefined,
}
/** Reads no records but may change responses (the address rewriting). */
const rewriter: Filter = {
  records: 'summary',
  wantsResponse: (k) => k === ApiKey.Produce || k === ApiKey.Fetch,
  onResponse: () => undefined,
}
/** Reads record bytes (schema validation). */
const validator: Filter = { wantsRequest: (k) => k === ApiKey.Produce, onRequest: () => undefined }

describe('decoding with records summaries', () => {
  it('only when every filter handling the message reads no more than batch headers', () => {
    expect(recordsAsSummary([stats], ApiKey.Produce, 'request', 9)).toBe(true)
    expect(recordsAsSummary([stats, validator], ApiKey.Produce, 'request', 9)).toBe(false)
    expect(recordsAsSummary([], ApiKey.Produce, 'request', 9)).toBe(false)
  })

  it('not for a message with records that a filter may change: its bytes are needed to encode it again', () => {
    expect(recordsAsSummary([stats, rewriter], ApiKey.Fetch, 'response', 12)).toBe(false)
    // A Produce response has no records: the rewriter may change it and summaries cost nothing.
    expect(recordsAsSummary([stats, rewriter], ApiKey.Produce, 'response', 10)).toBe(true)
  })

  it('for a request, the response filters count too (they see the request)', () => {
    expect(new FilterChain([stats, rewriter]).requestRecordsAsSummary(ApiKey.Produce, 9)).toBe(true)
    const bytesOnResponse: Filter = { wantsResponse: (k) => k === ApiKey.Produce, onResponse: () => undefined }
    expect(new FilterChain([stats, bytesOnResponse]).requestRecordsAsSummary(ApiKey.Produce, 9)).toBe(false)
    expect(new FilterChain([stats, validator]).requestRecordsAsSummary(ApiKey.Produce, 9)).toBe(false)
  })
})
