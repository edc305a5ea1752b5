/**
 * The filter API: the only module of src/ that filters import.
 *
 * A filter sees decoded Kafka requests on their way to the broker and decoded responses on their way back,
 * and decides what happens to each (forward, replace, answer directly, answer with an error, reject some
 * partitions, close). It is modelled on Kroxylicious' filter API (kroxylicious-api: per-API request/response
 * filters, a FilterContext with sendRequest and topicNames, results built with forward/shortCircuit/
 * closeConnection), adapted to TypeScript:
 *
 * - One `FilterPlugin` per kind of filter validates its config block and builds a `ConfiguredFilter` holding
 *   shared state (token buckets, schema caches, a tap producer); that creates one `Filter` per client
 *   connection, which may keep per-connection state.
 * - Filters declare which API keys and versions they want decoded. A frame no filter wants is never decoded:
 *   its original bytes are forwarded untouched (the decode predicate). This keeps the hot path cheap; filters
 *   that only count bytes use `onRequestBytes`/`onResponseBytes`, which need no decode.
 * - Hooks may return a promise; the runtime awaits only when one is returned, and keeps requests of one
 *   connection strictly in order while it waits.
 * - Returning nothing (undefined) means forward unchanged. A filter that changes a message in place says so
 *   by returning `replace(body)`, so that unmodified messages are never re-encoded.
 * - A filter whose only change to a large response is renaming its topics (Fetch by name) says so with
 *   `renameResponseTopics` instead: the response then streams, renamed where it lies, and is never decoded whole.
 *
 * The API is split by topic into filter-messages.ts (decoded messages and verdicts), filter-connection.ts (Filter
 * and its FilterContext), filter-setup.ts (plugins, configured filters and their setup services) and
 * filter-helpers.ts (helpers on messages); this module re-exports all of it, so it stays the one import path.
 */
export type {
  BrokerEndpoint,
  BrokerEndpointService,
  ClientSoftware,
  Clock,
  ConnectionInfo,
  ConnectionView,
  Filter,
  FilterContext,
  RequestTopicRename,
  RequestToRename,
  ResponseToRename,
  SendRequestOptions,
  SentResponse,
  TopicId,
  TopicRename,
} from './filter-connection.js'
export {
  ApiKey,
  canSplitByPartition,
  defaultRequest,
  defaultResponse,
  ErrorCode,
  type ErrorCodeName,
  errorResponseBody,
  hasThrottleTime,
  isRetriable,
  kafkaErrorName,
  type NamedProduceTopic,
  partitionForKey,
  produceTopics,
  requestPartitions,
  setThrottleTimeMs,
  throttleTimeMs,
} from './filter-helpers.js'
export {
  type ApiKeyNumber,
  closeConnection,
  type DecodedRequest,
  type DecodedResponse,
  errorResponse,
  type FrameFacts,
  forward,
  type MaybePromise,
  type PartitionRejection,
  type RequestVerdict,
  type ResponseVerdict,
  rejectPartitions,
  replace,
  respond,
} from './filter-messages.js'
export type {
  AdminRouteHandler,
  AdminRouteService,
  AuditEntry,
  AuditService,
  AuditTopic,
  ConfiguredFilter,
  FilterCounter,
  FilterGauge,
  FilterHealth,
  FilterMetrics,
  FilterPlugin,
  FilterSetupContext,
  OwnRecord,
  Refusal,
  StatisticsService,
  UpstreamClientService,
} from './filter-setup.js'
