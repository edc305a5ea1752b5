import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks'
import type { Logger } from 'pino'
import { kafkaErrorName } from '../../codec/messages/error-codes.js'
import { API_DEFINITIONS } from '../../codec/messages/generated/apis.js'
import type { StatsConfig } from '../config/stats-section.js'
import type { ConnectionObserver, ObservedConnection } from '../pipeline/connection-observer.js'
import type { ConnectionView, StatisticsService as StatsSink } from '../pipeline/filter-api.js'
import { ConsumerGroups } from './consumer-groups.js'
import { StatsFilterError } from './errors.js'
import { isExpectedError } from './expected-errors.js'
import { LabelCap, OTHER } from './label-cap.js'
import { LatencyHistogram } from './latency-histogram.js'
import type {
  ApiSnapshot,
  ClientSnapshot,
  GroupSnapshot,
  LatencySnapshot,
  StatsSnapshot,
  TopicFlowSnapshot,
} from './snapshot.js'

/**
 * Per-client statistics: what every client id (and principal, where known) does through the sidecar.
 *
 * It is the runtime's ConnectionObserver (connections, requests, bytes, latency, failures: counted without
 * decoding anything) and the stats filter's StatsSink (per-topic bytes and records, throttle, Kafka errors, group
 * membership, committed and log end offsets: from decoded messages). Everything is kept as plain numbers on the
 * hot path; /metrics (prometheus.ts) and /stats (snapshot()) read them when asked.
 *
 * Cardinality: the first `maxClientIds` (client id, principal) pairs get an entry of their own, later ones share
 * the entry "other" (LabelCap); the same for topics and groups. A client with no open connection for
 * `clientExpiryMs` is forgotten and its slot freed.
 */

export interface ApiStats {
  readonly apiKey: number
  readonly name: string
  requests: number
  responses: number
  bytesIn: number
  bytesOut: number
  readonly sidecar: LatencyHistogram
  readonly upstream: LatencyHistogram
  throttleMs: number
  /** Time the sidecar itself held the client back for this API's requests (rate-limit), and what went over. */
  sidecarThrottleMs: number
  throttledRequests: number
  throttledBytes: number
  /** Kafka error code -> count, client errors only. */
  readonly errors: Map<number, number>
  /** Kafka error code -> count, the codes that are steps of the protocol's normal flow in these answers. */
  readonly expectedErrors: Map<number, number>
}

export interface TopicFlow {
  bytes: number
  records: number
}

export interface ClientStats {
  /** clientId + NUL + principal: the identity entries are keyed by. */
  readonly key: string
  readonly clientId: string
  readonly principal: string | undefined
  readonly folded: boolean
  software: { name: string; version: string } | undefined
  connectionsOpen: number
  connectionsTotal: number
  /** By API key. */
  readonly apis: (ApiStats | undefined)[]
  /** KSC_ERR_* code -> count. */
  readonly sidecarErrors: Map<string, number>
  /** By topic label (a topic name or "other"). */
  readonly produce: Map<string, TopicFlow>
  readonly fetch: Map<string, TopicFlow>
  readonly firstSeen: number
  lastSeen: number
}

/**
 * What identifies a connection's client. The observer and the filter are handed the same connection object
 * (the observer gets the ConnectionView that filters see as FilterContext.connection), so it keys the per-connection state.
 */
type Conn = Pick<ObservedConnection, 'clientId' | 'principal' | 'clientSoftware'>

interface ConnectionState {
  client: ClientStats | undefined
}

/** Cannot collide with a real key (those hold exactly one NUL). */
const OTHER_KEY = `\u0000\u0000${OTHER}`
const EVENT_LOOP_WINDOW_MS = 5000
const SWEEP_MS = 30_000
/** Topic ids remembered (Metadata v10+); a cluster with more topics than this has the map cleared and refilled. */
const MAX_TOPIC_IDS = 100_000

export function clientKey(clientId: string | null, principal: string | undefined): string {
  return `${clientId ?? ''}\u0000${principal ?? ''}`
}

export function apiName(apiKey: number): string {
  return API_DEFINITIONS[apiKey]?.name ?? `api-${apiKey}`
}

export class Statistics implements ConnectionObserver, StatsSink {
  private config: StatsConfig
  readonly clients = new Map<string, ClientStats>()
  private readonly connections = new WeakMap<Conn, ConnectionState>()
  readonly clientCap: LabelCap
  readonly topicCap: LabelCap
  readonly groupCap: LabelCap
  readonly consumerGroups = new ConsumerGroups()
  private readonly topicIds = new Map<string, string>()
  readonly startedAt = Date.now()

  // Process figures.
  connectionsOpen = 0
  connectionsTotal = 0
  readonly errors = new Map<string, number>()
  decodeFailures = 0
  passedThroughRequests = 0
  passedThroughResponses = 0
  statsFilterFailures = 0

  private readonly loop: IntervalHistogram
  /** Event-loop delay of the last full window, ms. */
  eventLoopLag = { mean: 0, p99: 0, max: 0 }
  private readonly timers: NodeJS.Timeout[] = []

  constructor(
    config: StatsConfig,
    private readonly log?: Logger,
  ) {
    this.config = config
    this.clientCap = new LabelCap(config.maxClientIds)
    this.topicCap = new LabelCap(config.maxTopics)
    this.groupCap = new LabelCap(config.maxGroups)
    this.loop = monitorEventLoopDelay({ resolution: 10 })
    this.loop.enable()
    const sample = setInterval(() => this.sampleEventLoop(), EVENT_LOOP_WINDOW_MS)
    const sweep = setInterval(() => this.sweep(), SWEEP_MS)
    sample.unref()
    sweep.unref()
    this.timers.push(sample, sweep)
  }

  get settings(): StatsConfig {
    return this.config
  }

  /** New caps apply to values not seen yet; values that already have a label keep it. */
  reconfigure(config: StatsConfig): void {
    this.config = config
    this.clientCap.max = config.maxClientIds
    this.topicCap.max = config.maxTopics
    this.groupCap.max = config.maxGroups
  }

  close(): void {
    for (const t of this.timers) clearInterval(t)
    this.loop.disable()
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
    const a = this.api(this.clientOf(conn), apiKey)
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
    const a = this.api(this.clientOf(conn), apiKey)
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
    if (this.topicIds.get(topicId) === name) return
    if (this.topicIds.size >= MAX_TOPIC_IDS) this.topicIds.clear()
    this.topicIds.set(topicId, name)
  }

  topicName(topicId: string): string | undefined {
    return this.topicIds.get(topicId)
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
    this.api(this.clientOf(conn), apiKey).throttleMs += ms
  }

  sidecarThrottled(conn: ConnectionView, apiKey: number, ms: number, bytes: number): void {
    const a = this.api(this.clientOf(conn), apiKey)
    a.sidecarThrottleMs += ms
    a.throttledRequests++
    a.throttledBytes += bytes
  }

  kafkaError(conn: ConnectionView, apiKey: number, errorCode: number): void {
    const api = this.api(this.clientOf(conn), apiKey)
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
      const now = Date.now()
      const own = k !== OTHER_KEY
      c = {
        key: k,
        clientId: own ? (conn.clientId ?? '') : OTHER,
        principal: own ? conn.principal : undefined,
        folded: !own,
        software: undefined,
        connectionsOpen: 0,
        connectionsTotal: 0,
        apis: [],
        sidecarErrors: new Map(),
        produce: new Map(),
        fetch: new Map(),
        firstSeen: now,
        lastSeen: now,
      }
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

  private api(c: ClientStats, apiKey: number): ApiStats {
    let a = c.apis[apiKey]
    if (a === undefined) {
      a = {
        apiKey,
        name: apiName(apiKey),
        requests: 0,
        responses: 0,
        bytesIn: 0,
        bytesOut: 0,
        sidecar: new LatencyHistogram(),
        upstream: new LatencyHistogram(),
        throttleMs: 0,
        sidecarThrottleMs: 0,
        throttledRequests: 0,
        throttledBytes: 0,
        errors: new Map(),
        expectedErrors: new Map(),
      }
      c.apis[apiKey] = a
    }
    return a
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

  private sampleEventLoop(): void {
    const h = this.loop
    // The histogram is in nanoseconds; an empty window (no samples yet) reports NaN/huge values.
    if (h.count > 0) {
      this.eventLoopLag = { mean: h.mean / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 }
    }
    h.reset()
  }

  // ------------------------------------------------------------------ reading

  /** Lag of the partitions each client committed last, by client key. */
  lagByClient(): Map<string, number> {
    const byClient = new Map<string, number>()
    for (const l of this.consumerGroups.lags()) {
      if (l.lag === null || l.committed.by === undefined) continue
      byClient.set(l.committed.by, (byClient.get(l.committed.by) ?? 0) + l.lag)
    }
    return byClient
  }

  /** Live members per client key and group. */
  membershipByClient(): Map<string, Map<string, number>> {
    const byClient = new Map<string, Map<string, number>>()
    for (const g of this.consumerGroups.groups.values()) {
      for (const m of g.members.values()) {
        let groups = byClient.get(m.clientKey)
        if (groups === undefined) {
          groups = new Map()
          byClient.set(m.clientKey, groups)
        }
        groups.set(g.group, (groups.get(g.group) ?? 0) + 1)
      }
    }
    return byClient
  }

  snapshot(now = Date.now()): StatsSnapshot {
    this.sweep(now)
    const lag = this.lagByClient()
    const membership = this.membershipByClient()
    const memory = process.memoryUsage()
    const clients: ClientSnapshot[] = []
    for (const c of this.clients.values()) clients.push(clientSnapshot(c, lag, membership, now))
    const groups: GroupSnapshot[] = []
    const partitionsByGroup = new Map<string, GroupSnapshot['partitions']>()
    for (const l of this.consumerGroups.lags()) {
      let list = partitionsByGroup.get(l.group)
      if (list === undefined) {
        list = []
        partitionsByGroup.set(l.group, list)
      }
      list.push({
        topic: l.topic,
        partition: l.partition,
        committedOffset: l.committed.offset,
        logEndOffset: l.logEnd?.offset ?? null,
        lag: l.lag,
        committedBy: l.committed.byClientId ?? null,
        committedAt: new Date(l.committed.at).toISOString(),
        logEndAt: l.logEnd === undefined ? null : new Date(l.logEnd.at).toISOString(),
      })
    }
    for (const g of this.consumerGroups.groups.values()) {
      const partitions = (partitionsByGroup.get(g.group) ?? []).sort((a, b) =>
        a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
      )
      const known = partitions.filter((p) => p.lag !== null)
      groups.push({
        group: g.group,
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId,
          clientId: m.clientId,
          principal: m.principal ?? null,
        })),
        lag: known.length === 0 ? null : known.reduce((n, p) => n + p.lag!, 0),
        partitions,
      })
    }
    return {
      version: 1,
      time: new Date(now).toISOString(),
      uptimeSeconds: Math.round((now - this.startedAt) / 1000),
      topicStats: this.config.topics,
      process: {
        pid: process.pid,
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        eventLoopLagMs: this.eventLoopLag,
        connectionsOpen: this.connectionsOpen,
        connectionsTotal: this.connectionsTotal,
        errors: Object.fromEntries(this.errors),
        decodeFailures: this.decodeFailures,
        passedThrough: { requests: this.passedThroughRequests, responses: this.passedThroughResponses },
        statsFilterFailures: this.statsFilterFailures,
      },
      cardinality: {
        maxClientIds: this.clientCap.max,
        clientIds: this.clientCap.size,
        clientIdsFolded: this.clientCap.folded,
        maxTopics: this.topicCap.max,
        topics: this.topicCap.size,
        topicsFolded: this.topicCap.folded,
        maxGroups: this.groupCap.max,
        groups: this.groupCap.size,
        groupsFolded: this.groupCap.folded,
      },
      clients,
      groups,
    }
  }
}

function addFlow(flows: Map<string, TopicFlow>, topic: string, bytes: number, records: number): void {
  const f = flows.get(topic)
  if (f === undefined) flows.set(topic, { bytes, records })
  else {
    f.bytes += bytes
    f.records += records
  }
}

function latency(h: LatencyHistogram): LatencySnapshot {
  return { count: h.count, meanMs: round(h.meanMs()), p99Ms: h.quantileMs(0.99) }
}

function round(n: number | null): number | null {
  return n === null ? null : Math.round(n * 1000) / 1000
}

function flows(m: Map<string, TopicFlow>): Record<string, TopicFlowSnapshot> {
  return Object.fromEntries([...m].map(([t, f]) => [t, { bytes: f.bytes, records: f.records }]))
}

function clientSnapshot(
  c: ClientStats,
  lag: Map<string, number>,
  membership: Map<string, Map<string, number>>,
  now: number,
): ClientSnapshot {
  const apis: Record<string, ApiSnapshot> = {}
  let requests = 0
  let errors = 0
  let expectedErrors = 0
  let bytesIn = 0
  let bytesOut = 0
  let throttleMs = 0
  let sidecarThrottleMs = 0
  let throttledRequests = 0
  let throttledBytes = 0
  for (const a of c.apis) {
    if (a === undefined) continue
    requests += a.requests
    bytesIn += a.bytesIn
    bytesOut += a.bytesOut
    throttleMs += a.throttleMs
    sidecarThrottleMs += a.sidecarThrottleMs
    throttledRequests += a.throttledRequests
    throttledBytes += a.throttledBytes
    const errs: Record<string, number> = {}
    for (const [code, n] of a.errors) {
      errs[kafkaErrorName(code)] = n
      errors += n
    }
    const expected: Record<string, number> = {}
    for (const [code, n] of a.expectedErrors) {
      expected[kafkaErrorName(code)] = n
      expectedErrors += n
    }
    apis[a.name] = {
      requests: a.requests,
      responses: a.responses,
      bytesIn: a.bytesIn,
      bytesOut: a.bytesOut,
      sidecarMs: latency(a.sidecar),
      upstreamMs: latency(a.upstream),
      throttleMs: a.throttleMs,
      sidecarThrottleMs: a.sidecarThrottleMs,
      throttledRequests: a.throttledRequests,
      throttledBytes: a.throttledBytes,
      errors: errs,
      expectedErrors: expected,
    }
  }
  for (const n of c.sidecarErrors.values()) errors += n
  return {
    clientId: c.clientId,
    principal: c.principal ?? null,
    folded: c.folded,
    software: c.software ?? null,
    connections: { open: c.connectionsOpen, total: c.connectionsTotal },
    requests,
    errors,
    expectedErrors,
    bytesIn,
    bytesOut,
    throttleMs,
    sidecarThrottleMs,
    throttledRequests,
    throttledBytes,
    apis,
    sidecarErrors: Object.fromEntries(c.sidecarErrors),
    produce: flows(c.produce),
    fetch: flows(c.fetch),
    groups: [...(membership.get(c.key)?.keys() ?? [])],
    lag: lag.get(c.key) ?? null,
    firstSeen: new Date(c.firstSeen).toISOString(),
    lastSeen: new Date(c.connectionsOpen > 0 ? now : c.lastSeen).toISOString(),
  }
}
