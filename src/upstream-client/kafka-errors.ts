/**
 * The Kafka error codes this client acts on, by name, and which of them are worth retrying.
 * Codes and classes: org.apache.kafka.common.protocol.Errors in kafka-clients 4.3.1, printed from the jar
 * (Errors.values(), `exception() instanceof RetriableException` / `InvalidMetadataException`).
 * A retriable error is worth sending again; an invalid-metadata one also means the client's view of leaders is
 * stale, so the Java producer refreshes metadata before the retry (Sender.completeBatch), and so does this client.
 */
export const KafkaError = {
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  NETWORK_EXCEPTION: 13,
  UNSUPPORTED_SASL_MECHANISM: 33,
  ILLEGAL_SASL_STATE: 34,
  UNSUPPORTED_VERSION: 35,
  SASL_AUTHENTICATION_FAILED: 58,
  UNKNOWN_TOPIC_ID: 100,
} as const

/** RetriableException subclasses, except CORRUPT_MESSAGE (2): our own batches carry a CRC we just computed. */
const RETRIABLE = new Set([
  3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75, 78, 80, 83, 84, 88, 89, 100, 103, 106, 122,
  123, 133,
])

/** InvalidMetadataException subclasses (all of them retriable too). */
const INVALID_METADATA = new Set([3, 5, 6, 9, 13, 56, 72, 74, 80, 83, 84, 100, 103])

export function isRetriable(code: number): boolean {
  return RETRIABLE.has(code)
}

export function invalidatesMetadata(code: number): boolean {
  return INVALID_METADATA.has(code)
}
