import { encodeResponse } from '../../codec/messages/frames.js'
import { apiVersionsUnsupportedResponse } from './api-versions-answers.js'
import { buildErrorResponse } from './error-responses.js'
import type { ExchangePort } from './exchange-port.js'
import type { DecodedRequest, PartitionRejection } from './filter-api.js'
import { Frame } from './frame.js'
import { type RejectionSplit, splitRejectedPartitions } from './partition-rejections.js'
import { apiName, type Slot } from './slot.js'
import type { SlotQueues } from './slot-queues.js'

/**
 * Answers to client requests that the broker never sees, or sees only part of: a filter's own response (respond), a
 * Kafka error for the whole request (errorResponse), the partitions a filter rejected (rejectPartitions), and the
 * ApiVersions answer to a client newer than the codec. Each answer takes its request's place in the client's order.
 */
export class LocalAnswers {
  constructor(
    private readonly port: ExchangePort,
    private readonly slots: SlotQueues,
  ) {}

  /** Answers a request without the broker (a filter's own response). acks=0 Produce gets nothing. */
  respond(slot: Slot, body: unknown, expectsResponse: boolean): void {
    if (!expectsResponse) return
    try {
      slot.response = Frame.of(
        encodeResponse(slot.apiKey, slot.apiVersion, { correlationId: slot.correlationId }, body),
      )
    } catch (err) {
      this.port.internalError(`encoding a filter's ${apiName(slot.apiKey)} response`, err)
      return
    }
    this.slots.client.push(slot)
    this.slots.flush()
  }

  /**
   * The errorResponse verdict: answers what a broker rejecting all of `req` with `errorCode` would. An error its
   * response cannot express closes the connection instead: the request must not reach the broker.
   */
  error(
    slot: Slot,
    req: DecodedRequest,
    errorCode: number,
    message: string | undefined,
    expectsResponse: boolean,
  ): void {
    const body = buildErrorResponse(req, errorCode, message)
    if (body === undefined) {
      this.port.close(
        `a filter rejected ${apiName(req.apiKey)} with error ${errorCode}, which cannot be expressed in its response`,
      )
      return
    }
    this.respond(slot, body, expectsResponse)
  }

  /**
   * The rejectPartitions verdict, split (partition-rejections.ts): when every partition is rejected the client is
   * answered here and undefined returned, as it is when the split fails (the connection is closed); otherwise the
   * split, whose remaining partitions are for the broker and whose merge completes its answer.
   */
  rejectPartitions(
    slot: Slot,
    req: DecodedRequest,
    rejections: readonly PartitionRejection[],
    expectsResponse: boolean,
  ): RejectionSplit | undefined {
    let split: RejectionSplit
    try {
      split = splitRejectedPartitions(req, rejections)
    } catch (err) {
      this.port.internalError(`rejecting partitions of ${apiName(req.apiKey)}`, err)
      return undefined
    }
    if (split.remaining !== undefined) return split
    this.respond(slot, split.merge(undefined), expectsResponse)
    return undefined
  }

  /**
   * ApiVersions from a client newer than the codec: answered as a broker would, UNSUPPORTED_VERSION in a v0 body
   * listing the versions the codec supports, and the client retries with one of them (KIP-511).
   */
  unsupportedApiVersions(slot: Slot): void {
    slot.response = Frame.of(apiVersionsUnsupportedResponse(slot.correlationId))
    this.slots.client.push(slot)
    this.slots.flush()
  }
}
