import fc from 'fast-check'
import {
  clientIdBytes,
  peekClientId,
  peekRequestHeader,
  peekResponseCorrelationId,
  requestHeaderVersion,
  responseBodyOffset,
  responseHeaderVersion,
} from '../../../codec/header.js'
import {
  type RequestHeader,
  readRequestHeader,
  sizeRequestHeader,
  writeRequestHeader,
} from '../../../codec/messages/generated/request-header.js'
import {
  type ResponseHeader,
  readResponseHeader,
  sizeResponseHeader,
  writeResponseHeader,
} from '../../../codec/messages/generated/response-header.js'
import { Reader } from '../../../codec/primitives/reader.js'
import { Writer } from '../../../codec/primitives/writer.js'
import { structArbitrary } from '../../../test/codec/messages/arbitrary-message.js'
import { applyByteMutation, ByteChoices, type ByteMutation, byteMutation } from '../byte-mutations.js'
import { applyFieldMutations, type FieldMutation, fieldMutation } from '../field-mutations.js'
import { type FieldSpan, locateFields } from '../schema-fields.js'
import { check, codecOutcome, type FuzzTarget, hex } from '../target.js'
import { MESSAGE_CASES } from './messages.js'

/**
 * Request and response headers: the fixed-offset peeks the proxy uses on every frame (api key, version, correlation
 * id, client id, where a response body starts) and the generated header codecs, at every header version an API
 * uses, at an offset inside a larger buffer (as frames come, after the size prefix). Valid headers must round-trip
 * byte for byte and the peeks must agree with the full decode; mutated headers (field by field from the schema,
 * and blind bytes) must give CodecErrors only, and wherever the full decode succeeds the peeks must give the same.
 */

interface HeaderInput {
  caseIndex: number
  header: Record<string, unknown>
  /** Bytes before the header (a size prefix, or more) and the body after it. */
  padding: number
  tail: Uint8Array
  fieldMutations: FieldMutation[]
  byteMutations: ByteMutation[]
}

const headerArbitraries = [1, 2].map((v) => structArbitrary('RequestHeader', v))
const responseArbitraries = [0, 1].map((v) => structArbitrary('ResponseHeader', v))

const arbitrary: fc.Arbitrary<HeaderInput> = fc.nat(MESSAGE_CASES.length - 1).chain((caseIndex) => {
  const c = MESSAGE_CASES[caseIndex]!
  return fc.record({
    caseIndex: fc.constant(caseIndex),
    header: c.side === 'request' ? headerArbitraries[c.headerVersion - 1]! : responseArbitraries[c.headerVersion]!,
    padding: fc.constantFrom(0, 4, 7),
    tail: fc.uint8Array({ maxLength: 16 }),
    fieldMutations: fc.array(fieldMutation, { maxLength: 3 }),
    byteMutations: fc.array(byteMutation, { maxLength: 2 }),
  })
})

function encodeHeader(side: 'request' | 'response', header: Record<string, unknown>, version: number): Buffer {
  if (side === 'request') {
    const h = header as unknown as RequestHeader
    const w = new Writer(sizeRequestHeader(h, version))
    writeRequestHeader(w, h, version)
    return w.finish()
  }
  const h = header as unknown as ResponseHeader
  const w = new Writer(sizeResponseHeader(h, version))
  writeResponseHeader(w, h, version)
  return w.finish()
}

/** Full decode and peeks of a request header at `at` in `buf`; they must agree wherever the decode succeeds. */
function checkRequest(buf: Buffer, at: number, headerVersion: number, valid: Buffer | undefined): void {
  const full = codecOutcome(() => {
    const r = new Reader(buf, at)
    return { header: readRequestHeader(r, headerVersion), end: r.pos }
  })
  const peek = codecOutcome(() => peekRequestHeader(buf, at))
  const id = codecOutcome(() => clientIdBytes(buf, at))
  const idString = codecOutcome(() => peekClientId(buf, at))
  if (valid !== undefined) check(full.ok, () => `a valid request header does not decode: ${hex(buf)}`)
  if (!full.ok) return
  const h = full.value.header
  check(
    peek.ok &&
      peek.value.apiKey === h.requestApiKey &&
      peek.value.apiVersion === h.requestApiVersion &&
      peek.value.correlationId === h.correlationId,
    () => `peekRequestHeader disagrees with the decoded header: ${hex(buf)}`,
  )
  check(
    id.ok && idString.ok && idString.value === h.clientId,
    () => `peekClientId gives ${idString.ok ? idString.value : idString.error.message}, the header ${h.clientId}`,
  )
  check(
    (id.value === null) === (h.clientId === null) && (id.value === null || id.value.toString('utf8') === h.clientId),
    () => 'clientIdBytes disagrees with the decoded header',
  )
  const again = encodeHeader('request', h as unknown as Record<string, unknown>, headerVersion)
  const consumed = buf.subarray(at, full.value.end)
  if (valid !== undefined)
    check(
      again.equals(valid),
      () => `request header v${headerVersion} re-encodes differently: ${hex(valid)} ${hex(again)}`,
    )
  else {
    // What was accepted re-encodes to a header that decodes to itself (invalid UTF-8 in the client id may not
    // survive as the same bytes, so only stability is asked of mutated input).
    const r = new Reader(again)
    const back = encodeHeader(
      'request',
      readRequestHeader(r, headerVersion) as unknown as Record<string, unknown>,
      headerVersion,
    )
    check(back.equals(again), () => `request header re-encoding is not stable: ${hex(consumed)}`)
  }
}

function checkResponse(buf: Buffer, at: number, apiKey: number, version: number, valid: Buffer | undefined): void {
  const headerVersion = responseHeaderVersion(apiKey, version)
  const full = codecOutcome(() => {
    const r = new Reader(buf, at)
    return { header: readResponseHeader(r, headerVersion), end: r.pos }
  })
  const correlation = codecOutcome(() => peekResponseCorrelationId(buf, at))
  const bodyAt = codecOutcome(() => responseBodyOffset(buf, apiKey, version, at))
  if (valid !== undefined) check(full.ok, () => `a valid response header does not decode: ${hex(buf)}`)
  if (!full.ok) return
  check(
    correlation.ok && correlation.value === full.value.header.correlationId,
    () => 'peekResponseCorrelationId disagrees with the decoded header',
  )
  check(
    bodyAt.ok && bodyAt.value === full.value.end,
    () =>
      `responseBodyOffset gives ${bodyAt.ok ? bodyAt.value : bodyAt.error.message}, the decoded header ends at ${full.value.end}: ${hex(buf)}`,
  )
  const again = encodeHeader('response', full.value.header as unknown as Record<string, unknown>, headerVersion)
  if (valid !== undefined)
    check(
      again.equals(valid),
      () => `response header v${headerVersion} re-encodes differently: ${hex(valid)} ${hex(again)}`,
    )
}

function runHeader(input: HeaderInput): void {
  const c = MESSAGE_CASES[input.caseIndex]!
  const header =
    c.side === 'request' ? { ...input.header, requestApiKey: c.apiKey, requestApiVersion: c.version } : input.header
  const valid = encodeHeader(c.side, header, c.headerVersion)
  const expectedVersion =
    c.side === 'request' ? requestHeaderVersion(c.apiKey, c.version) : responseHeaderVersion(c.apiKey, c.version)
  check(expectedVersion === c.headerVersion, () => `header version of ${c.name} v${c.version} changed`)
  const pad = Buffer.alloc(input.padding, 0xee)
  const buf = Buffer.concat([pad, valid, input.tail])
  if (c.side === 'request') checkRequest(buf, input.padding, c.headerVersion, valid)
  else checkResponse(buf, input.padding, c.apiKey, c.version, valid)

  const spans: FieldSpan[] = []
  const name = c.side === 'request' ? 'RequestHeader' : 'ResponseHeader'
  const end = locateFields(valid, 0, valid.length, name, c.headerVersion, spans)
  check(end === valid.length, () => `the schema walk of ${name} v${c.headerVersion} ends at ${end} of ${valid.length}`)
  let mutated = applyFieldMutations(valid, spans, input.fieldMutations)
  mutated = Buffer.concat([pad, mutated, input.tail])
  for (const m of input.byteMutations) mutated = applyByteMutation(mutated, m, input.padding)
  if (c.side === 'request') checkRequest(mutated, input.padding, c.headerVersion, undefined)
  else checkResponse(mutated, input.padding, c.apiKey, c.version, undefined)
}

export const headerTarget: FuzzTarget<HeaderInput> = {
  name: 'header',
  description: 'request/response headers at every header version: peeks against the full decode, round trip, mutations',
  arbitrary,
  run: runHeader,
  runBytes(data) {
    const choices = new ByteChoices(data)
    const c = MESSAGE_CASES[(choices.pick(256) * 256 + choices.pick(256)) % MESSAGE_CASES.length]!
    const padding = choices.pick(8)
    const bytes = Buffer.from(choices.rest())
    if (padding > bytes.length) return
    if (c.side === 'request') checkRequest(bytes, padding, c.headerVersion, undefined)
    else checkResponse(bytes, padding, c.apiKey, c.version, undefined)
  },
  limits: { allocation: 1 << 20, growth: 16 << 20 },
}
