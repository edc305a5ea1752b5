import { ErrorCode, type PartitionRejection } from '../../src/pipeline/filter-api.js'
import type { Rule } from './config.js'
import type { PartitionCheck } from './record-check.js'

/**
 * The answer for a partition whose check did not pass, as a producer reads it (Produce v8+ carries error_message and,
 * KIP-467, record_errors: the index of each failed record in its batch and why):
 *
 * - a record failed: INVALID_RECORD (87) with every failed record (up to MAX_REPORTED_FAILURES) in record_errors. The
 *   Java producer fails each named record with InvalidRecordException(message) and the rest of the batch with a
 *   KafkaException saying it shared a batch with invalid records (Sender#failBatch); kafkajs and librdkafka see the
 *   error code and the message.
 * - the records cannot be read: CORRUPT_MESSAGE (2), as a broker answers such a batch.
 * - the registry is unreachable and the rule fails closed: REQUEST_TIMED_OUT (7), which every client retries (Java's
 *   TimeoutException is a RetriableException; kafkajs and librdkafka list it as retriable), so records wait in the
 *   producer until the registry answers again or the producer's delivery timeout ends. The batch never reached the
 *   broker, so an idempotent producer's retry of the same sequence numbers is in order.
 *
 * Undefined when the partition passes.
 */
export function rejectionFor(
  topicKey: string,
  partition: number,
  rule: Rule,
  check: PartitionCheck,
): PartitionRejection | undefined {
  if (check.unreadable !== undefined) {
    return {
      topic: topicKey,
      partition,
      errorCode: ErrorCode.CORRUPT_MESSAGE,
      message: `schema validation (rule ${rule.name}): ${check.unreadable}`,
    }
  }
  if (check.failed > 0) {
    const first = check.failures[0]!
    return {
      topic: topicKey,
      partition,
      errorCode: ErrorCode.INVALID_RECORD,
      message: `schema validation failed for ${check.failed} of ${check.records} record(s); first: ${first.message}`,
      recordErrors: check.failures.map((f) => ({ batchIndex: f.index, message: f.message })),
    }
  }
  if (check.unavailable !== undefined) {
    return {
      topic: topicKey,
      partition,
      errorCode: ErrorCode.REQUEST_TIMED_OUT,
      message: `records not checked: the schema registry is unreachable and rule ${rule.name} fails closed (${check.unavailable}); retry later`,
    }
  }
  return undefined
}
