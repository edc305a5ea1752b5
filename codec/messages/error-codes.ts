import { ErrorCode, type ErrorCodeName, KAFKA_ERRORS, type KafkaErrorDefinition } from './generated/error-codes.js'

/**
 * Kafka error codes by name and by number. The table is generated (generated/error-codes.ts) from
 * org.apache.kafka.common.protocol.Errors in the kafka-clients jar the message specs come from: names, codes,
 * whether clients retry (the exception extends RetriableException) and the default message. Filters write
 * `ErrorCode.INVALID_RECORD`, never 87.
 */
export { ErrorCode, type ErrorCodeName, KAFKA_ERRORS, type KafkaErrorDefinition }

const BY_CODE: ReadonlyMap<number, KafkaErrorDefinition> = new Map(KAFKA_ERRORS.map((e) => [e.code, e]))

/** What Kafka knows about an error code, or undefined for a code this Kafka release does not define. */
export function kafkaError(code: number): KafkaErrorDefinition | undefined {
  return BY_CODE.get(code)
}

/** The name Kafka gives an error code (`NOT_LEADER_OR_FOLLOWER`), `NONE` for 0, or the number as text. */
export function kafkaErrorName(code: number): string {
  return BY_CODE.get(code)?.name ?? String(code)
}

/**
 * True when clients retry a request that failed with this code by themselves (Kafka's exception for it extends
 * RetriableException). Unknown codes are not retriable, as Kafka's clients treat them (UnknownServerException).
 */
export function isRetriable(code: number): boolean {
  return BY_CODE.get(code)?.retriable === true
}
