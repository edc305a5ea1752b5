import { API_DEFINITIONS } from '../../codec/messages/generated/apis.js'
import type { DecodedRequest, Filter, SentResponse } from './filter-api.js'
import type { Frame } from './frame.js'

/** A request a filter sent itself (FilterContext.sendRequest): its answer goes to the caller, not the client. */
export interface OwnRequest {
  resolve(res: SentResponse | undefined): void
  reject(err: Error): void
}

/** One request awaiting its answer, in the client's queue, the upstream queue, or both. */
export interface Slot {
  readonly correlationId: number
  readonly apiKey: number
  readonly apiVersion: number
  readonly receivedAt: number
  /** When the request was written to the broker, and when its response arrived (0: not sent / a filter's answer). */
  sentAt: number
  answeredAt: number
  /** Filters that want the response decoded, in response order (decided when the request passed). */
  readonly responseFilters: readonly Filter[]
  request: DecodedRequest | undefined
  /** The frame for the client once ready (size prefix included). */
  response: Frame | undefined
  own: OwnRequest | undefined
  /** Partitions a filter answered itself (rejectPartitions): puts them back into the broker's answer. */
  merge: ((brokerBody: unknown) => unknown) | undefined
}

export function newSlot(
  correlationId: number,
  apiKey: number,
  apiVersion: number,
  responseFilters: readonly Filter[],
  receivedAt: number,
): Slot {
  return {
    correlationId,
    apiKey,
    apiVersion,
    receivedAt,
    sentAt: 0,
    answeredAt: 0,
    responseFilters,
    request: undefined,
    response: undefined,
    own: undefined,
    merge: undefined,
  }
}

export function apiName(apiKey: number): string {
  return API_DEFINITIONS[apiKey]?.name ?? `api ${apiKey}`
}
