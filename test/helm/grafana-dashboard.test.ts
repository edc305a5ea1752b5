import { readFileSync } from 'node:fs'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../src/config/schema.js'
import { StatsService } from '../../src/stats/index.js'

const DASHBOARD = new URL('../../helm/kafka-sidecar/dashboards/kafka-sidecar-dashboard.json', import.meta.url)

interface Panel {
  title: string
  type: string
  targets?: { expr: string }[]
}

describe('Grafana dashboard', () => {
  it('queries only metrics the sidecar exposes', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; uid: string }
    const service = new StatsService(DEFAULTS.stats, pino({ level: 'silent' }))
    try {
      const exposed = new Set<string>()
      for (const { name, type } of await service.registry.getMetricsAsJSON()) {
        exposed.add(name)
        if ((type as unknown as string) === 'histogram')
          for (const s of ['_bucket', '_sum', '_count']) exposed.add(name + s)
      }
      const queried = new Set<string>()
      for (const p of dashboard.panels)
        for (const t of p.targets ?? []) for (const m of t.expr.matchAll(/kafka_sidecar_[a-z0-9_]+/g)) queried.add(m[0])
      expect(queried.size).toBeGreaterThan(15)
      expect([...queried].filter((name) => !exposed.has(name))).toEqual([])
      // What the issue asks to see: bytes, requests by API, sidecar vs upstream p99, lag, throttle, folding, loop, RSS.
      const titles = dashboard.panels.map((p) => p.title).join('\n')
      for (const t of [
        'Bytes in',
        'Requests / s by API',
        'sidecar vs upstream',
        'lag',
        'Throttle',
        'folded',
        'Event-loop',
        'memory',
      ])
        expect(titles).toContain(t)
    } finally {
      await service.close()
    }
  })
})
