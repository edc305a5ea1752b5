import { kafkaErrorName } from '../../codec/messages/error-codes.js'
import type { ClientStats, TopicFlow } from './client-stats.js'
import type { LatencyHistogram } from './latency-histogram.js'
import type {
  ApiSnapshot,
  ClientSnapshot,
  GroupSnapshot,
  LatencySnapshot,
  StatsSnapshot,
  TopicFlowSnapshot,
} from './snapshot.js'
import type { Statistics } from './statistics.js'

/**
 * /stats: Statistics rendered as the JSON document snapshot.ts describes. Runs only when asked, so it may sum,
 * sort and allocate freely; the counters it reads are left as they are.
 */

export function renderSnapshot(stats: Statistics, now: number): StatsSnapshot {
  const lag = stats.consumerGroups.lagByClient()
  const membership = stats.consumerGroups.membershipByClient()
  const memory = process.memoryUsage()
  const clients: ClientSnapshot[] = []
  for (const c of stats.clients.values()) clients.push(clientSnapshot(c, lag, membership, now))
  return {
    version: 1,
    time: new Date(now).toISOString(),
    uptimeSeconds: Math.round((now - stats.startedAt) / 1000),
    topicStats: stats.settings.topics,
    process: {
      pid: process.pid,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      eventLoopLagMs: stats.eventLoopLag,
      connectionsOpen: stats.connectionsOpen,
      connectionsTotal: stats.connectionsTotal,
      errors: Object.fromEntries(stats.errors),
      decodeFailures: stats.decodeFailures,
      passedThrough: { requests: stats.passedThroughRequests, responses: stats.passedThroughResponses },
      statsFilterFailures: stats.statsFilterFailures,
    },
    cardinality: {
      maxClientIds: stats.clientCap.max,
      clientIds: stats.clientCap.size,
      clientIdsFolded: stats.clientCap.folded,
      maxTopics: stats.topicCap.max,
      topics: stats.topicCap.size,
      topicsFolded: stats.topicCap.folded,
      maxGroups: stats.groupCap.max,
      groups: stats.groupCap.size,
      groupsFolded: stats.groupCap.folded,
    },
    clients,
    groups: groupSnapshots(stats),
  }
}

function groupSnapshots(stats: Statistics): GroupSnapshot[] {
  const groups: GroupSnapshot[] = []
  const partitionsByGroup = new Map<string, GroupSnapshot['partitions']>()
  for (const l of stats.consumerGroups.lags()) {
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
  for (const g of stats.consumerGroups.groups.values()) {
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
  return groups
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
