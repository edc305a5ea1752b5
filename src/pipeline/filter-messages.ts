import type { RequestByApiKey, ResponseByApiKey } from '../../codec/messages/generated/apis.js'
import type { RequestHeader } from '../../codec/messages/generated/request-header.js'
import type { ResponseHeader } from '../../codec/messages/generated/response-header.js'

/**
 * What passes through a filter and what it answers (part of the filter API; filters import it from filter-api.ts):
 * decoded requests and responses, and the verdicts a filter returns for them with the functions that build them.
 */

export type MaybePromise<T> = T | Promise<T>

export type ApiKeyNumber = keyof RequestByApiKey

export interface DecodedRequest<K extends ApiKeyNumber = ApiKeyNumber> {
  readonly apiKey: K
  readonly apiVersion: number
  readonly header: RequestHeader
  /** Bytes of the frame as it came from the client, size prefix included. */
  readonly size: number
  /** Mutable: a filter may change it in place and return replace(body). */
  body: RequestByApiKey[K]
}

export interface DecodedResponse<K extends ApiKeyNumber = ApiKeyNumber> {
  readonly apiKey: K
  readonly apiVersion: number
  readonly header: ResponseHeader
  /** Bytes of the frame as it came from the broker (or as a filter's own answer was encoded), size prefix included. */
  readonly size: number
  /** The request this answers, as the filters last saw it (decoded only if some filter wanted the request). */
  readonly request: DecodedRequest<K> | undefined
  body: ResponseByApiKey[K]
}

/**
 * One partition a filter answers itself while the rest of the request goes on (rejectPartitions). `topic` is
 * what the request carries for it: the name, or the topic id where the version uses ids (Produce v13).
 */
export interface PartitionRejection {
  readonly topic: string
  readonly partition: number
  readonly errorCode: number
  /** Reaches clients whose response version carries a message (Produce v8+: error_message). */
  readonly message?: string
  /** Produce v8+: which batches of the partition failed and why (KIP-467 record_errors). */
  readonly recordErrors?: readonly { readonly batchIndex: number; readonly message: string }[]
}

export type RequestVerdict =
  | { readonly kind: 'forward' }
  | { readonly kind: 'replace'; readonly body: unknown }
  | { readonly kind: 'respond'; readonly body: unknown }
  | { readonly kind: 'error'; readonly errorCode: number; readonly message: string | undefined }
  | { readonly kind: 'reject-partitions'; readonly rejections: readonly PartitionRejection[] }
  | { readonly kind: 'close'; readonly reason: string }

export type ResponseVerdict =
  | { readonly kind: 'forward' }
  | { readonly kind: 'replace'; readonly body: unknown }
  | { readonly kind: 'close'; readonly reason: string }

const FORWARD = Object.freeze({ kind: 'forward' as const })

/** Send the message on unchanged (the same as returning nothing). */
export function forward(): { readonly kind: 'forward' } {
  return FORWARD
}

/** Send this body instead (or the same body, changed in place); it is re-encoded at the same version. */
export function replace<T>(body: T): { readonly kind: 'replace'; readonly body: T } {
  return { kind: 'replace', body }
}

/** Answer the client directly with this response body; the request never reaches the broker. */
export function respond<T>(body: T): { readonly kind: 'respond'; readonly body: T } {
  return { kind: 'respond', body }
}

/**
 * Answer with a Kafka error for this request, as a broker rejecting all of it would (every error field of the
 * response: top level, per topic, partition, resource, group); the request never reaches the broker. `message`
 * reaches clients whose response version carries one. Use the names in ErrorCode, never bare numbers.
 */
export function errorResponse(errorCode: number, message?: string): RequestVerdict {
  return { kind: 'error', errorCode, message }
}

/**
 * Answer these partitions with their errors and send the rest of the request to the broker; the client gets
 * one response in its own order, the broker's answers merged with these. When every partition is rejected the
 * broker is not asked at all. For APIs that address topic partitions (Produce, ListOffsets, OffsetCommit,
 * TxnOffsetCommit, DeleteRecords, OffsetForLeaderEpoch, AddPartitionsToTxn v0-3).
 */
export function rejectPartitions(rejections: readonly PartitionRejection[]): RequestVerdict {
  return { kind: 'reject-partitions', rejections }
}

/** Close the client connection (and its upstream connection), logging `reason`. */
export function closeConnection(reason: string): { readonly kind: 'close'; readonly reason: string } {
  return { kind: 'close', reason }
}

/**
 * A frame's header facts and size, for filters that count without decoding (onRequestBytes, onResponseBytes). Valid
 * during the call only: the runtime fills one object in for every frame, so a filter copies what it keeps.
 */
export interface FrameFacts {
  readonly apiKey: number
  readonly apiVersion: number
  readonly correlationId: number
  /** Frame bytes, size prefix included. */
  readonly size: number
}
