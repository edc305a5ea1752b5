/**
 * The filter API: the only module of src/ that filters import.
 *
 * A filter sees decoded Kafka requests on their way to the broker and decoded responses on their way back,
 * and decides what happens to each (forward, replace, answer directly, answer with an error, close).
 * It is modelled on Kroxylicious' filter API (kroxylicious-api: per-API request/response filters, a
 * FilterContext, results built with forward/shortCircuit/drop/closeConnection), adapted to TypeScript:
 *
 * - One `FilterFactory` per configured filter holds shared state (token buckets, schema caches, a tap
 *   producer); it creates one `Filter` per client connection, which may keep per-connection state.
 * - Filters declare which API keys and versions they want decoded. A frame no filter wants is never decoded:
 *   its original bytes are forwarded untouched (the decode predicate). This keeps the hot path cheap.
 * - Hooks may return a promise; the runtime awaits only when one is returned, and keeps requests of one
 *   connection strictly in order while it waits.
 * - Returning nothing (undefined) means forward unchanged. A filter that changes a message in place says so
 *   by returning `replace(body)`, so that unmodified messages are never re-encoded.
 */
import type { Logger } from 'pino'
import type { RequestByApiKey, ResponseByApiKey } from '../../codec/messages/generated/apis.js'
import type { RequestHeader } from '../../codec/messages/generated/request-header.js'
import type { ResponseHeader } from '../../codec/messages/generated/response-header.js'
import type { Reader } from '../../codec/primitives/reader.js'

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

export interface FilterContext extends ConnectionInfo {
  /** Client id from the most recent request header (null when the client sends none). */
  readonly clientId: string | null
  readonly clientSoftware: ClientSoftware | undefined
  /** Logger bound to this connection (connection id, peer, client id). */
  readonly log: Logger
  readonly brokers: BrokerEndpointService
}

export interface DecodedRequest<K extends ApiKeyNumber = ApiKeyNumber> {
  readonly apiKey: K
  readonly apiVersion: number
  readonly header: RequestHeader
  /** Mutable: a filter may change it in place and return replace(body). */
  body: RequestByApiKey[K]
}

export interface DecodedResponse<K extends ApiKeyNumber = ApiKeyNumber> {
  readonly apiKey: K
  readonly apiVersion: number
  readonly header: ResponseHeader
  /** The request this answers, as the filters last saw it (decoded only if some filter wanted the request). */
  readonly request: DecodedRequest<K> | undefined
  body: ResponseByApiKey[K]
}

export type RequestVerdict =
  | { readonly kind: 'forward' }
  | { readonly kind: 'replace'; readonly body: unknown }
  | { readonly kind: 'respond'; readonly body: unknown }
  | { readonly kind: 'error'; readonly errorCode: number; readonly message: string | undefined }
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
 * Answer with a Kafka error for this request (every partition/resource of it gets `errorCode`); the request
 * never reaches the broker. `message` reaches clients whose response version carries one (e.g. Produce v8+).
 */
export function errorResponse(errorCode: number, message?: string): RequestVerdict {
  return { kind: 'error', errorCode, message }
}

/** Close the client connection (and its upstream connection), logging `reason`. */
export function closeConnection(reason: string): { readonly kind: 'close'; readonly reason: string } {
  return { kind: 'close', reason }
}

/** One filter instance, bound to one client connection. */
export interface Filter {
  /**
   * True when onRequest and onResponse never change, replace, answer or hold up a message (they return nothing):
   * statistics, audit. Such a filter does not stop the runtime from sending a request to the broker before it is
   * decoded, or from streaming a large response through to the client as it arrives: it sees each message decoded
   * right after it went on (a response once its last byte is in). A verdict it returns anyway is reported and ignored.
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
  /** The connection closed; release per-connection resources. */
  onClose?(): void
}

/** Services handed to a filter plugin when the sidecar configures it. */
export interface FilterSetupContext {
  readonly log: Logger
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

/** A filter with its configuration applied; creates one `Filter` per client connection. */
export interface ConfiguredFilter {
  readonly name: string
  forConnection(connection: ConnectionInfo): Filter
  /** No new connections will use this instance; release shared resources once its connections are gone. */
  close?(): Promise<void>
}
