import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { RequestByApiKey } from '../../codec/messages/generated/apis.js'
import type { Clock, ConnectionInfo, ConnectionView, Filter, SentResponse } from './filter-connection.js'
import type { ApiKeyNumber, MaybePromise } from './filter-messages.js'

/**
 * How a filter comes to be (part of the filter API; filters import it from filter-api.ts): the plugin that validates
 * its config block and configures it, the configured filter that makes one Filter per connection, and the services
 * the sidecar hands it when configuring it (metrics, its own upstream client, statistics, audit, admin routes).
 */

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
  /**
   * Produces one record batch the filter encoded itself: a whole batch v2 (codec writeRecordBatchHeader),
   * uncompressed (compressed here when `compression` says so), records numbered 0..count-1. To `partition`, or when
   * undefined to the next partition round robin (as a call of keyless records). For a filter that copies records
   * from a client's batches without decoding them (the tap): no object per record. `batch` is not copied and must
   * stay unchanged until the promise settles, or until the producer's delivery timeout after a rejection.
   * Optional: implementations from before it exist.
   */
  produceRecordBatch?(
    topic: string,
    partition: number | undefined,
    batch: Buffer,
    options?: { readonly acks?: 0 | 1 | -1; readonly compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd' },
  ): Promise<{ readonly partition: number; readonly baseOffset: bigint }>
  /**
   * The topic's partition count as the client knows it now, without asking the cluster (undefined before anything
   * was produced to it): what a filter that partitions its own batches by key needs. Optional, as produceRecordBatch.
   */
  partitionCount?(topic: string): number | undefined
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
