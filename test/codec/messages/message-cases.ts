import { API_DEFINITIONS } from '../../../codec/messages/generated/apis.js'
import type { ApiDefinition, MessageCodec } from '../../../codec/messages/message-codec.js'
import { Reader } from '../../../codec/primitives/reader.js'
import { Writer } from '../../../codec/primitives/writer.js'

/** Every API and version the codec knows, and body encode/decode, for tests that cover all of them. */

export interface ApiVersionCase {
  readonly api: ApiDefinition
  readonly version: number
}

/** One case per API key and request version (retired APIs have none). */
export function apiVersionCases(): ApiVersionCase[] {
  const cases: ApiVersionCase[] = []
  for (const api of API_DEFINITIONS) {
    if (!api) continue
    for (let v = api.request.minVersion; v <= api.request.maxVersion; v++) cases.push({ api, version: v })
  }
  return cases
}

export function encodeBody(codec: MessageCodec, body: unknown, version: number): Buffer {
  const w = new Writer(codec.size(body, version))
  codec.write(w, body, version)
  return w.finish()
}

export function decodeBody(codec: MessageCodec, bytes: Buffer, version: number): unknown {
  const r = new Reader(bytes)
  const m = codec.read(r, version)
  r.expectEnd(codec.name)
  return m
}
