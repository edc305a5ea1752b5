import { decodeRequest, decodeResponse, readRequest, readResponse } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { hasRecordsFields } from '../../codec/messages/records-fields.js'
import { readRecordsSummary } from '../../codec/records/records-summary.js'
import { decodeApiVersionsResponse } from './api-versions-answers.js'
import type { DecodedRequest, DecodedResponse } from './filter-api.js'
import type { Frame } from './frame.js'
import { heldObservation, type StreamedObservation, summaryObservation } from './streamed-observation.js'

/**
 * Frames to the decoded messages filters see. With records as summaries (Filter.records) a message is read where
 * its frame lies (a PiecesReader over socket-sized pieces: no join, no records held); otherwise the frame is
 * joined into one buffer when it came in pieces and records are views into it.
 */

export function decodeRequestFrame(frame: Frame, summary: boolean): DecodedRequest {
  let d: ReturnType<typeof decodeRequest>
  if (summary) {
    const r = frame.reader(4)
    r.recordsReader = readRecordsSummary
    d = readRequest(r)
  } else d = decodeRequest(frame.whole(), 4)
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
  } else d = decodeResponse(frame.whole(), apiKey, apiVersion, 4)
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
