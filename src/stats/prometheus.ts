import { Counter, collectDefaultMetrics, Gauge, Histogram, type MetricType, Registry } from 'prom-client'
import { kafkaErrorName } from '../../codec/messages/error-codes.js'
import type { ClientStats } from './client-stats.js'
import { LATENCY_BUCKETS_SECONDS, type LatencyHistogram } from './latency-histogram.js'
import type { Statistics } from './statistics.js'

/**
 * /metrics: the Statistics as Prometheus metrics (prom-client's text format). Values are read from the plain
 * counters at scrape time (each metric's get() is overridden to produce its samples), so the hot path never
 * touches prom-client. Names follow kafka_sidecar_<what>_<unit>; per-client series carry client_id and principal
 * ("" when unknown), capped as Statistics caps them ("other"). Node's process metrics (RSS, event-loop lag, heap,
 * CPU) come from prom-client's default collectors under the same prefix.
 */

export const METRIC_PREFIX = 'kafka_sidecar_'

type Labels = Record<string, string>
export interface Sample {
  labels: Labels
  value: number
}

/** A counter whose samples are produced at scrape time. */
export class SampledCounter extends Counter<string> {
  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly samples: () => Iterable<Sample>,
  ) {
    super({ name, help, labelNames, registers: [registry] })
  }

  override async get() {
    return { ...(await super.get()), values: [...this.samples()] }
  }
}

export class SampledGauge extends Gauge<string> {
  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly samples: () => Iterable<Sample>,
  ) {
    super({ name, help, labelNames, registers: [registry] })
  }

  override async get() {
    return { ...(await super.get()), values: [...this.samples()] }
  }
}

interface HistogramSample {
  labels: Labels
  histogram: LatencyHistogram
}

/** A histogram whose buckets are counted elsewhere (LatencyHistogram); the registry reads getForPromString(). */
class SampledHistogram extends Histogram<string> {
  constructor(
    registry: Registry,
    private readonly metricName: string,
    private readonly helpText: string,
    labelNames: readonly string[],
    private readonly samples: () => Iterable<HistogramSample>,
  ) {
    super({
      name: metricName,
      help: helpText,
      labelNames,
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers: [registry],
    })
  }

  private values() {
    const out: { labels: Labels; value: number; metricName: string }[] = []
    const bucket = `${this.metricName}_bucket`
    for (const { labels, histogram } of this.samples()) {
      let cumulative = 0
      LATENCY_BUCKETS_SECONDS.forEach((le, i) => {
        cumulative += histogram.counts[i]!
        out.push({ labels: { ...labels, le: String(le) }, value: cumulative, metricName: bucket })
      })
      out.push({ labels: { ...labels, le: '+Inf' }, value: histogram.count, metricName: bucket })
      out.push({ labels, value: histogram.sumMs / 1000, metricName: `${this.metricName}_sum` })
      out.push({ labels, value: histogram.count, metricName: `${this.metricName}_count` })
    }
    return out
  }

  /** Histogram.get() calls getForPromString(); both answer from the counts (the base class's own map stays empty). */
  override async get() {
    return this.getForPromString()
  }

  async getForPromString() {
    return {
      name: this.metricName,
      help: this.helpText,
      // prom-client's runtime type names ('histogram'); its typings call them MetricType.
      type: 'histogram' as unknown as MetricType,
      aggregator: 'sum' as const,
      values: this.values(),
    } as Awaited<ReturnType<Histogram<string>['get']>>
  }
}

const CLIENT = ['client_id', 'principal'] as const

function clientLabels(c: ClientStats): Labels {
  return { client_id: c.clientId, principal: c.principal ?? '' }
}

/** A registry exposing `stats`; one per sidecar process (tests may run several). */
export function createMetricsRegistry(stats: Statistics): Registry {
  const registry = new Registry()
  const n = (what: string) => `${METRIC_PREFIX}${what}`
  const clients = () => stats.clients.values()

  function* perApi<T>(pick: (c: ClientStats, a: NonNullable<ClientStats['apis'][number]>) => T | undefined) {
    for (const c of clients()) {
      for (const a of c.apis) {
        if (a === undefined) continue
        const v = pick(c, a)
        if (v !== undefined) yield { c, a, v }
      }
    }
  }

  // -- per client: connections, identity
  new SampledGauge(registry, n('client_connections_open'), 'Open connections per client', CLIENT, function* () {
    for (const c of clients()) yield { labels: clientLabels(c), value: c.connectionsOpen }
  })
  new SampledCounter(registry, n('client_connections_total'), 'Connections opened per client', CLIENT, function* () {
    for (const c of clients()) yield { labels: clientLabels(c), value: c.connectionsTotal }
  })
  new SampledGauge(
    registry,
    n('client_info'),
    'Client software name and version the client reported in ApiVersions v3+ (KIP-511); always 1',
    [...CLIENT, 'software_name', 'software_version'],
    function* () {
      for (const c of clients()) {
        if (c.software === undefined) continue
        yield {
          labels: { ...clientLabels(c), software_name: c.software.name, software_version: c.software.version },
          value: 1,
        }
      }
    },
  )

  // -- per client and API: requests, bytes, latency, errors, throttle
  const API = [...CLIENT, 'api']
  const apiLabels = (c: ClientStats, api: string): Labels => ({ ...clientLabels(c), api })
  new SampledCounter(registry, n('requests_total'), 'Requests per client and API', API, function* () {
    for (const { c, a } of perApi((_c, a) => a.requests)) yield { labels: apiLabels(c, a.name), value: a.requests }
  })
  new SampledCounter(
    registry,
    n('request_bytes_total'),
    'Bytes received from clients (request frames, size prefix included)',
    API,
    function* () {
      for (const { c, a } of perApi((_c, a) => a.bytesIn)) yield { labels: apiLabels(c, a.name), value: a.bytesIn }
    },
  )
  new SampledCounter(
    registry,
    n('response_bytes_total'),
    'Bytes sent to clients (response frames, size prefix included)',
    API,
    function* () {
      for (const { c, a } of perApi((_c, a) => a.bytesOut)) yield { labels: apiLabels(c, a.name), value: a.bytesOut }
    },
  )
  new SampledHistogram(
    registry,
    n('request_sidecar_seconds'),
    'Time a request spent in the sidecar (arrival to response written, minus the time upstream)',
    API,
    function* () {
      for (const { c, a } of perApi((_c, a) => (a.sidecar.count > 0 ? a : undefined)))
        yield { labels: apiLabels(c, a.name), histogram: a.sidecar }
    },
  )
  new SampledHistogram(
    registry,
    n('request_upstream_seconds'),
    'Time from sending a request to the broker until its response arrived',
    API,
    function* () {
      for (const { c, a } of perApi((_c, a) => (a.upstream.count > 0 ? a : undefined)))
        yield { labels: apiLabels(c, a.name), histogram: a.upstream }
    },
  )
  new SampledCounter(
    registry,
    n('response_errors_total'),
    'Kafka error codes in responses, per client, API and error (APIs the stats filter decodes), except the ' +
      'codes that are steps of the protocol flow (response_expected_errors_total)',
    [...API, 'error'],
    function* () {
      for (const { c, a } of perApi((_c, a) => (a.errors.size > 0 ? a : undefined)))
        for (const [code, count] of a.errors)
          yield { labels: { ...apiLabels(c, a.name), error: kafkaErrorName(code) }, value: count }
    },
  )
  new SampledCounter(
    registry,
    n('response_expected_errors_total'),
    'Error codes that are steps of the protocol flow in their answer, not client errors (MEMBER_ID_REQUIRED to a ' +
      'first JoinGroup, REBALANCE_IN_PROGRESS, a coordinator or leader moving, topic auto-creation)',
    [...API, 'error'],
    function* () {
      for (const { c, a } of perApi((_c, a) => (a.expectedErrors.size > 0 ? a : undefined)))
        for (const [code, count] of a.expectedErrors)
          yield { labels: { ...apiLabels(c, a.name), error: kafkaErrorName(code) }, value: count }
    },
  )
  new SampledCounter(
    registry,
    n('throttle_seconds_total'),
    'Broker throttle time (throttle_time_ms, KIP-219) reported to the client, per API',
    API,
    function* () {
      for (const { c, a } of perApi((_c, a) => (a.throttleMs > 0 ? a : undefined)))
        yield { labels: apiLabels(c, a.name), value: a.throttleMs / 1000 }
    },
  )
  new SampledCounter(
    registry,
    n('rate_limited_seconds_total'),
    "Time the sidecar's rate limits held the client back (connection not read, responses held), per API of the " +
      'request (or Fetch response) that went over a budget',
    API,
    function* () {
      for (const { c, a } of perApi((_c, a) => (a.throttledRequests > 0 ? a : undefined)))
        yield { labels: apiLabels(c, a.name), value: a.sidecarThrottleMs / 1000 }
    },
  )
  new SampledCounter(
    registry,
    n('rate_limited_requests_total'),
    'Requests (or Fetch responses) that went over a rate-limit budget and made the client wait',
    API,
    function* () {
      for (const { c, a } of perApi((_c, a) => (a.throttledRequests > 0 ? a : undefined)))
        yield { labels: apiLabels(c, a.name), value: a.throttledRequests }
    },
  )
  new SampledCounter(
    registry,
    n('rate_limited_bytes_total'),
    'Bytes of the requests (or Fetch responses) that went over a rate-limit budget',
    API,
    function* () {
      for (const { c, a } of perApi((_c, a) => (a.throttledRequests > 0 ? a : undefined)))
        yield { labels: apiLabels(c, a.name), value: a.throttledBytes }
    },
  )
  new SampledCounter(
    registry,
    n('client_errors_total'),
    "The sidecar's own failures (KSC_ERR_*) on a client's connections",
    [...CLIENT, 'code'],
    function* () {
      for (const c of clients())
        for (const [code, count] of c.sidecarErrors) yield { labels: { ...clientLabels(c), code }, value: count }
    },
  )

  // -- per client and topic
  const TOPIC = [...CLIENT, 'topic']
  const flow = (
    name: string,
    help: string,
    pick: (c: ClientStats) => Map<string, { bytes: number; records: number }>,
  ) => {
    new SampledCounter(registry, n(`${name}_bytes_total`), `${help}: record batch bytes`, TOPIC, function* () {
      for (const c of clients())
        for (const [topic, f] of pick(c)) yield { labels: { ...clientLabels(c), topic }, value: f.bytes }
    })
    new SampledCounter(registry, n(`${name}_records_total`), `${help}: records`, TOPIC, function* () {
      for (const c of clients())
        for (const [topic, f] of pick(c)) yield { labels: { ...clientLabels(c), topic }, value: f.records }
    })
  }
  flow('produce', 'Produced per client and topic', (c) => c.produce)
  flow('fetch', 'Fetched per client and topic', (c) => c.fetch)

  // -- consumer groups and lag
  new SampledGauge(
    registry,
    n('group_members'),
    'Live consumer group members per client and group',
    [...CLIENT, 'group'],
    function* () {
      const membership = stats.consumerGroups.membershipByClient()
      for (const c of clients())
        for (const [group, count] of membership.get(c.key) ?? [])
          yield { labels: { ...clientLabels(c), group }, value: count }
    },
  )
  new SampledGauge(
    registry,
    n('consumer_lag_records'),
    'Log end offset minus committed offset, per group and partition (only where both passed through the sidecar)',
    ['group', 'topic', 'partition'],
    function* () {
      for (const l of stats.consumerGroups.lags()) {
        if (l.lag === null) continue
        yield { labels: { group: l.group, topic: l.topic, partition: String(l.partition) }, value: l.lag }
      }
    },
  )
  new SampledGauge(
    registry,
    n('client_consumer_lag_records'),
    'Lag of the partitions each client committed last',
    CLIENT,
    function* () {
      const lag = stats.consumerGroups.lagByClient()
      for (const c of clients()) {
        const v = lag.get(c.key)
        if (v !== undefined) yield { labels: clientLabels(c), value: v }
      }
    },
  )

  // -- cardinality control
  new SampledCounter(
    registry,
    n('client_ids_folded_total'),
    'Distinct (client id, principal) pairs folded into client_id="other" (stats.maxClientIds reached)',
    [],
    function* () {
      yield { labels: {}, value: stats.clientCap.folded }
    },
  )
  new SampledGauge(registry, n('client_ids_tracked'), 'Client ids with a label set of their own', [], function* () {
    yield { labels: {}, value: stats.clientCap.size }
  })
  new SampledCounter(
    registry,
    n('topics_folded_total'),
    'Distinct topics folded into topic="other" (stats.maxTopics reached)',
    [],
    function* () {
      yield { labels: {}, value: stats.topicCap.folded }
    },
  )
  new SampledCounter(
    registry,
    n('groups_folded_total'),
    'Distinct consumer groups not tracked (stats.maxGroups reached)',
    [],
    function* () {
      yield { labels: {}, value: stats.groupCap.folded }
    },
  )

  // -- process
  new SampledGauge(registry, n('connections_open'), 'Open client connections', [], function* () {
    yield { labels: {}, value: stats.connectionsOpen }
  })
  new SampledCounter(registry, n('connections_total'), 'Client connections accepted', [], function* () {
    yield { labels: {}, value: stats.connectionsTotal }
  })
  new SampledCounter(registry, n('errors_total'), 'Failures by stable code (KSC_ERR_*)', ['code'], function* () {
    for (const [code, count] of stats.errors) yield { labels: { code }, value: count }
  })
  new SampledCounter(registry, n('decode_failures_total'), 'Frames the codec could not decode', [], function* () {
    yield { labels: {}, value: stats.decodeFailures }
  })
  new SampledCounter(
    registry,
    n('frames_passed_through_total'),
    'Frames forwarded as the original bytes, never decoded (no filter wanted them)',
    ['direction'],
    function* () {
      yield { labels: { direction: 'request' }, value: stats.passedThroughRequests }
      yield { labels: { direction: 'response' }, value: stats.passedThroughResponses }
    },
  )
  new SampledCounter(
    registry,
    n('stats_filter_failures_total'),
    'Messages the statistics filter could not read (forwarded regardless)',
    [],
    function* () {
      yield { labels: {}, value: stats.statsFilterFailures }
    },
  )
  // kafka_sidecar_process_resident_memory_bytes, kafka_sidecar_nodejs_eventloop_lag_p99_seconds, ...
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX })
  dropTotalSuffixFromGauges(registry)
  return registry
}

/**
 * prom-client's default collectors name three gauges `..._total` (nodejs_active_handles_total,
 * nodejs_active_requests_total, nodejs_active_resources_total), and Prometheus keeps that suffix for counters:
 * "an accumulating count has total as a suffix" (https://prometheus.io/docs/practices/naming/), which
 * `promtool check metrics` enforces ("non-counter metrics should not have "_total" suffix"). Each of those is the sum
 * of a gauge by type that is exported beside it (nodejs_active_handles{type}, ...), so it is dropped: the sum over
 * `type` gives the same figure. A gauge named so without such a twin would keep its figure under the bare name.
 */
export function dropTotalSuffixFromGauges(registry: Registry): void {
  for (const metric of registry.getMetricsAsArray()) {
    if (!(metric instanceof Gauge) || !metric.name.endsWith('_total')) continue
    const name = metric.name.slice(0, -'_total'.length)
    registry.removeSingleMetric(metric.name)
    if (registry.getSingleMetric(name) === undefined) new RenamedGauge(registry, name, metric)
  }
}

/** A gauge exported under another name, its values read from the original at scrape time. */
class RenamedGauge extends Gauge<string> {
  constructor(
    registry: Registry,
    private readonly exportedName: string,
    private readonly source: Gauge<string>,
  ) {
    super({ name: exportedName, help: (source as unknown as { help: string }).help, registers: [registry] })
  }

  override async get() {
    return { ...(await this.source.get()), name: this.exportedName }
  }
}
