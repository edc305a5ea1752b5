import { describe, expect, it } from 'vitest'
import { UnknownApiKeyError } from '../../codec/errors.js'
import { encodeRequest } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { Filter } from '../../src/pipeline/filter-api.js'
import { FilterChain } from '../../src/pipeline/filter-chain.js'
import {
  ClientIdReader,
  RequestTooLargeError,
  screenRequest,
  UndecodableForFilterError,
} from '../../src/pipeline/request-plan.js'

const limits = { maxUnauthenticatedFrameBytes: 524_288, maxNonRecordRequestBytes: 8 << 20 }

/** The first bytes of a frame announcing `size` bytes, with this API key and version: all screenRequest sees. */
function head(apiKey: number, apiVersion: number, size: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeInt32BE(size - 4, 0)
  b.writeInt16BE(apiKey, 4)
  b.writeInt16BE(apiVersion, 6)
  return b
}

describe('screenRequest: refused from the header, before the body is read', () => {
  const none = new FilterChain([])

  it('a 100 MiB ApiVersions (or SASL) request: over the unauthenticated cap', () => {
    for (const key of [ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate]) {
      expect(() => screenRequest(head(key, 0, 100 << 20), 100 << 20, limits, none, false)).toThrow(RequestTooLargeError)
    }
    expect(() => screenRequest(head(ApiKey.ApiVersions, 3, 600), 600, limits, none, false)).not.toThrow()
  })

  it('a bare SASL v0 token over the cap', () => {
    expect(() => screenRequest(Buffer.alloc(8), 600_000, limits, none, true)).toThrow(/SASL token/)
    expect(() => screenRequest(Buffer.alloc(8), 4096, limits, none, true)).not.toThrow()
  })

  it('a request without records over its cap; Produce may be as large as frames may', () => {
    expect(() => screenRequest(head(ApiKey.Metadata, 12, 9 << 20), 9 << 20, limits, none, false)).toThrow(
      /limits\.maxNonRecordRequestBytes/,
    )
    expect(() => screenRequest(head(ApiKey.Produce, 9, 50 << 20), 50 << 20, limits, none, false)).not.toThrow()
  })

  it('an API key the codec does not know', () => {
    expect(() => screenRequest(head(999, 0, 100), 100, limits, none, false)).toThrow(UnknownApiKeyError)
  })

  it('a version the codec cannot decode, of an API a filter that may act must see; observers do not count', () => {
    const acting: Filter = { wantsRequest: (k) => k === ApiKey.Produce, onRequest: () => undefined }
    const observing: Filter = { ...acting, observesOnly: true }
    const h = head(ApiKey.Produce, 2, 1000) // Produce v0-2: below the codec's minimum (KIP-896)
    expect(() => screenRequest(h, 1000, limits, new FilterChain([acting]), false)).toThrow(UndecodableForFilterError)
    expect(() => screenRequest(h, 1000, limits, new FilterChain([observing]), false)).not.toThrow()
    expect(() => screenRequest(h, 1000, limits, none, false)).not.toThrow()
  })
})

describe('ClientIdReader', () => {
  const frame = (clientId: string | null) =>
    encodeRequest(
      { requestApiKey: ApiKey.Metadata, requestApiVersion: 4, correlationId: 1, clientId },
      { topics: [], allowAutoTopicCreation: false },
    )

  it('reports a change only when the client id differs from the previous request', () => {
    const r = new ClientIdReader()
    expect(r.read(frame('a'))).toBe(true)
    expect(r.id).toBe('a')
    expect(r.read(frame('a'))).toBe(false)
    expect(r.read(frame('b'))).toBe(true)
    expect(r.read(frame(null))).toBe(true)
    expect(r.id).toBeNull()
    expect(r.read(frame(null))).toBe(false)
  })
})
