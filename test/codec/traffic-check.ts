import { peekClientId, peekRequestHeader, peekResponseCorrelationId } from '../../codec/header.js'
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type RequestMessage,
  type ResponseMessage,
} from '../../codec/messages/frames.js'
import { API_DEFINITIONS, ApiKey } from '../../codec/messages/generated/apis.js'
import type { FetchResponse } from '../../codec/messages/generated/fetch-response.js'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import { peekProduceAcks } from '../../codec/messages/peek.js'
import {
  type ControlRecord,
  decodeControlRecord,
  type Record,
  RecordBatch,
  readBatches,
} from '../../codec/records/index.js'

/**
 * Checks captured Kafka traffic against the codec: every frame decodes and re-encodes to the same bytes.
 * Requests carry their api key and version; responses do not, so each response is paired with its request
 * the way a client does it: per connection, in order, confirmed by the correlation id.
 */

/** One connection's frames as FrameDecoder cut them: size prefix included. */
export interface CapturedConnection {
  id: number
  requests: readonly Buffer[]
  responses: readonly Buffer[]
}

export type FrameOutcome =
  /** Decoded and re-encoded to exactly the captured bytes. */
  | 'identical'
  /** The codec does not cover this api key or version by design (reason says which); not a codec failure. */
  | 'undecodable'
  /** Decoded, but the re-encoded bytes differ: a codec bug. */
  | 'mismatch'
  /** A version the codec covers failed to decode: a codec bug (or a corrupt capture). */
  | 'decode-error'
  /** A response whose request is not in the capture, or that answers out of order. */
  | 'unpaired'

export interface CheckedFrame {
  connection: number
  direction: 'request' | 'response'
  /** Position of the frame among its connection's requests or responses. */
  index: number
  apiKey: number
  /** The request's version (for a response: the version of the request it answers). */
  apiVersion: number
  /** The version the body was decoded at: apiVersion, except for ApiVersions' v0 error fallback (KIP-511). */
  decodedVersion: number
  /** From the request header (for a response: its request's). */
  clientId: string | null
  correlationId: number
  outcome: FrameOutcome
  reason?: string
  decoded?: RequestMessage | ResponseMessage
  frame: Buffer
}

const UNSUPPORTED_VERSION = 35

export function apiName(apiKey: number): string {
  return API_DEFINITIONS[apiKey]?.name ?? `ApiKey${apiKey}`
}

/** Whether this version of the API uses the flexible (compact, tagged-field) encoding of KIP-482. */
export function isFlexible(apiKey: number, apiVersion: number, side: 'request' | 'response' = 'request'): boolean {
  const api = API_DEFINITIONS[apiKey]
  return api !== undefined && apiVersion >= api[side].flexibleMinVersion
}

/** Why the codec cannot decode this api key and version, or null when it can. */
export function notCoveredReason(apiKey: number, apiVersion: number): string | null {
  const api = API_DEFINITIONS[apiKey]
  if (api === undefined) return `api key ${apiKey} is not in Kafka 4.4.0's specs`
  const { minVersion, maxVersion } = api.request
  if (apiVersion < minVersion)
    return `${api.name} v${apiVersion} is below v${minVersion}, the oldest version in Kafka 4.4.0's specs (removed by KIP-896)`
  if (apiVersion > maxVersion)
    return `${api.name} v${apiVersion} is above v${maxVersion}, the newest in Kafka 4.4.0's specs`
  return null
}

/** Offset and a hex window of the first byte where two buffers differ (or where the shorter one ends). */
export function firstDifference(expected: Buffer, actual: Buffer): string {
  let i = 0
  const n = Math.min(expected.length, actual.length)
  while (i < n && expected[i] === actual[i]) i++
  const window = (b: Buffer): string => b.subarray(Math.max(0, i - 8), i + 16).toString('hex')
  return (
    `lengths ${expected.length} (captured) vs ${actual.length} (re-encoded), first difference at byte ${i}: ` +
    `captured ...${window(expected)}... re-encoded ...${window(actual)}...`
  )
}

interface PendingRequest {
  apiKey: number
  apiVersion: number
  correlationId: number
  clientId: string | null
  expectsResponse: boolean
}

/** Decodes, re-encodes and compares every frame of one connection; never throws. */
export function checkConnection(connection: CapturedConnection): CheckedFrame[] {
  const out: CheckedFrame[] = []
  const pending: PendingRequest[] = []
  connection.requests.forEach((frame, index) => {
    const checked = checkRequest(connection.id, index, frame)
    out.push(checked)
    if (checked.outcome === 'decode-error' && checked.apiKey < 0) return
    pending.push({
      apiKey: checked.apiKey,
      apiVersion: checked.apiVersion,
      correlationId: checked.correlationId,
      clientId: checked.clientId,
      expectsResponse: expectsResponse(checked, frame),
    })
  })
  connection.responses.forEach((frame, index) => {
    const base = { connection: connection.id, direction: 'response' as const, index, frame }
    let correlationId: number
    try {
      correlationId = peekResponseCorrelationId(frame, 4)
    } catch (err) {
      out.push({
        ...base,
        apiKey: -1,
        apiVersion: -1,
        decodedVersion: -1,
        clientId: null,
        correlationId: -1,
        outcome: 'unpaired',
        reason: String(err),
      })
      return
    }
    // Responses come back in request order; requests that get no response (Produce acks=0) are skipped.
    let request = pending.shift()
    while (request && !request.expectsResponse && request.correlationId !== correlationId) request = pending.shift()
    if (!request || request.correlationId !== correlationId) {
      out.push({
        ...base,
        apiKey: -1,
        apiVersion: -1,
        decodedVersion: -1,
        clientId: null,
        correlationId,
        outcome: 'unpaired',
        reason: request
          ? `correlation id ${correlationId} answers out of order (expected ${request.correlationId})`
          : `no request with correlation id ${correlationId}`,
      })
      return
    }
    out.push(checkResponse(base, request, correlationId))
  })
  return out
}

function expectsResponse(checked: CheckedFrame, frame: Buffer): boolean {
  if (checked.apiKey !== ApiKey.Produce) return true
  try {
    return peekProduceAcks(frame, 4) !== 0
  } catch {
    return true
  }
}

function checkRequest(connection: number, index: number, frame: Buffer): CheckedFrame {
  const base = { connection, direction: 'request' as const, index, frame }
  let header: { apiKey: number; apiVersion: number; correlationId: number }
  let clientId: string | null = null
  try {
    header = peekRequestHeader(frame, 4)
    clientId = peekClientId(frame, 4)
  } catch (err) {
    return {
      ...base,
      apiKey: -1,
      apiVersion: -1,
      decodedVersion: -1,
      clientId,
      correlationId: -1,
      outcome: 'decode-error',
      reason: String(err),
    }
  }
  const common = { ...base, ...header, decodedVersion: header.apiVersion, clientId }
  const why = notCoveredReason(header.apiKey, header.apiVersion)
  if (why !== null) return { ...common, outcome: 'undecodable', reason: why }
  let decoded: RequestMessage
  try {
    decoded = decodeRequest(frame, 4)
  } catch (err) {
    return { ...common, outcome: 'decode-error', reason: String(err) }
  }
  let encoded: Buffer
  try {
    encoded = encodeRequest(decoded.header, decoded.body)
  } catch (err) {
    return { ...common, decoded, outcome: 'mismatch', reason: `re-encoding threw ${String(err)}` }
  }
  if (!encoded.equals(frame))
    return { ...common, decoded, outcome: 'mismatch', reason: firstDifference(frame, encoded) }
  return { ...common, decoded, outcome: 'identical' }
}

function checkResponse(
  base: { connection: number; direction: 'response'; index: number; frame: Buffer },
  request: PendingRequest,
  correlationId: number,
): CheckedFrame {
  const { apiKey, apiVersion, clientId } = request
  const common = { ...base, apiKey, apiVersion, decodedVersion: apiVersion, clientId, correlationId }
  let decoded: ResponseMessage | undefined
  let decodedVersion = apiVersion
  let firstError: unknown
  if (notCoveredReason(apiKey, apiVersion) === null) {
    try {
      decoded = decodeResponse(base.frame, apiKey, apiVersion, 4)
    } catch (err) {
      firstError = err
    }
  }
  // KIP-511: a broker that does not support the ApiVersions version a client proposed answers with a v0 body
  // (error UNSUPPORTED_VERSION and its own ApiVersions range), whatever that version was. Java's
  // ApiVersionsResponse.parse does the same: try the request's version, fall back to v0.
  if (decoded === undefined && apiKey === ApiKey.ApiVersions && apiVersion !== 0) {
    try {
      const v0 = decodeResponse(base.frame, apiKey, 0, 4)
      if ((v0.body as { errorCode: number }).errorCode === UNSUPPORTED_VERSION) {
        decoded = v0
        decodedVersion = 0
      }
    } catch {
      // Not a v0 error answer either: report the first failure below.
    }
  }
  if (decoded === undefined) {
    if (firstError === undefined) {
      return { ...common, outcome: 'undecodable', reason: notCoveredReason(apiKey, apiVersion) ?? 'unknown' }
    }
    return { ...common, outcome: 'decode-error', reason: String(firstError) }
  }
  let encoded: Buffer
  try {
    encoded = encodeResponse(apiKey, decodedVersion, decoded.header, decoded.body)
  } catch (err) {
    return { ...common, decodedVersion, decoded, outcome: 'mismatch', reason: `re-encoding threw ${String(err)}` }
  }
  if (!encoded.equals(base.frame))
    return { ...common, decodedVersion, decoded, outcome: 'mismatch', reason: firstDifference(base.frame, encoded) }
  return { ...common, decodedVersion, decoded, outcome: 'identical' }
}

/** A `records` field of a Produce request or Fetch response, with where it came from. */
export interface RecordsField {
  source: 'produce' | 'fetch'
  frame: CheckedFrame
  /** Topic name, or the id when the version names topics by id (look it up with a TopicNames map). */
  topic: string | undefined
  topicId: string | undefined
  partition: number
  records: Buffer
  abortedTransactions: Array<{ producerId: bigint; firstOffset: bigint }> | null
}

/** Every non-empty `records` field in decoded Produce requests and Fetch responses. */
export function* recordsFields(frames: Iterable<CheckedFrame>): Generator<RecordsField> {
  for (const frame of frames) {
    if (frame.decoded === undefined) continue
    if (frame.direction === 'request' && frame.apiKey === ApiKey.Produce) {
      const body = frame.decoded.body as ProduceRequest
      for (const topic of body.topicData) {
        for (const partition of topic.partitionData) {
          if (partition.records === null || partition.records.length === 0) continue
          yield {
            source: 'produce',
            frame,
            topic: topic.name,
            topicId: topic.topicId,
            partition: partition.index,
            records: partition.records,
            abortedTransactions: null,
          }
        }
      }
    } else if (frame.direction === 'response' && frame.apiKey === ApiKey.Fetch) {
      const body = frame.decoded.body as FetchResponse
      for (const topic of body.responses) {
        for (const partition of topic.partitions) {
          if (partition.records === null || partition.records.length === 0) continue
          yield {
            source: 'fetch',
            frame,
            topic: topic.topic,
            topicId: topic.topicId,
            partition: partition.partitionIndex,
            records: partition.records,
            abortedTransactions: partition.abortedTransactions,
          }
        }
      }
    }
  }
}

export interface DecodedBatch {
  batch: RecordBatch
  records: Record[]
  /** For a control batch: its decoded control records. */
  control: ControlRecord[]
}

export interface DecodedRecordsField {
  batches: DecodedBatch[]
  /** Magic 0/1 message sets (none expected from clients of Kafka 4). */
  legacy: number
  /** Bytes of a trailing partial batch (Fetch responses cut at max bytes). */
  partialBytes: number
}

/** Decodes every batch of a records field, CRC checked; throws the codec's error on anything invalid. */
export function decodeRecordsField(field: RecordsField): DecodedRecordsField {
  const out: DecodedRecordsField = { batches: [], legacy: 0, partialBytes: 0 }
  for (const entry of readBatches(field.records, { partial: field.source === 'produce' ? 'reject' : 'yield' })) {
    if (entry instanceof RecordBatch) {
      const records = entry.toArray({ verifyCrc: true })
      out.batches.push({ batch: entry, records, control: entry.isControl ? records.map(decodeControlRecord) : [] })
    } else if (entry.kind === 'legacy') {
      out.legacy++
    } else {
      out.partialBytes += entry.raw.length
    }
  }
  return out
}

/** Topic id -> name from every decoded Metadata and CreateTopics response (for versions that name topics by id). */
export function topicNames(frames: Iterable<CheckedFrame>): Map<string, string> {
  const names = new Map<string, string>()
  for (const frame of frames) {
    if (frame.direction !== 'response' || frame.decoded === undefined) continue
    if (frame.apiKey !== ApiKey.Metadata && frame.apiKey !== ApiKey.CreateTopics) continue
    const topics = (frame.decoded.body as { topics?: Array<{ name?: string | null; topicId?: string }> }).topics ?? []
    for (const topic of topics) if (topic.name && topic.topicId) names.set(topic.topicId, topic.name)
  }
  return names
}
