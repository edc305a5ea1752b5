import { Gauge, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../src/config/schema.js'
import { createMetricsRegistry, dropTotalSuffixFromGauges } from '../../src/stats/prometheus.js'
import { Statistics } from '../../src/stats/statistics.js'

/** Names and types from the # TYPE lines. */
function types(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!)
  return out
}

describe('metric names', () => {
  it('no gauge ends in _total; the active handles, requests and resources stay as gauges by type', async () => {
    const stats = new Statistics(DEFAULTS.stats)
    try {
      const exported = types(await createMetricsRegistry(stats).metrics())
      for (const [name, type] of exported) if (type !== 'counter') expect(name).not.toMatch(/_total$/)
      expect(exported.get('kafka_sidecar_nodejs_active_handles')).toBe('gauge')
      expect(exported.get('kafka_sidecar_nodejs_active_requests')).toBe('gauge')
      expect(exported.has('kafka_sidecar_nodejs_active_handles_total')).toBe(false)
      // Counters keep the suffix.
      expect(exported.get('kafka_sidecar_process_cpu_seconds_total')).toBe('counter')
    } finally {
      stats.close()
    }
  })

  it('a gauge named *_total without a by-type twin keeps its value under the bare name', async () => {
    const registry = new Registry()
    new Gauge({ name: 'x_open_total', help: 'lone', registers: [registry] }).set(7)
    new Gauge({ name: 'y', help: 'by type', labelNames: ['type'], registers: [registry] }).set({ type: 'a' }, 2)
    new Gauge({ name: 'y_total', help: 'sum of y', registers: [registry] }).set(2)
    dropTotalSuffixFromGauges(registry)
    const text = await registry.metrics()
    expect(text).toContain('# TYPE x_open gauge\nx_open 7')
    expect(text).not.toMatch(/_total/)
    expect(text).toContain('y{type="a"} 2')
  })
})
