import fc from 'fast-check'
import { requestHeaderVersion, responseHeaderVersion } from '../../../codec/header.js'
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  readRequest,
  readResponse,
} from '../../../codec/messages/frames.js'
import { API_DEFINITIONS } from '../../../codec/messages/generated/apis.js'
import type { RequestHeader } from '../../../codec/messages/generated/request-header.js'
import type { ResponseHeader } from '../../../codec/messages/generated/response-header.js'
import type { MessageCodec } from '../../../codec/messages/message-codec.js'
import { hasRecordsFields } from '../../../codec/messages/records-fields.js'
import { PiecesReader } from '../../../codec/primitives/pieces-reader.js'
import { Reader } from '../../../codec/primitives/reader.js'
import { readRecordsSummary } from '../../../codec/records/records-summary.js'
import { StreamingSummaryDecoder } from '../../../codec/records/streaming-summary-decoder.js'
import { structArbitrary } from '../../../test/codec/messages/arbitrary-message.js'
import { applyByteMutation, ByteChoices, type ByteMutation, byteMutation, splitAt } from '../byte-mutations.js'
import { applyFieldMutations, type FieldMutation, fieldMutation } from '../field-mutations.js'
import { fillRecordsFields, prepareRecordsPool } from '../records-fields-fill.js'
import { type FieldSpan, locateFields, SchemaWalkError } from '../schema-fields.js'
import { check, codecOutcome, type FuzzTarget, hex } from '../target.js'

/**
 * Every API, every version, request and response: a random message from the generated schema is encoded as a
 * frame (header and body), and the frame must decode and re-encode to the same bytes, through a Reader over one
 * Buffer and through a PiecesReader over the frame cut at random points (how the proxy reads a frame that came in
 * several socket reads); skip() must move past exactly the body; the schema walk (schema-fields.ts) must end where
 * the codec does. Then fields are mutated one by one from the schema, and bytes blindly: decoding must throw only
 * CodecErrors, both readers must agree, a frame that decodes must re-encode to a frame that decodes to itself,
 * skip() must throw only CodecErrors, and so must a decode that reads records fields as summaries (observers).
 */

export interface MessageCase {
  side: 'request' | 'response'
  apiKey: number
  version: number
  headerVersion: number
  codec: MessageCodec
  /** Name of the body's struct in STRUCT_SCHEMAS. */
  name: string
}

export const MESSAGE_CASES: readonly MessageCase[] = API_DEFINITIONS.flatMap((api) => {
  if (api === undefined) return []
  const cases: MessageCase[] = []
  for (const side of ['request', 'response'] as const) {
    const codec = api[side]
    for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
      const headerVersion =
        side === 'request' ? requestHeaderVersion(api.apiKey, v) : responseHeaderVersion(api.apiKey, v)
      // Request header v0 (ControlledShutdown v0, removed in Kafka 4.0) has no layout in the codec.
      if (side === 'request' && headerVersion === 0) continue
      cases.push({ side, apiKey: api.apiKey, version: v, headerVersion, codec, name: codec.name })
    }
  }
  return cases
})

export interface MessageInput {
  caseIndex: number
  /** Which batches of records-fields-fill.ts's pool the records fields get. */
  recordsPick: number
  header: Record<string, unknown>
  body: Record<string, unknown>
  fieldMutations: FieldMutation[]
  byteMutations: ByteMutation[]
  cuts: number[]
}

const arbitraries = new Map<string, fc.Arbitrary<Record<string, unknown>>>()
function cachedStruct(name: string, version: number): fc.Arbitrary<Record<string, unknown>> {
  const key = `${name}@${version}`
  let a = arbitraries.get(key)
  if (a === undefined) {
    a = structArbitrary(name, version)
    arbitraries.set(key, a)
  }
  return a
}

/** Cases of the layouts at `indexes` of MESSAGE_CASES. */
const messageArbitrary = (indexes: readonly number[]): fc.Arbitrary<MessageInput> =>
  fc.constantFrom(...indexes).chain((caseIndex) => {
    const c = MESSAGE_CASES[caseIndex]!
    return fc.record({
      caseIndex: fc.constant(caseIndex),
      recordsPick: fc.nat(),
      header: cachedStruct(c.side === 'request' ? 'RequestHeader' : 'ResponseHeader', c.headerVersion),
      body: cachedStruct(c.name, c.version),
      fieldMutations: fc.array(fieldMutation, { maxLength: 3 }),
      byteMutations: fc.oneof(
        { weight: 3, arbitrary: fc.constant<ByteMutation[]>([]) },
        { weight: 1, arbitrary: fc.array(byteMutation, { minLength: 1, maxLength: 2 }) },
      ),
      cuts: fc.array(fc.nat(), { maxLength: 6 }),
    })
  })

function encodeFrame(c: MessageCase, header: Record<string, unknown>, body: unknown): Buffer {
  if (c.side === 'request') {
    const h = { ...header, requestApiKey: c.apiKey, requestApiVersion: c.version } as unknown as RequestHeader
    return encodeRequest(h, body)
  }
  return encodeResponse(c.apiKey, c.version, header as unknown as ResponseHeader, body)
}

interface Decoded {
  header: Record<string, unknown>
  body: unknown
}

/** Decodes a frame body (no size prefix) with a Reader over it, or a PiecesReader over it cut at `cuts`. */
function decode(c: MessageCase, bytes: Buffer, cuts: readonly number[] | undefined, summaries = false): Decoded {
  const r = cuts === undefined ? new Reader(bytes) : new PiecesReader(splitAt(bytes, cuts))
  if (summaries) r.recordsReader = readRecordsSummary
  const m = c.side === 'request' ? readRequest(r) : readResponse(r, c.apiKey, c.version)
  return { header: m.header as unknown as Record<string, unknown>, body: m.body }
}

/** Re-encodes a decoded frame; a request's header names the API and version it is encoded as. */
function reencode(c: MessageCase, d: Decoded): Buffer {
  if (c.side === 'request') return encodeRequest(d.header as unknown as RequestHeader, d.body)
  return encodeResponse(c.apiKey, c.version, d.header as unknown as ResponseHeader, d.body)
}

/** The case a decoded request re-encodes as (its header may name another API after a mutation). */
function caseOf(c: MessageCase, d: Decoded): MessageCase {
  if (c.side === 'response') return c
  const apiKey = d.header.requestApiKey as number
  const version = d.header.requestApiVersion as number
  return MESSAGE_CASES.find((x) => x.side === 'request' && x.apiKey === apiKey && x.version === version) ?? c
}

function what(c: MessageCase): string {
  return `${c.name} v${c.version}`
}

/** The fields of a frame body: header, then body, located from the schema. */
function spansOf(c: MessageCase, body: Buffer): { spans: FieldSpan[]; bodyStart: number; end: number } {
  const spans: FieldSpan[] = []
  const headerName = c.side === 'request' ? 'RequestHeader' : 'ResponseHeader'
  const bodyStart = locateFields(body, 0, body.length, headerName, c.headerVersion, spans)
  const end = locateFields(body, bodyStart, body.length, c.name, c.version, spans)
  return { spans, bodyStart, end }
}

function checkValid(c: MessageCase, frame: Buffer, cuts: readonly number[]): FieldSpan[] {
  const body = frame.subarray(4)
  check(frame.readInt32BE(0) === body.length, () => `${what(c)}: size prefix ${frame.readInt32BE(0)} != ${body.length}`)
  // As the proxy decodes a frame: in place, after its size prefix.
  const m = c.side === 'request' ? decodeRequest(frame, 4) : decodeResponse(frame, c.apiKey, c.version, 4, frame.length)
  const again = reencode(c, { header: m.header as unknown as Record<string, unknown>, body: m.body })
  check(again.equals(frame), () => `${what(c)}: decode then encode changed the frame\n ${hex(frame)}\n ${hex(again)}`)
  const inPieces = reencode(c, decode(c, body, cuts))
  check(inPieces.equals(frame), () => `${what(c)}: decoded in pieces (cuts ${cuts}), it re-encodes differently`)
  const walked = (() => {
    try {
      return spansOf(c, body)
    } catch (err) {
      if (err instanceof SchemaWalkError) throw new Error(`${what(c)}: the schema walk fails on a valid frame: ${err}`)
      throw err
    }
  })()
  check(
    walked.end === body.length,
    () => `${what(c)}: the schema walk ends at ${walked.end}, the frame at ${body.length}`,
  )
  // skip() from the body's start (where the header's schema walk ended) moves past exactly the body.
  const skipper = new Reader(body, walked.bodyStart)
  c.codec.skip(skipper, c.version)
  check(skipper.pos === body.length, () => `${what(c)}: skip() stopped at ${skipper.pos} of ${body.length}`)
  return walked.spans
}

/** Where the body starts: after the header, located by the schema walk (SchemaWalkError if it does not fit). */
function headerEnd(c: MessageCase, bytes: Buffer): number {
  const name = c.side === 'request' ? 'RequestHeader' : 'ResponseHeader'
  return locateFields(bytes, 0, bytes.length, name, c.headerVersion, [])
}

/** Invariants for bytes that may be anything: typed errors only, agreement, stable re-encoding. */
function checkMutated(c: MessageCase, bytes: Buffer, cuts: readonly number[]): void {
  const whole = codecOutcome(() => decode(c, bytes, undefined))
  const pieces = codecOutcome(() => decode(c, bytes, cuts))
  check(
    whole.ok === pieces.ok,
    () =>
      `${what(c)}: a Reader ${whole.ok ? 'accepts' : `refuses (${whole.error.message})`} but a PiecesReader (cuts ${cuts}) ` +
      `${pieces.ok ? 'accepts' : `refuses (${pieces.error.message})`}: ${hex(bytes)}`,
  )
  if (hasRecordsFields(c.apiKey, c.side, c.version)) checkSummaries(c, bytes, cuts)
  if (!whole.ok || !pieces.ok) return
  const rc = caseOf(c, whole.value)
  const first = codecOutcome(() => reencode(rc, whole.value))
  const second = codecOutcome(() => reencode(rc, pieces.value))
  check(
    first.ok === second.ok && (!first.ok || !second.ok || first.value.equals(second.value)),
    () => `${what(c)}: the two readers' decodings re-encode differently: ${hex(bytes)}`,
  )
  if (!first.ok) return
  const redecoded = codecOutcome(() => decode(rc, first.value.subarray(4), undefined))
  check(
    redecoded.ok,
    () =>
      `${what(rc)}: a re-encoded frame does not decode (${!redecoded.ok && redecoded.error.message}): ${hex(first.value)}`,
  )
  const third = reencode(rc, redecoded.value)
  check(third.equals(first.value), () => `${what(rc)}: re-encoding is not stable\n ${hex(first.value)}\n ${hex(third)}`)
}

/** A decoded message as comparable text (bigints and Buffers included). */
function text(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    typeof v === 'bigint' ? `${v}n` : v?.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v,
  )
}

/**
 * Observers decode Produce and Fetch with records fields read as summaries, where the frame lies: from a Reader,
 * a PiecesReader, and (a message streamed through piece by piece) a StreamingSummaryDecoder fed the frame's pieces.
 * All three must give the same message, or all a CodecError.
 */
function checkSummaries(c: MessageCase, bytes: Buffer, cuts: readonly number[]): void {
  const whole = codecOutcome(() => decode(c, bytes, undefined, true))
  const pieces = codecOutcome(() => decode(c, bytes, cuts, true))
  const frame = Buffer.concat([Buffer.alloc(4), bytes])
  frame.writeInt32BE(bytes.length, 0)
  const streamed = codecOutcome(() => {
    const decoder = new StreamingSummaryDecoder(frame.length, 4, (r) =>
      c.side === 'request' ? readRequest(r) : readResponse(r, c.apiKey, c.version),
    )
    // Each piece is overwritten after the push, as the proxy reuses its read buffer.
    for (const piece of splitAt(frame, cuts)) {
      const copy = Buffer.from(piece)
      decoder.push(copy)
      copy.fill(0xa5)
    }
    const m = decoder.result()
    return { header: m.header as unknown as Record<string, unknown>, body: m.body }
  })
  const outcomes = [whole, pieces, streamed].map((o) => (o.ok ? text(o.value) : `error ${o.error.code}`))
  check(
    outcomes[0] === outcomes[1] && outcomes[0] === outcomes[2],
    () =>
      `${what(c)}: records summaries differ (Reader / PiecesReader / StreamingSummaryDecoder, cuts ${cuts}):\n ` +
      `${outcomes.map((o) => o.slice(0, 300)).join('\n ')}\n frame ${hex(frame, 200)}`,
  )
}

/** skip() on a body that may be anything: typed errors only; if read() accepts the body, skip() ends with it. */
function checkSkip(c: MessageCase, bytes: Buffer): void {
  let start: number
  try {
    start = headerEnd(c, bytes)
  } catch (err) {
    if (err instanceof SchemaWalkError) return
    throw err
  }
  const read = codecOutcome(() => {
    const r = new Reader(bytes, start)
    c.codec.read(r, c.version)
    return r.pos
  })
  const skipped = codecOutcome(() => {
    const r = new Reader(bytes, start)
    c.codec.skip(r, c.version)
    return r.pos
  })
  if (read.ok)
    check(
      skipped.ok && skipped.value === read.value,
      () =>
        `${what(c)}: read() ends at ${read.value} but skip() ${skipped.ok ? `at ${skipped.value}` : `throws ${skipped.error.message}`}: ${hex(bytes)}`,
    )
}

function runMessage(input: MessageInput): void {
  const c = MESSAGE_CASES[input.caseIndex]!
  const withRecords = hasRecordsFields(c.apiKey, c.side, c.version)
  const body = withRecords ? fillRecordsFields(input.body, c.name, c.version, input.recordsPick) : input.body
  const frame = encodeFrame(c, input.header, body)
  const spans = checkValid(c, frame, input.cuts)
  if (withRecords) checkSummaries(c, frame.subarray(4), input.cuts)
  if (input.fieldMutations.length === 0 && input.byteMutations.length === 0) return
  let bytes = applyFieldMutations(frame.subarray(4), spans, input.fieldMutations)
  for (const m of input.byteMutations) bytes = applyByteMutation(bytes, m)
  checkMutated(c, bytes, input.cuts)
  checkSkip(c, bytes)
}

const ALL_CASES = MESSAGE_CASES.map((_, i) => i)
const RECORDS_CASES = ALL_CASES.filter((i) => {
  const c = MESSAGE_CASES[i]!
  return hasRecordsFields(c.apiKey, c.side, c.version)
})

/** The coverage-guided entry over the layouts at `indexes`: the first two bytes pick one, the rest is its frame. */
function bytesEntry(indexes: readonly number[]): (data: Buffer) => void {
  return (data) => {
    const choices = new ByteChoices(data)
    const c = MESSAGE_CASES[indexes[(choices.pick(256) * 256 + choices.pick(256)) % indexes.length]!]!
    const bytes = Buffer.from(choices.rest())
    const cuts = [bytes.length >> 1, bytes.length >> 2]
    checkMutated(c, bytes, cuts)
    checkSkip(c, bytes)
  }
}

export const messagesTarget: FuzzTarget<MessageInput> = {
  name: 'messages',
  description: `request and response frames of every API and version (${MESSAGE_CASES.length} layouts): round trip, field and byte mutations`,
  arbitrary: messageArbitrary(ALL_CASES),
  prepare: prepareRecordsPool,
  run: runMessage,
  runBytes: bytesEntry(ALL_CASES),

  // Frames here are at most some KiB (the arbitrary's arrays are short); a decoded frame is objects and views, some
  // hundred bytes of heap per input byte at worst (one-byte structs), and a case decodes and encodes a handful of
  // times. An untrusted count or length reaching an allocator shows far above these.
  limits: { allocation: 4 << 20, growth: 64 << 20 },
}

/**
 * The messages target on the layouts with records fields alone (Produce, Fetch, ShareFetch, FetchSnapshot), whose
 * fields carry real batches: the three readers of records summaries, the streaming one above all, get every case
 * rather than one in thirty.
 */
export const recordsMessagesTarget: FuzzTarget<MessageInput> = {
  ...messagesTarget,
  name: 'records-messages',
  description: `frames with records fields (${RECORDS_CASES.length} layouts): as messages, and records summaries streamed`,
  arbitrary: messageArbitrary(RECORDS_CASES),
  runBytes: bytesEntry(RECORDS_CASES),
}
