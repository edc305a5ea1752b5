/**
 * The JSON document served at /stats (and read by `kafka-sidecar top`). Additive changes only: fields may be
 * added, never renamed or removed; `version` changes if that ever has to happen.
 */

export interface StatsSnapshot {
  readonly version: 1
  readonly time: string
  readonly uptimeSeconds: number
  /** Whether the stats filter decodes messages for per-topic figures, throttle, groups and lag (stats.topics). */
  readonly topicStats: boolean
  readonly process: ProcessSnapshot
  readonly cardinality: CardinalitySnapshot
  /** One entry per (client id, principal), the folded rest as client id "other" with `folded: true`. */
  readonly clients: ClientSnapshot[]
  readonly groups: GroupSnapshot[]
}

export interface ProcessSnapshot {
  readonly pid: number
  readonly rssBytes: number
  readonly heapUsedBytes: number
  /** Event-loop delay over the last sampling window (5 s), in milliseconds. */
  readonly eventLoopLagMs: { readonly mean: number; readonly p99: number; readonly max: number }
  readonly connectionsOpen: number
  readonly connectionsTotal: number
  /** Failures by stable code (KSC_ERR_*). */
  readonly errors: Readonly<Record<string, number>>
  /** Frames the codec could not decode (KSC_ERR_CODEC_* failures). */
  readonly decodeFailures: number
  /** Frames forwarded without decoding (no filter wanted them). */
  readonly passedThrough: { readonly requests: number; readonly responses: number }
  /** Problems inside the statistics filter itself (the frames were forwarded regardless). */
  readonly statsFilterFailures: number
}

export interface CardinalitySnapshot {
  readonly maxClientIds: number
  readonly clientIds: number
  readonly clientIdsFolded: number
  readonly maxTopics: number
  readonly topics: number
  readonly topicsFolded: number
  readonly maxGroups: number
  readonly groups: number
  readonly groupsFolded: number
}

export interface LatencySnapshot {
  readonly count: number
  readonly meanMs: number | null
  /** Upper bound of the histogram bucket holding the 99th percentile. */
  readonly p99Ms: number | null
}

export interface ApiSnapshot {
  readonly requests: number
  readonly responses: number
  readonly bytesIn: number
  readonly bytesOut: number
  /** Time spent in the sidecar (total - upstream) and waiting for the broker. */
  readonly sidecarMs: LatencySnapshot
  readonly upstreamMs: LatencySnapshot
  /** throttle_time_ms in the decoded responses the client got: the broker's, or the sidecar's where it set a longer one. */
  readonly throttleMs: number
  /**
   * Time the sidecar's rate limits held the client back for requests of this API (connection not read, responses
   * held), the requests that went over a budget and their bytes (for Fetch: responses). Absent before rate-limit.
   */
  readonly sidecarThrottleMs?: number
  readonly throttledRequests?: number
  readonly throttledBytes?: number
  /** Kafka error codes in responses, by name (decoded APIs only), except the expected ones. */
  readonly errors: Readonly<Record<string, number>>
  /**
   * Error codes that are steps of the protocol's normal flow in these answers (MEMBER_ID_REQUIRED to a first
   * JoinGroup, REBALANCE_IN_PROGRESS, a coordinator or leader moving...: src/stats/expected-errors.ts), by name.
   * Absent in documents from sidecars that counted them as errors.
   */
  readonly expectedErrors?: Readonly<Record<string, number>>
}

export interface TopicFlowSnapshot {
  readonly bytes: number
  readonly records: number
}

export interface ClientSnapshot {
  readonly clientId: string
  readonly principal: string | null
  readonly folded: boolean
  readonly software: { readonly name: string; readonly version: string } | null
  readonly connections: { readonly open: number; readonly total: number }
  readonly requests: number
  /** Kafka errors in responses (not the expected ones) plus the sidecar's own failures on this client's connections. */
  readonly errors: number
  /** Expected error codes in responses (see ApiSnapshot.expectedErrors): counted, but not errors. Absent before. */
  readonly expectedErrors?: number
  readonly bytesIn: number
  readonly bytesOut: number
  readonly throttleMs: number
  /** The sum over APIs of ApiSnapshot.sidecarThrottleMs, throttledRequests, throttledBytes. Absent before rate-limit. */
  readonly sidecarThrottleMs?: number
  readonly throttledRequests?: number
  readonly throttledBytes?: number
  readonly apis: Readonly<Record<string, ApiSnapshot>>
  /** The sidecar's own failures (KSC_ERR_*) on this client's connections. */
  readonly sidecarErrors: Readonly<Record<string, number>>
  readonly produce: Readonly<Record<string, TopicFlowSnapshot>>
  readonly fetch: Readonly<Record<string, TopicFlowSnapshot>>
  /** Groups in which this client has a live member. */
  readonly groups: string[]
  /** Sum of the known lag of the partitions this client committed last; null when none is known. */
  readonly lag: number | null
  readonly firstSeen: string
  readonly lastSeen: string
}

export interface GroupPartitionSnapshot {
  readonly topic: string
  readonly partition: number
  readonly committedOffset: number
  readonly logEndOffset: number | null
  readonly lag: number | null
  /** Client id that committed it last, when seen committing. */
  readonly committedBy: string | null
  readonly committedAt: string
  readonly logEndAt: string | null
}

export interface GroupSnapshot {
  readonly group: string
  readonly members: { readonly memberId: string; readonly clientId: string; readonly principal: string | null }[]
  readonly lag: number | null
  readonly partitions: GroupPartitionSnapshot[]
}
