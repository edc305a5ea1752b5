import type { Logger } from 'pino'
import type { StatsConfig } from '../config/stats-section.js'
import type { ConnectionObserver, ObservedConnection } from '../pipeline/connection-observer.js'
import type { ConnectionView, StatisticsService as StatsSink } from '../pipeline/filter-api.js'
import { addFlow, apiStatsOf, type ClientStats, clientKey, newClientStats, OTHER_KEY } from './client-stats.js'
import { ConsumerGroups } from './consumer-groups.js'
import { StatsFilterError } from './errors.js'
import { type EventLoopLag, EventLoopLagSampler } from './event-loop-lag.js'
import { isExpectedError } from './expected-errors.js'
import { LabelCap, OTHER } from './label-cap.js'
import { renderSnapshot } from './render-snapshot.js'
import type { StatsSnapshot } from './snapshot.js'
import { TopicIds } from './topic-ids.js'

/**
 * Per-client statistics: what every client id (and principal, where known) does through the sidecar.
 *
 * It is the runtime's ConnectionObserver (connections, requests, bytes, latency, failures: counted without
 * decoding anything) and the stats filter's StatsSink (per-topic bytes and records, throttle, Kafka errors, group
 * membership, committed and log end offsets: from decoded messages). Everything is kept as plain numbers on the
 * hot path, in one entry per client (client-stats.ts); /metrics (prometheus.ts) and /stats (render-snapshot.ts)
 * read them when asked.
 *
 * Cardinality: the first `maxClientIds` (client id, principal) pairs get an entry of their own, later ones share
 * the entry "other" (LabelCap); the same for topics and groups. A client with no open connection for
 * `clientExpiryMs` is forgotten and its slot freed.
 */

/**
 * What identifies a connection's client. The observer and the filter are handed the same connection object
 * (the observer gets the ConnectionView that filters see as FilterContext.connection), so it keys the per-connection state.
 */
type Conn = Pick<ObservedConnection, 'clientId' | 'principal' | 'clientSoftware'>

interface ConnectionState {
  client: ClientStats | undefined
}

const SWEEP_MS = 30_000

export class Statistics implements ConnectionObserver, StatsSink {
  private config: StatsConfig
  readonly clients = new Map<string, ClientStats>()
  private readonly connections = new WeakMap<Conn, ConnectionState>()
  readonly clientCap: LabelCap
  readonly topicCap: LabelCap
  readonly groupCap: LabelCap
  readonly consumerGroups = new ConsumerGroups()
  private readonly topicIds = new TopicIds()
  readonly startedAt = Date.now()

  // Process figures.
  connectionsOpen = 0
  connectionsTotal = 0
  readonly errors = new Map<string, number>()
  decodeFailures = 0
  passedThroughRequests = 0
  passedThroughResponses = 0
  statsFilterFailures = 0

  private readonly eventLoop = new EventLoopLagSampler()
  private readonly sweeper: NodeJS.Timeout

  constructor(
    config: StatsConfig,
    private readonly log?: Logger,
  ) {
    this.config = config
    this.clientCap = new LabelCap(config.maxClientIds)
    this.topicCap = new LabelCap(config.maxTopics)
    this.groupCap = new LabelCap(config.maxGroups)
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS)
    this.sweeper.unref()
  }

  get settings(): StatsConfig {
    return this.config
  }

  /** Event-loop delay of the last full window, ms. */
  get eventLoopLag(): EventLoopLag {
    return this.eventLoop.latest
  }

  /** New caps apply to values not seen yet; values that already have a label keep it. */
  reconfigure(config: StatsConfig): void {
    this.config = config
    this.clientCap.max = config.maxClientIds
    this.topicCap.max = config.maxTopics
    this.groupCap.max = config.maxGroups
  }

  close(): void {
    clearInterval(this.sweeper)
    this.eventLoop.close()
  }

  // ------------------------------------------------------------------ ConnectionObserver

  opened(conn: ObservedConnection): void {
    this.connectionsOpen++
    this.connectionsTotal++
    this.connections.set(conn, { client: undefined })
  }

  identified(conn: ObservedConnection): void {
    const state = this.stateOf(conn)
    const key = this.entryKey(conn)
    const current = state.client
    if (current?.key === key) {
      this.noteSoftware(current, conn)
      return
    }
    if (current !== undefined) this.detach(current)
    state.client = this.attach(conn, key)
  }

  request(conn: ObservedConnection, apiKey: number, _apiVersion: number, bytes: number): void {
    const a = apiStatsOf(this.clientOf(conn), apiKey)
    a.requests++
    a.bytesIn += bytes
  }

  response(
    conn: ObservedConnection,
    apiKey: number,
    _apiVersion: number,
    bytes: number,
    totalMs: number,
    upstreamMs: number,
  ): void {
    const a = apiStatsOf(this.clientOf(conn), apiKey)
    a.responses++
    a.bytesOut += bytes
    a.sidecar.observe(totalMs - upstreamMs)
    // A filter's own answer never went upstream: only the sidecar time is recorded for it.
    if (upstreamMs > 0) a.upstream.observe(upstreamMs)
  }

  error(code: string, conn: ObservedConnection | undefined): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1)
    if (code.startsWith('KSC_ERR_CODEC_')) this.decodeFailures++
    if (conn !== undefined) {
      const c = this.clientOf(conn)
      c.sidecarErrors.set(code, (c.sidecarErrors.get(code) ?? 0) + 1)
    }
  }

  passedThrough(_conn: ObservedConnection, direction: 'request' | 'response'): void {
    if (direction === 'request') this.passedThroughRequests++
    else this.passedThroughResponses++
  }

  closed(conn: ObservedConnection): void {
    const state = this.connections.get(conn)
    if (state === undefined) return
    this.connectionsOpen--
    if (state.client !== undefined) this.detach(state.client)
    this.connections.delete(conn)
  }

  // ------------------------------------------------------------------ StatsSink (the stats filter)

  topicIdSeen(topicId: string, name: string): void {
    this.topicIds.seen(topicId, name)
  }

  topicName(topicId: string): string | undefined {
    return this.topicIds.name(topicId)
  }

  produced(conn: ConnectionView, topic: string, bytes: number, records: number): void {
    addFlow(this.clientOf(conn).produce, this.topicLabel(topic), bytes, records)
  }

  fetched(conn: ConnectionView, topic: string, bytes: number, records: number): void {
    addFlow(this.clientOf(conn).fetch, this.topicLabel(topic), bytes, records)
  }

  logEndOffset(topic: string, partition: number, offset: number): void {
    if (this.topicCap.admit(topic)) this.consumerGroups.logEnd(topic, partition, offset, Date.now())
  }

  committed(conn: ConnectionView | undefined, group: string, topic: string, partition: number, offset: number): void {
    if (!this.groupCap.admit(group) || !this.topicCap.admit(topic)) return
    const by = conn === undefined ? undefined : this.clientOf(conn)
    this.consumerGroups.commit(
      group,
      topic,
      partition,
      offset,
      by === undefined ? undefined : { key: by.key, clientId: by.clientId },
      Date.now(),
    )
  }

  throttled(conn: ConnectionView, apiKey: number, ms: number): void {
    apiStatsOf(this.clientOf(conn), apiKey).throttleMs += ms
  }

  sidecarThrottled(conn: ConnectionView, apiKey: number, ms: number, bytes: number): void {
    const a = apiStatsOf(this.clientOf(conn), apiKey)
    a.sidecarThrottleMs += ms
    a.throttledRequests++
    a.throttledBytes += bytes
  }

  kafkaError(conn: ConnectionView, apiKey: number, errorCode: number): void {
    const api = apiStatsOf(this.clientOf(conn), apiKey)
    const errors = isExpectedError(apiKey, errorCode) ? api.expectedErrors : api.errors
    errors.set(errorCode, (errors.get(errorCode) ?? 0) + 1)
  }

  memberSeen(conn: ConnectionView, group: string, memberId: string, sessionTimeoutMs: number | undefined): void {
    if (!this.groupCap.admit(group)) return
    const c = this.clientOf(conn)
    this.consumerGroups.memberSeen(
      group,
      memberId,
      { key: c.key, clientId: c.clientId, principal: c.principal },
      sessionTimeoutMs,
      Date.now(),
    )
  }

  memberLeft(group: string, memberId: string): void {
    this.consumerGroups.memberLeft(group, memberId)
  }

  failed(err: unknown): void {
    this.statsFilterFailures++
    if (this.statsFilterFailures === 1) {
      const e = new StatsFilterError(err)
      this.log?.warn({ code: e.code, err: (err as Error)?.message ?? String(err) }, e.message)
    }
  }

  // ------------------------------------------------------------------ entries

  private stateOf(conn: Conn): ConnectionState {
    let s = this.connections.get(conn)
    if (s === undefined) {
      // Not seen opening (statistics attached later): count it from here.
      s = { client: undefined }
      this.connections.set(conn, s)
      this.connectionsOpen++
      this.connectionsTotal++
    }
    return s
  }

  /** The entry a connection counts towards (a client that never sent a client id counts as client id ""). */
  private clientOf(conn: Conn): ClientStats {
    const state = this.stateOf(conn)
    if (state.client === undefined) state.client = this.attach(conn, this.entryKey(conn))
    return state.client
  }

  /** The key of the entry a connection counts towards: its own, or "other" once the cap is reached. */
  private entryKey(conn: Conn): string {
    const key = clientKey(conn.clientId, conn.principal)
    return this.clientCap.admit(key) ? key : OTHER_KEY
  }

  private attach(conn: Conn, k: string): ClientStats {
    let c = this.clients.get(k)
    if (c === undefined) {
      c = newClientStats(k, conn.clientId, conn.principal, Date.now())
      this.clients.set(k, c)
    }
    c.connectionsOpen++
    c.connectionsTotal++
    this.noteSoftware(c, conn)
    return c
  }

  private detach(c: ClientStats): void {
    c.connectionsOpen--
    c.lastSeen = Date.now()
  }

  private noteSoftware(c: ClientStats, conn: Conn): void {
    if (!c.folded && conn.clientSoftware !== undefined) c.software = conn.clientSoftware
  }

  topicLabel(topic: string): string {
    return this.topicCap.admit(topic) ? topic : OTHER
  }

  groupLabel(group: string): string {
    return this.groupCap.has(group) ? group : OTHER
  }

  /** Forgets clients idle past clientExpiryMs and group members past their session timeout. */
  sweep(now = Date.now()): void {
    this.consumerGroups.expireMembers(now)
    const expiry = this.config.clientExpiryMs
    if (expiry <= 0) return
    for (const [key, c] of this.clients) {
      if (c.connectionsOpen > 0 || c.folded || now - c.lastSeen < expiry) continue
      this.clients.delete(key)
      this.clientCap.release(key)
    }
  }

  // ------------------------------------------------------------------ reading

  /** /stats. Swept first, so that clients past their expiry do not show. */
  snapshot(now = Date.now()): StatsSnapshot {
    this.sweep(now)
    return renderSnapshot(this, now)
  }
}
