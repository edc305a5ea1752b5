import { responseBodyOffset } from '../../codec/header.js'
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeRequestPieces,
  encodeResponse,
  encodeResponsePieces,
  readRequest,
  readResponse,
} from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { hasRecordsFields } from '../../codec/messages/records-fields.js'
import { readRecordsSummary } from '../../codec/records/records-summary.js'
import { decodeApiVersionsResponse } from './api-versions-answers.js'
import type { DecodedRequest, DecodedResponse, Filter } from './filter-api.js'
import { Frame } from './frame.js'
import { apiName } from './slot.js'
import { heldObservation, type StreamedObservation, summaryObservation } from './streamed-observation.js'

/**
 * Frames to the decoded messages filters see, read where the frame lies: a frame that came in socket-sized pieces is
 * not joined first (a PiecesReader reads across them; a value is copied only where it straddles two pieces). With
 * records as summaries (Filter.records) no records are held at all; otherwise they are views into the pieces.
 */

export function decodeRequestFrame(frame: Frame, summary: boolean): DecodedRequest {
  let d: ReturnType<typeof decodeRequest>
  if (summary) {
    const r = frame.reader(4)
    r.recordsReader = readRecordsSummary
    d = readRequest(r)
  } else d = frame.isWhole ? decodeRequest(frame.whole(), 4) : readRequest(frame.reader(4))
  return { apiKey: d.apiKey, apiVersion: d.apiVersion, header: d.header, size: frame.length, body: d.body }
}

export function decodeResponseFrame(
  frame: Frame,
  apiKey: number,
  apiVersion: number,
  summary: boolean,
  request: DecodedRequest | undefined,
): DecodedResponse {
  let d: ReturnType<typeof decodeResponse>
  if (apiKey === ApiKey.ApiVersions) d = decodeApiVersionsResponse(frame.whole(), apiVersion)
  else if (summary) {
    const r = frame.reader(4)
    r.recordsReader = readRecordsSummary
    d = readResponse(r, apiKey, apiVersion)
  } else
    d = frame.isWhole
      ? decodeResponse(frame.whole(), apiKey, apiVersion, 4)
      : readResponse(frame.reader(4), apiKey, apiVersion)
  return { apiKey: d.apiKey, apiVersion: d.apiVersion, header: d.header, size: frame.length, body: d.body, request }
}

/**
 * How observers will see a request streamed through. When its reads are transient (a reused buffer) and the
 * observers read records as summaries (statistics), it is decoded as it passes: holding its pieces would give up
 * the buffer on every read, and the new buffer each read then needs is what costs (src/server/accepted-socket.ts).
 * Otherwise (TLS clients, whose reads are Node's own buffers, or observers that read records) the pieces are held
 * and decoded at the end.
 */
export function requestObservation(
  apiKey: number,
  apiVersion: number,
  length: number,
  summary: boolean,
  transientReads: boolean,
): StreamedObservation<DecodedRequest> {
  if (summary && transientReads && hasRecordsFields(apiKey, 'request', apiVersion)) {
    return summaryObservation(length, (r) => {
      const d = readRequest(r)
      return { apiKey: d.apiKey, apiVersion: d.apiVersion, header: d.header, size: length, body: d.body }
    })
  }
  return heldObservation(length, (frame) => decodeRequestFrame(frame, summary))
}

/**
 * How observers will see a streamed response: when it carries records and they read batch headers at most,
 * decoded as its pieces pass, holding nothing (the broker read buffer is reused, and a Fetch response can be tens
 * of MB); otherwise from its pieces, held until the last one (the read buffer is then given up each read).
 */
export function responseObservation(
  apiKey: number,
  apiVersion: number,
  length: number,
  summary: boolean,
  request: DecodedRequest | undefined,
): StreamedObservation<DecodedResponse> {
  if (summary && hasRecordsFields(apiKey, 'response', apiVersion)) {
    return summaryObservation(length, (r) => {
      const d = readResponse(r, apiKey, apiVersion)
      return { apiKey: d.apiKey, apiVersion: d.apiVersion, header: d.header, size: length, body: d.body, request }
    })
  }
  return heldObservation(length, (frame) => decodeResponseFrame(frame, apiKey, apiVersion, summary, request))
}

/** A message a filter changed cannot be encoded again (records read as summaries), or its encoding failed. */
export class ReencodeError extends Error {
  constructor(
    readonly what: string,
    cause: unknown,
  ) {
    super((cause as Error)?.message ?? String(cause), { cause })
  }
}

/**
 * A request changed by a filter, encoded again. Throws ReencodeError when its records were read as summaries (a
 * summary cannot be encoded) or the encoder refuses the body.
 */
export function reencodeRequest(req: DecodedRequest, recordsAsSummaries: boolean): Frame {
  const what = `re-encoding ${apiName(req.apiKey)} v${req.apiVersion}`
  const records = hasRecordsFields(req.apiKey, 'request', req.apiVersion)
  if (recordsAsSummaries && records) {
    throw new ReencodeError(what, new Error('a filter that asked for records summaries changed the request'))
  }
  try {
    if (!records) return Frame.of(encodeRequest(req.header, req.body))
    const pieces = encodeRequestPieces(req.header, req.body, REFERENCE_FROM)
    return Frame.fromPieces(pieces, byteLength(pieces))
  } catch (err) {
    throw new ReencodeError(what, err)
  }
}

/**
 * Records of at least this many bytes are not copied into a re-encoded message but passed on as pieces of their own
 * (encodeRequestPieces): below it a copy costs less than the extra piece a write carries.
 */
const REFERENCE_FROM = 1024

function byteLength(pieces: readonly Buffer[]): number {
  let n = 0
  for (const p of pieces) n += p.length
  return n
}

/** A response changed by a filter, encoded again (see reencodeRequest). */
export function reencodeResponse(res: DecodedResponse, recordsAsSummaries: boolean): Frame {
  const what = `re-encoding ${apiName(res.apiKey)} v${res.apiVersion} response`
  if (recordsAsSummaries && hasRecordsFields(res.apiKey, 'response', res.apiVersion)) {
    throw new ReencodeError(what, new Error('a filter that asked for records summaries changed the response'))
  }
  try {
    if (!hasRecordsFields(res.apiKey, 'response', res.apiVersion)) {
      return Frame.of(encodeResponse(res.apiKey, res.apiVersion, res.header, res.body))
    }
    const pieces = encodeResponsePieces(res.apiKey, res.apiVersion, res.header, res.body, REFERENCE_FROM)
    return Frame.fromPieces(pieces, byteLength(pieces))
  } catch (err) {
    throw new ReencodeError(what, err)
  }
}

/**
 * The response filters that need this response decoded: those that want it, narrowed by needsResponse (asked with a
 * reader over the frame's pieces, so a large response is scanned where it lies, never copied first).
 */
export function filtersNeeding(
  wanted: readonly Filter[],
  apiKey: number,
  apiVersion: number,
  frame: Frame,
  headBytes: number,
): readonly Filter[] {
  // Asked for every response a filter wants: a plain loop, the body offset read once and only if some filter asks,
  // and a new list only when some filter declines.
  let bodyOffset = -1
  let kept: Filter[] | undefined
  for (let i = 0; i < wanted.length; i++) {
    const f = wanted[i]!
    let needed = true
    if (f.needsResponse !== undefined) {
      if (bodyOffset < 0) {
        try {
          bodyOffset = frame.peek(headBytes, (b) => responseBodyOffset(b, apiKey, apiVersion, 4))
        } catch {
          return wanted // malformed: the decoder reports it
        }
      }
      try {
        needed = f.needsResponse(apiKey, apiVersion, frame.reader(bodyOffset))
      } catch {
        needed = true
      }
    }
    if (!needed) kept ??= wanted.slice(0, i)
    else if (kept !== undefined) kept.push(f)
  }
  return kept ?? wanted
}
