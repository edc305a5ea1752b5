/**
 * Schema-driven helpers for any Kafka message, for the filter API to re-export and for filter tests: error
 * codes by name, error responses for every API, answering some partitions locally, throttle time on any
 * response, and messages built from their defaults.
 */
export {
  ErrorCode,
  type ErrorCodeName,
  isRetriable,
  KAFKA_ERRORS,
  type KafkaErrorDefinition,
  kafkaError,
  kafkaErrorName,
} from './error-codes.js'
export { errorResponse } from './error-response.js'
export { ApiKey } from './generated/apis.js'
export { type DeepPartial, defaultRequest, defaultResponse, MessageShapeError } from './message-defaults.js'
export {
  canSplitByPartition,
  PARTITION_SPLIT_APIS,
  type PartitionDecision,
  type PartitionError,
  type PartitionSplit,
  requestPartitions,
  splitByPartition,
} from './partition-split.js'
export { hasThrottleTime, setThrottleTimeMs, throttleTimeMs } from './throttle.js'
