import type { Logger } from 'pino'
import type {
  ConnectionView,
  FilterCounter,
  FilterGauge,
  FilterMetrics,
  StatisticsService,
} from '../../src/pipeline/filter-api.js'
import type { LimitKind } from './budgets.js'

/**
 * What the rate-limit filter tells operators, per client id and principal: its own metrics (names prefixed
 * `kafka_sidecar_filter_rate_limit_`), the per-client statistics (/stats and `top`'s THROTTLED column, through
 * StatisticsService.sidecarThrottled), and log lines, each kind once per client so that a throttled client cannot
 * flood the log.
 */

export type ClientLabels = {
  readonly client_id: string
  readonly principal: string
}

/** Distinct (client, reason) pairs remembered for once-only log lines; beyond it, lines are no longer deduplicated by client. */
const MAX_REMEMBERED = 10_000

export class Report {
  readonly throttleSeconds: FilterCounter
  readonly throttledRequests: FilterCounter
  readonly throttledBytes: FilterCounter
  readonly heldResponses: FilterCounter
  readonly refused: FilterCounter
  readonly fetchLowered: FilterCounter
  readonly mutationsRejected: FilterCounter
  readonly redisConnected: FilterGauge
  readonly redisFallbacks: FilterCounter
  private readonly logged = new Set<string>()

  constructor(
    metrics: FilterMetrics,
    readonly log: Logger,
    private readonly statistics: StatisticsService | undefined,
  ) {
    const client = ['client_id', 'principal'] as const
    this.throttleSeconds = metrics.counter(
      'throttle_seconds_total',
      'Time the sidecar held clients back (connection not read, throttle_time_ms, held responses), by the limit that was exceeded',
      [...client, 'limit'],
    )
    this.throttledRequests = metrics.counter(
      'throttled_requests_total',
      'Requests (or Fetch responses) that went over a budget and made the client wait',
      [...client, 'limit'],
    )
    this.throttledBytes = metrics.counter(
      'throttled_bytes_total',
      'Bytes of the requests (or Fetch responses) that went over a budget',
      [...client, 'limit'],
    )
    this.heldResponses = metrics.counter(
      'held_responses_total',
      'Responses held back for the throttle time because their version has no client-side throttling (KIP-219)',
      client,
    )
    this.refused = metrics.counter(
      'connections_refused_total',
      'Connections closed for a connection limit (maxConnections, connectionsPerSecond)',
      [...client, 'reason'],
    )
    this.fetchLowered = metrics.counter(
      'fetch_max_bytes_lowered_total',
      'Fetch requests whose max_bytes was lowered to what the fetch budget allowed',
      client,
    )
    this.mutationsRejected = metrics.counter(
      'controller_mutations_rejected_total',
      'Topics answered THROTTLING_QUOTA_EXCEEDED (CreateTopics, CreatePartitions, DeleteTopics; KIP-599)',
      client,
    )
    this.redisConnected = metrics.gauge(
      'redis_connected',
      '1 while budgets are shared through Redis, 0 while this sidecar enforces them alone',
    )
    this.redisFallbacks = metrics.counter(
      'redis_fallbacks_total',
      'Times Redis stopped answering and this sidecar fell back to local limits',
    )
  }

  /** A client waited `ms` (beyond any wait already running) for going over `limit`. */
  throttled(
    conn: ConnectionView,
    labels: ClientLabels,
    limit: LimitKind,
    apiKey: number,
    ms: number,
    bytes: number,
    description: string,
  ): void {
    const l = { ...labels, limit: limitLabel(limit) }
    this.throttleSeconds.inc(l, ms / 1000)
    this.throttledRequests.inc(l)
    this.throttledBytes.inc(l, bytes)
    this.statistics?.sidecarThrottled?.(conn, apiKey, ms, bytes)
    this.once(`throttle\u0000${labels.client_id}\u0000${labels.principal}\u0000${limitLabel(limit)}`, () =>
      this.log.info(
        {
          clientId: labels.client_id,
          principal: labels.principal || undefined,
          limit: limitLabel(limit),
          ms: Math.round(ms),
        },
        `rate-limit: client over its ${description}; holding it back (logged once per client and limit)`,
      ),
    )
  }

  refusedConnection(labels: ClientLabels, reason: string, ruleText: string): void {
    const kind = reason.startsWith('maxConnections') ? 'maxConnections' : 'connectionsPerSecond'
    this.refused.inc({ ...labels, reason: kind })
    this.once(`refuse\u0000${labels.client_id}\u0000${labels.principal}\u0000${kind}`, () =>
      this.log.warn(
        { clientId: labels.client_id, principal: labels.principal || undefined, rule: ruleText, reason },
        `rate-limit refused a connection: ${reason} (logged once per client and reason)`,
      ),
    )
  }

  private once(key: string, log: () => void): void {
    if (this.logged.has(key)) return
    if (this.logged.size < MAX_REMEMBERED) this.logged.add(key)
    log()
  }
}

/** The `limit` label: produceBytes, fetchBytes, requests, requests:Metadata, controllerMutations. */
export function limitLabel(limit: LimitKind): string {
  return limit
}
