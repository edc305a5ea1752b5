import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { API_DEFINITIONS } from '../../../codec/messages/generated/apis.js'
import { STRUCT_SCHEMAS } from '../../../codec/messages/generated/schema.js'
import type { MessageCodec } from '../../../codec/messages/message-codec.js'
import { Reader } from '../../../codec/primitives/reader.js'
import { Writer } from '../../../codec/primitives/writer.js'
import { structArbitrary } from './arbitrary-message.js'

/**
 * For every API, every version, request and response: random messages survive encode -> decode unchanged,
 * and the decoded message re-encodes to exactly the same bytes.
 */

const RUNS = Number(process.env.KSC_PROPERTY_RUNS ?? 25)

function encode(codec: MessageCodec, m: unknown, version: number): Buffer {
  const w = new Writer(codec.size(m, version))
  codec.write(w, m, version)
  return w.finish()
}

function decode(codec: MessageCodec, bytes: Buffer, version: number): unknown {
  const r = new Reader(bytes)
  const m = codec.read(r, version)
  r.expectEnd(codec.name)
  return m
}

const cases: [string, MessageCodec, number][] = []
for (const api of API_DEFINITIONS) {
  if (!api) continue
  for (const codec of [api.request, api.response]) {
    for (let v = codec.minVersion; v <= codec.maxVersion; v++) cases.push([`${codec.name} v${v}`, codec, v])
  }
}

describe('generated message codecs round-trip', () => {
  it('cover every API with at least one version (retired APIs excepted)', () => {
    const names = new Set(cases.map(([, c]) => c.name))
    const apis = API_DEFINITIONS.filter((a) => a && a.request.minVersion <= a.request.maxVersion)
    expect(names.size).toBe(apis.length * 2)
    expect(cases.length).toBeGreaterThan(500)
  })

  it.each(cases)('%s', (_name, codec, version) => {
    expect(STRUCT_SCHEMAS[codec.name]).toBeDefined()
    fc.assert(
      fc.property(structArbitrary(codec.name, version), (msg) => {
        const bytes = encode(codec, msg, version)
        const decoded = decode(codec, bytes, version)
        expect(decoded).toEqual(msg)
        // skip() moves past exactly the bytes read() consumes, and stopAtTags stops where the tagged fields start.
        const skipper = new Reader(bytes)
        codec.skip(skipper, version)
        expect(skipper.pos).toBe(bytes.length)
        expect(encode(codec, decoded, version).equals(bytes)).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })
})
