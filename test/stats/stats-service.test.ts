import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { AdminServer } from '../../src/admin/admin-server.js'
import { DEFAULTS, type SidecarConfig } from '../../src/config/schema.js'
import type { StatsConfig } from '../../src/config/stats-section.js'
import { BUILT_IN_FILTERS } from '../../src/filter-plugins.js'
import type { ObservedConnection } from '../../src/pipeline/connection-observer.js'
import type { ConfiguredFilter, DecodedRequest, FilterContext } from '../../src/pipeline/filter-api.js'
import { StatsService } from '../../src/stats/index.js'
import type { StatsSnapshot } from '../../src/stats/snapshot.js'
import { setupContext } from '../support/filter-testing.js'
import { metricValue } from '../support/prometheus-text.js'

const log = pino({ level: 'silent' })
const sidecarConfig = (stats: StatsConfig) => ({ stats }) as unknown as SidecarConfig
const conn = {
  connectionId: 1,
  peer: { address: '127.0.0.1', port: 1234 },
  listener: { kind: 'bootstrap', port: 9092 },
  principal: undefined,
  tls: false,
  clientId: 'admin-tool',
  clientSoftware: undefined,
  openedAt: Date.now(),
} as unknown as ObservedConnection & FilterContext

Object.assign(conn, { connection: conn })

/** The built-in stats filter as the sidecar configures it for `config`, reporting to `service`. */
async function statsFilterFor(service: StatsService, config: SidecarConfig): Promise<ConfiguredFilter | undefined> {
  const stats = BUILT_IN_FILTERS.find((b) => b.plugin.name === 'stats')!
  const installed = stats.install(config)
  if (installed === null) return undefined
  return stats.plugin.configure(
    installed.config,
    setupContext({ statistics: service.statistics, audit: service.auditSink, log }),
  )
}

const createTopics = (name: string) =>
  ({
    apiKey: ApiKey.CreateTopics,
    apiVersion: 5,
    header: {},
    body: {
      topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
      validateOnly: false,
    },
  }) as unknown as DecodedRequest

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ksc-stats-service-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('StatsService', () => {
  it('has no filter when neither topics nor the audit log need one', async () => {
    const service = new StatsService({ ...DEFAULTS.stats, topics: false }, log)
    expect(await statsFilterFor(service, sidecarConfig({ ...DEFAULTS.stats, topics: false }))).toBeUndefined()
    expect((await statsFilterFor(service, sidecarConfig(DEFAULTS.stats)))?.name).toBe('stats')
    await service.close()
  })

  it('switches the audit file on reload; filters built before write to the new one; counters keep counting', async () => {
    const a = join(dir, 'a.jsonl')
    const b = join(dir, 'b.jsonl')
    const first: StatsConfig = { ...DEFAULTS.stats, audit: { enabled: true, file: a } }
    const service = new StatsService(first, log)
    const filter = (await statsFilterFor(service, sidecarConfig(first)))!.forConnection(conn)
    filter.onRequest!(createTopics('one'), conn)

    service.apply({ ...first, audit: { enabled: true, file: b }, maxClientIds: 3 })
    filter.onRequest!(createTopics('two'), conn)
    expect(service.statistics.clientCap.max).toBe(3)

    service.apply({ ...first, audit: { enabled: false, file: b } })
    filter.onRequest!(createTopics('three'), conn) // audit off: dropped silently
    const text = await service.registry.metrics()
    await service.close()

    const lines = async (f: string) =>
      (await readFile(f, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    expect((await lines(a)).map((l) => l.topics[0].topic)).toEqual(['one'])
    expect((await lines(b)).map((l) => l.topics[0].topic)).toEqual(['two'])
    expect(metricValue(text, 'kafka_sidecar_audit_lines_total', {})).toBe(2)
    expect((await lines(a))[0]).toMatchObject({ type: 'audit', api: 'CreateTopics', clientId: 'admin-tool' })
  })

  it('serves /metrics and /stats on the admin endpoint', async () => {
    const service = new StatsService(DEFAULTS.stats, log)
    const admin = new AdminServer(async () => ({ ready: true }), log)
    service.routes(admin)
    const { port } = await admin.listen({ host: '127.0.0.1', port: 0 })
    try {
      service.statistics.opened(conn)
      service.statistics.identified(conn)
      service.statistics.request(conn, ApiKey.Metadata, 12, 50)
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`)
      expect(metrics.headers.get('content-type')).toContain('text/plain')
      expect(metricValue(await metrics.text(), 'kafka_sidecar_requests_total', { client_id: 'admin-tool' })).toBe(1)
      const stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as StatsSnapshot
      expect(stats.version).toBe(1)
      expect(stats.clients.map((c) => c.clientId)).toEqual(['admin-tool'])
    } finally {
      await admin.close()
      await service.close()
    }
  })
})
