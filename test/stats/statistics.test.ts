import { afterEach, describe, expect, it } from 'vitest'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { DEFAULTS } from '../../src/config/schema.js'
import type { StatsConfig } from '../../src/config/stats-section.js'
import type { ObservedConnection } from '../../src/pipeline/connection-observer.js'
import type { FilterContext } from '../../src/pipeline/filter-api.js'
import { LabelCap } from '../../src/stats/label-cap.js'
import { LatencyHistogram } from '../../src/stats/latency-histogram.js'
import { createMetricsRegistry } from '../../src/stats/prometheus.js'
import { Statistics } from '../../src/stats/statistics.js'
import { clientLabelSets, metricValue } from '../support/prometheus-text.js'

const config = (over: Partial<StatsConfig> = {}): StatsConfig => ({ ...DEFAULTS.stats, ...over })

let nextId = 1
function connection(clientId: string | null, principal?: string): ObservedConnection & FilterContext {
  return {
    connectionId: nextId++,
    peer: { address: '127.0.0.1', port: 40000 + nextId },
    listener: { kind: 'bootstrap', port: 9092 },
    principal,
    tls: principal !== undefined,
    clientId,
    clientSoftware: undefined,
    openedAt: Date.now(),
  } as unknown as ObservedConnection & FilterContext
}

const open: Statistics[] = []
function stats(over: Partial<StatsConfig> = {}): Statistics {
  const s = new Statistics(config(over))
  open.push(s)
  return s
}
afterEach(() => {
  for (const s of open.splice(0)) s.close()
})

describe('LabelCap', () => {
  it('admits the first N values, folds the rest (each counted once), frees slots on release', () => {
    const cap = new LabelCap(2)
    expect([cap.admit('a'), cap.admit('b'), cap.admit('c'), cap.admit('c'), cap.admit('a')]).toEqual([
      true,
      true,
      false,
      false,
      true,
    ])
    expect(cap.folded).toBe(1)
    cap.release('b')
    expect(cap.admit('c')).toBe(true)
  })
})

describe('LatencyHistogram', () => {
  it('buckets milliseconds by upper bound and estimates quantiles from them', () => {
    const h = new LatencyHistogram()
    for (let i = 0; i < 99; i++) h.observe(0.05)
    h.observe(30)
    expect(h.count).toBe(100)
    expect(h.quantileMs(0.5)).toBe(0.1)
    expect(h.quantileMs(0.995)).toBe(50)
    expect(h.meanMs()).toBeCloseTo((99 * 0.05 + 30) / 100)
  })
})

describe('Statistics', () => {
  it('counts connections, requests, bytes and latency per client, and moves a connection whose client id changes', () => {
    const s = stats()
    const a = connection('app')
    s.opened(a)
    s.identified(a)
    s.request(a, ApiKey.Produce, 9, 1000)
    s.response(a, ApiKey.Produce, 9, 60, 5, 4)
    s.request(a, ApiKey.Metadata, 12, 40)
    s.response(a, ApiKey.Metadata, 12, 400, 0.2, 0) // answered without the broker: no upstream sample
    const snap = s.snapshot()
    const app = snap.clients.find((c) => c.clientId === 'app')!
    expect(app).toMatchObject({ requests: 2, bytesIn: 1040, bytesOut: 460, connections: { open: 1, total: 1 } })
    expect(app.apis.Produce).toMatchObject({
      requests: 1,
      responses: 1,
      sidecarMs: { count: 1 },
      upstreamMs: { count: 1 },
    })
    expect(app.apis.Metadata!.upstreamMs.count).toBe(0)

    ;(a as { clientId: string | null }).clientId = 'renamed'
    s.identified(a)
    s.closed(a)
    const after = s.snapshot()
    expect(after.clients.find((c) => c.clientId === 'app')!.connections.open).toBe(0)
    expect(after.clients.find((c) => c.clientId === 'renamed')!.connections).toEqual({ open: 0, total: 1 })
    expect(after.process).toMatchObject({ connectionsOpen: 0, connectionsTotal: 1 })
  })

  it('1,000 client ids leave at most maxClientIds + 1 label sets in /metrics, and count the folded ones', async () => {
    const s = stats({ maxClientIds: 10 })
    const registry = createMetricsRegistry(s)
    for (let i = 0; i < 1000; i++) {
      const c = connection(`client-${i}`)
      s.opened(c)
      s.identified(c)
      s.request(c, ApiKey.Produce, 9, 100)
      s.response(c, ApiKey.Produce, 9, 50, 2, 1)
      s.produced(c, `topic-${i}`, 100, 1)
      s.kafkaError(c, ApiKey.Produce, 6)
      s.closed(c)
    }
    const text = await registry.metrics()
    expect(clientLabelSets(text).size).toBe(11)
    expect(metricValue(text, 'kafka_sidecar_client_ids_folded_total', {})).toBe(990)
    expect(metricValue(text, 'kafka_sidecar_requests_total', { client_id: 'other', api: 'Produce' })).toBe(990)
    // Topics are capped too (default 200).
    expect(metricValue(text, 'kafka_sidecar_topics_folded_total', {})).toBe(800)
    expect(s.snapshot().clients).toHaveLength(11)
  })

  it('forgets idle clients after clientExpiryMs, freeing their slot', () => {
    const s = stats({ maxClientIds: 1, clientExpiryMs: 1000 })
    const a = connection('a')
    s.opened(a)
    s.identified(a)
    s.closed(a)
    const b = connection('b')
    s.opened(b)
    s.identified(b)
    expect(
      s
        .snapshot()
        .clients.map((c) => c.clientId)
        .sort(),
    ).toEqual(['a', 'other'])
    s.closed(b)
    s.sweep(Date.now() + 2000)
    const c = connection('c')
    s.opened(c)
    s.identified(c)
    expect(
      s
        .snapshot()
        .clients.map((x) => x.clientId)
        .sort(),
    ).toEqual(['c', 'other'])
  })

  it('derives lag per group and partition, and attributes it to the client that committed', async () => {
    const s = stats()
    const consumer = connection('consumer-1')
    const producer = connection('producer-1')
    for (const c of [consumer, producer]) {
      s.opened(c)
      s.identified(c)
    }
    s.memberSeen(consumer, 'g', 'm-1', 10_000)
    s.committed(consumer, 'g', 't', 0, 30)
    s.committed(consumer, 'g', 't', 1, 12)
    s.logEndOffset('t', 0, 70) // a producer's Produce response
    s.logEndOffset('t', 0, 65) // an older Fetch high watermark: never moves it back
    const snap = s.snapshot()
    expect(snap.groups).toEqual([
      {
        group: 'g',
        members: [{ memberId: 'm-1', clientId: 'consumer-1', principal: null }],
        lag: 40,
        partitions: [
          expect.objectContaining({ topic: 't', partition: 0, committedOffset: 30, logEndOffset: 70, lag: 40 }),
          // Nothing passed that tells partition 1's log end: unknown, not 0.
          expect.objectContaining({ topic: 't', partition: 1, committedOffset: 12, logEndOffset: null, lag: null }),
        ],
      },
    ])
    expect(snap.clients.find((c) => c.clientId === 'consumer-1')).toMatchObject({ lag: 40, groups: ['g'] })
    expect(snap.clients.find((c) => c.clientId === 'producer-1')!.lag).toBeNull()
    const text = await createMetricsRegistry(s).metrics()
    expect(metricValue(text, 'kafka_sidecar_consumer_lag_records', { group: 'g', topic: 't', partition: '0' })).toBe(40)
    expect(metricValue(text, 'kafka_sidecar_group_members', { client_id: 'consumer-1', group: 'g' })).toBe(1)

    s.memberLeft('g', 'm-1')
    expect(s.snapshot().groups[0]!.members).toEqual([])
  })

  it('exposes histograms, client software, throttle and process figures in Prometheus text format', async () => {
    const s = stats()
    const c = connection('java-app', 'CN=app')
    ;(c as { clientSoftware: unknown }).clientSoftware = { name: 'apache-kafka-java', version: '4.1.0' }
    s.opened(c)
    s.identified(c)
    s.request(c, ApiKey.Fetch, 17, 100)
    s.response(c, ApiKey.Fetch, 17, 2000, 502, 500)
    s.throttled(c, ApiKey.Fetch, 250)
    s.error('KSC_ERR_CODEC_TRUNCATED', c)
    s.passedThrough(c, 'request')
    const text = await createMetricsRegistry(s).metrics()
    const labels = { client_id: 'java-app', principal: 'CN=app' }
    expect(
      metricValue(text, 'kafka_sidecar_client_info', {
        ...labels,
        software_name: 'apache-kafka-java',
        software_version: '4.1.0',
      }),
    ).toBe(1)
    expect(metricValue(text, 'kafka_sidecar_request_upstream_seconds_bucket', { ...labels, le: '0.25' })).toBe(0)
    expect(metricValue(text, 'kafka_sidecar_request_upstream_seconds_bucket', { ...labels, le: '0.5' })).toBe(1)
    expect(metricValue(text, 'kafka_sidecar_request_upstream_seconds_count', labels)).toBe(1)
    expect(metricValue(text, 'kafka_sidecar_request_sidecar_seconds_bucket', { ...labels, le: '0.0025' })).toBe(1)
    expect(metricValue(text, 'kafka_sidecar_throttle_seconds_total', { ...labels, api: 'Fetch' })).toBe(0.25)
    expect(metricValue(text, 'kafka_sidecar_decode_failures_total', {})).toBe(1)
    expect(metricValue(text, 'kafka_sidecar_frames_passed_through_total', { direction: 'request' })).toBe(1)
    expect(metricValue(text, 'kafka_sidecar_process_resident_memory_bytes', {})).toBeGreaterThan(0)
    expect(text).toContain('# TYPE kafka_sidecar_request_sidecar_seconds histogram')
    expect(text).toContain('# TYPE kafka_sidecar_requests_total counter')
  })
})
