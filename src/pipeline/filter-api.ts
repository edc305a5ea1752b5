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
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { RequestByApiKey, ResponseByApiKey } from '../../codec/messages/generated/apis.js'
import type { ProduceRequest, ProduceRequestTopicProduceData } from '../../codec/messages/generated/produce-request.js'
import type { RequestHeader } from '../../codec/messages/generated/request-header.js'
import type { ResponseHeader } from '../../codec/messages/generated/response-header.js'
import type { Reader } from '../../codec/primitives/reader.js'

/**
 * Schema-driven helpers filters use on any message: error codes by name (never bare numbers), the broker's error
 * answer for any request (errorResponseBody; the verdict errorResponse below uses it), throttle time on any
 * response, the partitions a request addresses, and messages built from their defaults.
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

export type MaybePromise<T> = T | Promise<T>

export type ApiKeyNumber = keyof RequestByApiKey

/** What a connection is, known when it is accepted. */
export interface ConnectionInfo {
  /** Unique within this sidecar process. */
  readonly connectionId: number
  readonly peer: { readonly address: string; readonly port: number }
  /** The local listener the client connected to: the bootstrap listener or the one standing for a broker (or controller) node. */
  readonly listener: {
    readonly kind: 'bootstrap' | 'broker' | 'controller'
    readonly nodeId?: number
    readonly port: number
  }
  /** Identity from the client's TLS certificate (mTLS), when the listener terminates TLS and a rule matched. */
  readonly principal: string | undefined
  readonly tls: boolean
}

/** The client's own description of itself, from ApiVersions v3+ (KIP-511). */
export interface ClientSoftware {
  readonly name: string
  readonly version: string
}

/**
 * One client connection as filters and observers see it: fixed facts plus what the client said about itself.
 * The same object for every filter of the connection and for the runtime's observers (statistics key their
 * per-connection state on it), read-only from outside the runtime.
 */
export interface ConnectionView extends ConnectionInfo {
  /** Client id from the most recent request header (null when the client sends none). */
  readonly clientId: string | null
  readonly clientSoftware: ClientSoftware | undefined
  /** Date.now() when the connection was accepted. */
  readonly openedAt: number
}

/** Where a broker node is reachable for clients of this sidecar (a local listener). */
export interface BrokerEndpoint {
  readonly host: string
  readonly port: number
}

/** Runtime services a filter may use. */
export interface BrokerEndpointService {
  /**
   * `kind` tells a broker endpoint from a controller endpoint (DescribeQuorum, DescribeCluster asked for
   * controllers): a node id can name both, at different upstream addresses.
   *
   * The local endpoint clients must use for an upstream broker node, starting its listener if needed.
   * Resolves once the listener accepts connections, so a rewritten address is never advertised early.
   * `upstream` is the broker's real address as the response carried it; the runtime remembers it so a
   * connection to the local endpoint reaches that broker.
   */
  localEndpointFor(
    nodeId: number,
    upstream: { host: string; port: number; rack?: string | null },
    kind: 'broker' | 'controller',
  ): MaybePromise<BrokerEndpoint>
}

/** Time as filters should read it, so tests can move it by hand (test/support/filter-testing.ts). */
export interface Clock {
  /** Milliseconds since the epoch, like Date.now(). */
  now(): number
  /** A monotonic time in milliseconds, like performance.now(): for rates and durations. */
  monotonic(): number
  /** Runs `fn` after `ms`; the returned function cancels it. */
  setTimer(ms: number, fn: () => void): () => void
}

/** A topic id as the codec decodes it (Uuid fields are canonical strings). */
export type TopicId = string

/** The decoded answer to a request a filter sent itself (FilterContext.sendRequest). */
export interface SentResponse<K extends ApiKeyNumber = ApiKeyNumber> {
  readonly apiKey: K
  readonly apiVersion: number
  readonly body: ResponseByApiKey[K]
}

export interface SendRequestOptions {
  /**
   * Another broker node than the one this connection talks to, by node id: the request goes over the sidecar's
   * own connection to that node (setup service `upstream`) instead of the client's connection, and passes no
   * filter. Default: the client's own upstream connection, through the filters after the caller.
   */
  readonly node?: number
  /** acks=0 Produce: the broker sends no response; the promise resolves with undefined once it is written. */
  readonly expectResponse?: boolean
}

/** Runtime services for one filter on one connection. */
export interface FilterContext extends ConnectionView {
  /** The connection this context belongs to (the same object for every filter of it). */
  readonly connection: ConnectionView
  /** Logger bound to this connection (connection id, peer, client id once known). */
  readonly log: Logger
  readonly brokers: BrokerEndpointService
  readonly clock: Clock
  /**
   * Sends a request of the filter's own to the broker and resolves with its decoded response. On the client's
   * connection (the default) the request passes only through the filters after the caller (towards the broker)
   * and its response only back through those and then to the caller, never to the client; the upstream
   * correlation id is the runtime's own, so the client's pipelining and response order are untouched. Rejects
   * when the connection closes first or the version is not one the codec knows. Like Kroxylicious'
   * FilterContext.sendRequest.
   */
  sendRequest<K extends ApiKeyNumber>(
    apiKey: K,
    apiVersion: number,
    body: RequestByApiKey[K],
    options?: SendRequestOptions,
  ): Promise<SentResponse<K>>
  /**
   * The version to send an API at on this connection: the highest that the broker (its ApiVersions answer, which
   * every client asks for first) and the codec both support; undefined before that answer, or when there is none.
   */
  apiVersion(apiKey: number): number | undefined
  /**
   * Topic names for topic ids (Fetch v13+, Produce v13, OffsetCommit/OffsetFetch v10, KIP-848 assignments carry
   * ids): learned from every Metadata response that passes, and asked from the broker (Metadata by id) for ids
   * not known yet. An id the cluster does not know maps to undefined.
   */
  topicNames(ids: readonly TopicId[]): Promise<ReadonlyMap<TopicId, string | undefined>>
  /** Topic ids for names, the same way (Metadata by name; a topic that does not exist maps to undefined). */
  topicIds(names: readonly string[]): Promise<ReadonlyMap<string, TopicId | undefined>>
  /**
   * Stops reading from the client for `ms` (Kafka's channel muting, KIP-219): a throttled client gets its
   * response at once with throttle_time_ms set and is not read until the time has passed. Later calls extend,
   * never shorten, the pause.
   */
  muteClient(ms: number): void
}

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

/** Close the client connection (and its upstream connection), logging `reason`. */
export function closeConnection(reason: string): { readonly kind: 'close'; readonly reason: string } {
  return { kind: 'close', reason }
}

/** A request's header facts and size, for filters that count without decoding (onRequestBytes). */
export interface FrameFacts {
  readonly apiKey: number
  readonly apiVersion: number
  readonly correlationId: number
  /** Frame bytes, size prefix included. */
  readonly size: number
}

/** One filter instance, bound to one client connection. */
export interface Filter {
  /**
   * True when onRequest and onResponse never change, replace, answer or hold up a message (they return nothing
   * or a resolved undefined): statistics, audit. The runtime then never waits for such a filter: a request goes
   * to the broker before the filter sees it decoded, a response goes to the client (streamed, if large) before
   * the filter sees it, for requests, whole responses and streamed responses alike. A verdict other than forward
   * that it returns anyway is not applied: it is counted as KSC_ERR_FILTER_OBSERVE and logged once.
   */
  readonly observesOnly?: boolean
  /**
   * What this filter reads of `records` fields (Produce requests; Fetch, ShareFetch and FetchSnapshot responses):
   * 'bytes' (the default) the records themselves, as a Buffer; 'summary' only their size and batch headers (or
   * nothing). When every filter handling a message asks for 'summary' (for a request: its request filters and its
   * response filters, which see the request too) and none of them can change it (they all observe only, or the
   * message has no records fields), the runtime decodes the message where it lies in the socket's reads, without
   * joining a large Produce request or Fetch response into one buffer or holding its records, and puts a
   * RecordsSummary (codec/records) in each records field; otherwise the field is a Buffer. So a 'summary' filter
   * takes both (summarizeRecords turns either into a summary).
   */
  readonly records?: 'bytes' | 'summary'
  /** Decode requests of this API key and version for this filter? Asked once per key and version per connection. */
  wantsRequest?(apiKey: number, apiVersion: number): boolean
  /** Decode responses of this API key and version for this filter? */
  wantsResponse?(apiKey: number, apiVersion: number): boolean
  /**
   * Optional refinement of wantsResponse, asked per response: given a reader positioned at the raw body (the bytes
   * after the response header; the frame may still be in socket-sized pieces, which the reader spans without
   * copying), does this filter need it decoded? Lets a filter that acts on rare content skip decoding the common
   * case (NodeEndpoints appear in Fetch responses only after a leader moved). Must be cheap; valid only during the
   * call; a throw counts as "yes".
   */
  needsResponse?(apiKey: number, apiVersion: number, body: Reader): boolean
  onRequest?(request: DecodedRequest, ctx: FilterContext): MaybePromise<RequestVerdict | undefined>
  onResponse?(response: DecodedResponse, ctx: FilterContext): MaybePromise<ResponseVerdict | undefined>
  /**
   * Every request the client sends, decoded or not, with its size, before any filter's onRequest: for filters that
   * count bytes or requests (rate limits) without decoding. Synchronous and cheap; a close verdict closes the
   * connection, anything else is ignored.
   */
  onRequestBytes?(
    request: FrameFacts,
    ctx: FilterContext,
  ): { readonly kind: 'close'; readonly reason: string } | undefined
  /** Every response as it reaches the client (or starts streaming to it), with its size; synchronous and cheap. */
  onResponseBytes?(response: FrameFacts, ctx: FilterContext): void
  /**
   * The client id became known (the first request) or changed. A close verdict refuses the client (a
   * per-client connection limit, say); the request that carried the id is not forwarded.
   */
  onClientId?(
    clientId: string | null,
    ctx: FilterContext,
  ): { readonly kind: 'close'; readonly reason: string } | undefined
  /** The connection closed; release per-connection resources. */
  onClose?(): void
}

/**
 * A metrics registry for one filter: names are prefixed `kafka_sidecar_filter_<filter>_` and served on the
 * admin endpoint's /metrics; label values of `client_id` beyond the statistics' cap (stats.maxClientIds) are
 * folded into "other", so a filter cannot blow up cardinality with client-chosen ids.
 */
export interface FilterMetrics {
  counter(name: string, help: string, labelNames?: readonly string[]): FilterCounter
  gauge(name: string, help: string, labelNames?: readonly string[]): FilterGauge
}

export interface FilterCounter {
  inc(labels?: Readonly<Record<string, string>>, value?: number): void
}

export interface FilterGauge {
  set(labels: Readonly<Record<string, string>>, value: number): void
  inc(labels?: Readonly<Record<string, string>>, value?: number): void
  dec(labels?: Readonly<Record<string, string>>, value?: number): void
}

/** A record the sidecar's own client produces (UpstreamClientService.produce). */
export interface OwnRecord {
  readonly key?: Uint8Array | string | null
  readonly value: Uint8Array | string | null
  readonly headers?: readonly { readonly key: string; readonly value: Uint8Array | string | null }[]
  /** Milliseconds since the epoch; default: now. */
  readonly timestamp?: number | bigint
  /** Default: Kafka's default partitioner (murmur2 of the key; keyless records spread by call). */
  readonly partition?: number
}

/**
 * The sidecar's own client of the upstream cluster: connections of its own with the configured upstream TLS and
 * credentials (upstream.client), metadata and leader routing, batching producer. For filters that produce or ask on
 * their own (tap, shadow produce). Started on first use.
 */
export interface UpstreamClientService {
  /** Any request, to a node by id or to any live one, at a version ('max': the highest both sides know). */
  send<K extends ApiKeyNumber>(
    target: number | 'any',
    apiKey: K,
    apiVersion: number | 'max',
    body: RequestByApiKey[K],
  ): Promise<SentResponse<K>>
  /** Produces records (batched per partition, to the leaders, retried across leader moves); one offset per record. */
  produce(
    topic: string,
    records: readonly OwnRecord[],
    options?: { readonly acks?: 0 | 1 | -1; readonly compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd' },
  ): Promise<readonly { readonly partition: number; readonly offset: bigint }[]>
  /** Whether the cluster answers, and why not when it does not (for /readyz detail). */
  health(): { readonly connected: boolean; readonly lastError?: string }
}

/**
 * The per-client statistics the runtime keeps (src/stats: /stats, /metrics, `top`): filters that decode messages
 * report what only a decode can tell. `conn` is FilterContext.connection. Offsets arrive as numbers (Kafka offsets
 * stay far below 2^53). Implementations are cheap and never throw.
 */
export interface StatisticsService {
  topicIdSeen(topicId: string, name: string): void
  topicName(topicId: string): string | undefined
  produced(conn: ConnectionView, topic: string, bytes: number, records: number): void
  fetched(conn: ConnectionView, topic: string, bytes: number, records: number): void
  /** Log end offset (high watermark) of a partition as some response showed it. */
  logEndOffset(topic: string, partition: number, offset: number): void
  /** `conn` is the committing client for OffsetCommit, undefined for offsets read back with OffsetFetch. */
  committed(conn: ConnectionView | undefined, group: string, topic: string, partition: number, offset: number): void
  /** Throttle time a response carried (the broker's, or a filter's own where it set one). */
  throttled(conn: ConnectionView, apiKey: number, ms: number): void
  /**
   * Time the sidecar itself held a client back (a rate-limit filter: the connection not read, a response held), as
   * opposed to the throttle time a broker reported: `ms` added to the client's wait by a request (or Fetch response)
   * of `apiKey` that went over a budget, and that message's `bytes`. Optional: implementations from before it exist.
   */
  sidecarThrottled?(conn: ConnectionView, apiKey: number, ms: number, bytes: number): void
  kafkaError(conn: ConnectionView, apiKey: number, errorCode: number): void
  /** A member of a group is alive (joined, synced, heartbeated); it is gone after `sessionTimeoutMs` of silence. */
  memberSeen(conn: ConnectionView, group: string, memberId: string, sessionTimeoutMs: number | undefined): void
  memberLeft(group: string, memberId: string): void
  /** A bug or an unexpected message in a filter; the frame was forwarded regardless. */
  failed(err: unknown): void
}

/** One line of the audit log (stats.audit); the runtime adds the time. */
export interface AuditEntry {
  readonly api: string
  readonly apiVersion: number
  readonly connectionId: number
  readonly clientId: string | null
  readonly principal: string | null
  readonly peer: string
  readonly topics?: readonly AuditTopic[]
  readonly [detail: string]: unknown
}

export interface AuditTopic {
  readonly topic: string
  readonly partitions?: number
  readonly bytes?: number
  readonly records?: number
}

/** The audit log, when stats.audit is on: lines are dropped and counted rather than slowing traffic. */
export interface AuditService {
  write(entry: AuditEntry): void
}

/** Services handed to a filter plugin when the sidecar configures it. */
export interface FilterSetupContext {
  readonly log: Logger
  readonly metrics: FilterMetrics
  readonly clock: Clock
  /** The directory of the configuration file, for paths in a filter's config (schemas, certificates). */
  readonly configDir: string
  /** The sidecar's own upstream client; undefined where the runtime has none (unit tests without one). */
  readonly upstream: UpstreamClientService | undefined
  /** Per-client statistics; undefined when the process keeps none. */
  readonly statistics: StatisticsService | undefined
  /** The audit log; undefined when it is off. */
  readonly audit: AuditService | undefined
  /** Routes of the filter's own on the admin endpoint; undefined when the endpoint is off (or in unit tests). */
  readonly admin?: AdminRouteService | undefined
}

/** Serves one admin endpoint path: any method; the handler reads the request and writes the whole answer. */
export type AdminRouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

/**
 * HTTP routes a filter adds to the admin endpoint (loopback by default; see `admin:`), for operator controls such as
 * switching a tap on and off. Paths are `/filters/<filter name>` or below it. Registering a path again replaces its
 * handler, which is what a hot reload's new instance does.
 */
export interface AdminRouteService {
  route(path: string, handler: AdminRouteHandler): void
}

/**
 * A kind of filter ("rate-limit", "topic-rewrite", ...). The sidecar asks it to validate a config block
 * (`parseConfig` throws an error naming the bad key, so a bad hot-reloaded file is rejected before anything
 * changes) and to build a configured instance holding the shared state.
 */
export interface FilterPlugin<C = unknown> {
  readonly name: string
  parseConfig(raw: unknown): C
  /**
   * Builds the shared part for one configuration (token buckets, schema caches, a tap producer). On hot reload
   * it is called again with the instance it replaces, so state worth keeping can be carried over; connections
   * opened before the reload keep the filters they started with.
   */
  configure(config: C, ctx: FilterSetupContext, previous?: ConfiguredFilter): MaybePromise<ConfiguredFilter>
}

/** Why a connection is refused at admission (ConfiguredFilter.admit). */
export interface Refusal {
  readonly reason: string
}

/**
 * How what a filter depends on is doing (a schema registry, Redis, a tap cluster), for /readyz. `ready: false`
 * makes the sidecar report not ready (only for a dependency without which the filter fails requests); `detail`
 * is shown either way.
 */
export interface FilterHealth {
  readonly ready: boolean
  readonly detail?: string
}

/** A filter with its configuration applied; creates one `Filter` per client connection. */
export interface ConfiguredFilter {
  /** Readiness of the filter's dependencies (see FilterHealth); cheap, synchronous, asked on every /readyz. */
  health?(): FilterHealth
  readonly name: string
  /**
   * Asked when a client connects, before any upstream connection is dialled: a Refusal closes it at once (logged
   * once per reason, counted). Synchronous: admission must not wait.
   */
  admit?(connection: ConnectionInfo): Refusal | undefined
  forConnection(connection: ConnectionView): Filter
  /** No new connections will use this instance; release shared resources once its connections are gone. */
  close?(): Promise<void>
}
