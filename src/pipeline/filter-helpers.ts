import type { ProduceRequest, ProduceRequestTopicProduceData } from '../../codec/messages/generated/produce-request.js'
import type { FilterContext } from './filter-connection.js'
import type { DecodedRequest, MaybePromise } from './filter-messages.js'

/**
 * Helpers filters use on messages (part of the filter API; filters import them from filter-api.ts). Schema-driven,
 * from the codec: error codes by name (never bare numbers), the broker's error answer for any request
 * (errorResponseBody; the runtime answers the errorResponse verdict with it), throttle time on any response, the
 * partitions a request addresses, and messages built from their defaults.
 */
export {
  ApiKey,
  canSplitByPartition,
  defaultRequest,
  defaultResponse,
  ErrorCode,
  type ErrorCodeName,
  errorResponse as errorResponseBody,
  hasThrottleTime,
  isRetriable,
  kafkaErrorName,
  requestPartitions,
  setThrottleTimeMs,
  throttleTimeMs,
} from '../../codec/messages/message-helpers.js'

/**
 * Kafka's default partition of a key (murmur2, as the Java producer and the sidecar's own client place keys), for a
 * filter that partitions the batches it hands to UpstreamClientService.produceRecordBatch itself.
 */
export { partitionForKey } from '../upstream-client/partitioner.js'

/** One topic of a Produce request, named (see produceTopics). */
export interface NamedProduceTopic {
  /** The topic's name; undefined for an id the cluster does not know (the broker answers UNKNOWN_TOPIC_ID). */
  readonly name: string | undefined
  /** What the request carries for it and rejectPartitions takes: the name, or the topic id from Produce v13. */
  readonly key: string
  readonly data: ProduceRequestTopicProduceData
}

/**
 * The topics of a Produce request with their names: Produce v13 carries topic ids instead (KIP-516), named through
 * ctx.topicNames (a promise then, only when an id is not known yet); earlier versions carry the names themselves.
 */
export function produceTopics(
  req: DecodedRequest,
  ctx: Pick<FilterContext, 'topicNames'>,
): MaybePromise<readonly NamedProduceTopic[]> {
  const body = req.body as ProduceRequest
  if (req.apiVersion < 13) return body.topicData.map((data) => ({ name: data.name, key: data.name!, data }))
  return ctx
    .topicNames(body.topicData.map((t) => t.topicId!))
    .then((names) => body.topicData.map((data) => ({ name: names.get(data.topicId!), key: data.topicId!, data })))
}
