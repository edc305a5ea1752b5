import type { Logger } from 'pino'
import type { RequestByApiKey, ResponseByApiKey } from '../../codec/messages/generated/apis.js'
import type { TopicRename } from '../../codec/messages/topic-rename-stream.js'
import type { Reader } from '../../codec/primitives/reader.js'
import type {
  ApiKeyNumber,
  DecodedRequest,
  DecodedResponse,
  FrameFacts,
  MaybePromise,
  RequestVerdict,
  ResponseVerdict,
} from './filter-messages.js'

/**
 * One filter on one client connection (part of the filter API; filters import it from filter-api.ts): the hooks the
 * runtime calls (Filter), the connection they see and the runtime services they may use on it (FilterContext).
 */

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
  /**
   * The answers of this filter's wantsRequest, wantsResponse or countsResponseBytes changed (they depend on state of
   * its own, such as a throttle to report or new limits after a reload): requests from now on are routed by its new
   * answers; those already on their way keep the routes they were given.
   */
  wantsChanged(): void
}

/**
 * The name each topic of a response becomes for the client; undefined leaves the topic out of the response
 * (Filter.renameResponseTopics).
 */
export type { TopicRename }

/** A response about to stream, as renameResponseTopics sees it: nothing of its body has been read yet. */
export interface ResponseToRename {
  readonly apiKey: number
  readonly apiVersion: number
  /** The request it answers, as the filters last saw it (decoded only if some filter wanted the request). */
  readonly request: DecodedRequest | undefined
}

/**
 * A request about to stream, as renameRequestTopics sees it: its header has been read, nothing of its body. The
 * response, when one comes, carries the same correlation id in its header.
 */
export interface RequestToRename {
  readonly apiKey: number
  readonly apiVersion: number
  readonly correlationId: number
  /** False for an acks=0 Produce request: the broker sends no response to it. */
  readonly expectsResponse: boolean
}

/** The real name each topic the client named becomes on its way to the broker (Filter.renameRequestTopics). */
export type RequestTopicRename = (name: string) => string

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
  /**
   * Decode requests of this API key and version for this filter? Asked once per key and version per connection,
   * and again after the filter calls FilterContext.wantsChanged.
   */
  wantsRequest?(apiKey: number, apiVersion: number): boolean
  /** Decode responses of this API key and version for this filter? Asked like wantsRequest. */
  wantsResponse?(apiKey: number, apiVersion: number): boolean
  /**
   * Optional refinement of wantsResponse, asked per response: given a reader positioned at the raw body (the bytes
   * after the response header; the frame may still be in socket-sized pieces, which the reader spans without
   * copying), does this filter need it decoded? Lets a filter that acts on rare content skip decoding the common
   * case (NodeEndpoints appear in Fetch responses only after a leader moved). Must be cheap; valid only during the
   * call; a throw counts as "yes".
   */
  needsResponse?(apiKey: number, apiVersion: number, body: Reader): boolean
  /**
   * For a filter whose only change to a response is renaming its topics (or leaving some out): a response that
   * carries records and names its topics (Fetch v4-v12; v13+ carry topic ids) would otherwise be held whole, decoded
   * and encoded again for onResponse, which costs a large Fetch response its streaming and several times the
   * plain sidecar's CPU. Asked once per such response that the filter wants, before any of it went on; returns the
   * name each of its topics becomes, or undefined to take the ordinary way (onResponse). With a rename, onResponse
   * is not called for that response: the runtime renames the topics where they lie while the response goes on,
   * holding it only until its new size is known (after its last topic's name; codec/messages/topic-rename-stream.ts),
   * and never copies its records. Used only when every filter that may change the response offers a rename (they
   * are applied in response order) and every observer of it sits nearer the client than they do, so observers see
   * the response as the client gets it. `rename` may be called after this returns, once per topic.
   */
  renameResponseTopics?(response: ResponseToRename, ctx: FilterContext): TopicRename | undefined
  /**
   * The same for requests, for a filter whose only change to a request is renaming its topics: a Produce request by
   * name (v3-v12; v13 carries topic ids) would otherwise be held whole, decoded (its records copied where they
   * straddle socket reads) and encoded again for onRequest. Asked once per such request that the filter wants,
   * before any of it went on; returns the real name of each topic the client named, or undefined to take the
   * ordinary way (onRequest). With a rename, onRequest is not called for that request (and the response's `request`
   * is not the object the filter would have seen there: what onRequest notes per request must be noted here, by
   * correlation id; its records are summaries when the request's observers read no more, so onResponse must not
   * read them). Used only when every filter that may change the request offers a rename (applied in request
   * order) and every observer of it sits nearer the client than they do: observers see the request as the client
   * sent it, as they would on the ordinary way, decoded after it went on. `rename` is called while the request
   * streams, once per topic, before its last byte went on.
   *
   * A hook of its own rather than one for both directions: a request can be renamed only (a topic left out of a
   * request would leave the client without an answer for it), and what a filter needs to know differs (a response
   * brings its decoded request; a request only its header).
   */
  renameRequestTopics?(request: RequestToRename, ctx: FilterContext): RequestTopicRename | undefined
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
   * Which responses onResponseBytes is called for, asked like wantsRequest; absent: every response. A filter that
   * counts only some APIs says so here, and the others cost it no call at all.
   */
  countsResponseBytes?(apiKey: number, apiVersion: number): boolean
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
