import { afterEach, describe, expect, it } from 'vitest'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { DEFAULTS } from '../../src/config/schema.js'
import type { ObservedConnection } from '../../src/pipeline/connection-observer.js'
import type { FilterContext } from '../../src/pipeline/filter-api.js'
import { createMetricsRegistry } from '../../src/stats/prometheus.js'
import { Statistics } from '../../src/stats/statistics.js'
import { renderTop } from '../../src/stats/top-table.js'
import { metricValue } from '../support/prometheus-text.js'

/**
 * What the rate-limit filter reports through StatisticsService.sidecarThrottled: the sidecar's own throttling, apart
 * from the broker's throttle time, in /stats, /metrics and top's THROTTLED column.
 */
const open: Statistics[] = []
afterEach(() => {
  for (const s of open.splice(0)) s.close()
})

function setup() {
  const s = new Statistics({ ...DEFAULTS.stats })
  open.push(s)
  const conn = {
    connectionId: 1,
    peer: { address: '127.0.0.1', port: 40001 },
    listener: { kind: 'bootstrap', port: 9092 },
    principal: 'CN=orders',
    tls: true,
    clientId: 'orders',
    clientSoftware: undefined,
    openedAt: Date.now(),
  } as unknown as ObservedConnection & FilterContext
  s.opened(conn)
  s.identified(conn)
  return { s, conn }
}

describe('the sidecar throttling a client (rate-limit)', () => {
  it('is in /stats per API and per client, next to the broker throttle', () => {
    const { s, conn } = setup()
    s.throttled(conn, ApiKey.Produce, 40)
    s.sidecarThrottled(conn, ApiKey.Produce, 250, 16_384)
    s.sidecarThrottled(conn, ApiKey.Produce, 100, 1000)
    s.sidecarThrottled(conn, ApiKey.Fetch, 10, 2000)
    const c = s.snapshot().clients.find((x) => x.clientId === 'orders')!
    expect(c.throttleMs).toBe(40)
    expect(c.sidecarThrottleMs).toBe(360)
    expect(c.throttledRequests).toBe(3)
    expect(c.throttledBytes).toBe(19_384)
    expect(c.apis.Produce).toMatchObject({
      throttleMs: 40,
      sidecarThrottleMs: 350,
      throttledRequests: 2,
      throttledBytes: 17_384,
    })
    expect(c.apis.Fetch).toMatchObject({ sidecarThrottleMs: 10, throttledRequests: 1, throttledBytes: 2000 })
  })

  it('is in /metrics as kafka_sidecar_rate_limited_*, per client, principal and API', async () => {
    const { s, conn } = setup()
    s.sidecarThrottled(conn, ApiKey.Produce, 1500, 4096)
    const text = await createMetricsRegistry(s).metrics()
    const labels = { client_id: 'orders', principal: 'CN=orders', api: 'Produce' }
    expect(metricValue(text, 'kafka_sidecar_rate_limited_seconds_total', labels)).toBe(1.5)
    expect(metricValue(text, 'kafka_sidecar_rate_limited_requests_total', labels)).toBe(1)
    expect(metricValue(text, 'kafka_sidecar_rate_limited_bytes_total', labels)).toBe(4096)
  })

  it("is top's THROTTLED column: ms held back per second between two snapshots, the total with one", () => {
    const { s, conn } = setup()
    s.sidecarThrottled(conn, ApiKey.Produce, 200, 10)
    const t0 = Date.parse('2026-01-01T00:00:00Z')
    const first = s.snapshot(t0)
    s.sidecarThrottled(conn, ApiKey.Produce, 1600, 10)
    const second = s.snapshot(t0 + 2000)
    const options = { sort: 'bytes' as const, width: 200, height: 20, source: 'test' }
    const cell = (lines: string[]) => {
      const header = lines.find((l) => l.includes('THROTTLED'))!
      const row = lines.find((l) => l.startsWith('orders'))!
      const end = header.indexOf('THROTTLED') + 'THROTTLED'.length
      return row.slice(end - 9, end).trim()
    }
    expect(cell(renderTop(first, undefined, options))).toBe('200ms')
    expect(cell(renderTop(second, first, options))).toBe('800ms/s')
  })
})
