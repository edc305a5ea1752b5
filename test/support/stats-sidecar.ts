import pino from 'pino'
import { type RunningSidecar, startSidecarProcess } from '../../src/commands/run.js'
import { validateConfig } from '../../src/config/schema.js'
import type { StatsConfig } from '../../src/config/stats-section.js'
import type { StatsSnapshot } from '../../src/stats/snapshot.js'
import { strictLogSink } from './strict-log.js'
import { freePortBase } from './test-sidecar.js'

/**
 * The sidecar as `run` starts it (statistics, stats filter, audit log, admin endpoint with /metrics, /stats and
 * /readyz), in the test process, in front of a real cluster.
 */
export interface StatsSidecar {
  readonly running: RunningSidecar
  /** host:port clients are pointed at. */
  readonly bootstrap: string
  /** http://host:port of the admin endpoint. */
  readonly adminUrl: string
  readonly adminAddress: string
  stats(): Promise<StatsSnapshot>
  metrics(): Promise<string>
  /** Drains and closes the sidecar, then fails if any log line it wrote was not strict JSON (support/strict-log.ts). */
  stop(): Promise<void>
}

export async function startStatsSidecar(
  bootstrapServers: string,
  stats: Partial<Omit<StatsConfig, 'audit'>> & { audit?: Partial<StatsConfig['audit']> } = {},
  extra: Record<string, unknown> = {},
): Promise<StatsSidecar> {
  const base = await freePortBase(12)
  const result = validateConfig(
    {
      listen: { host: '127.0.0.1', port: base },
      brokers: { host: '127.0.0.1', advertisedHost: '127.0.0.1', portBase: base },
      upstream: { bootstrap: bootstrapServers.split(','), metadataRefreshMs: 5000, connectTimeoutMs: 3000 },
      admin: { host: '127.0.0.1', port: base + 11 },
      limits: { drainTimeoutMs: 2000 },
      stats,
      ...extra,
    },
    { requireUpstream: true },
  )
  if (!result.config) throw new Error(`stats sidecar config invalid: ${JSON.stringify(result.issues)}`)
  // Every line down to debug is read strictly; the lines are printed only when KSC_TEST_LOG_LEVEL asks for them.
  const shown = process.env.KSC_TEST_LOG_LEVEL
  const sink = strictLogSink({ keep: false, ...(shown === undefined ? {} : { echo: process.stdout }) })
  const log = pino({ level: shown ?? 'debug' }, sink.stream)
  const running = await startSidecarProcess({ env: {} }, log, result.config, false)
  const adminAddress = `127.0.0.1:${base + 11}`
  const adminUrl = `http://${adminAddress}`
  return {
    running,
    bootstrap: `127.0.0.1:${base}`,
    adminUrl,
    adminAddress,
    stats: async () => (await (await fetch(`${adminUrl}/stats`)).json()) as StatsSnapshot,
    metrics: async () => (await fetch(`${adminUrl}/metrics`)).text(),
    stop: async () => {
      await running.stop()
      sink.assertStrict(`the statistics sidecar on ${adminAddress}`)
    },
  }
}
