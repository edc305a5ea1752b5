import { Reader } from '../../../codec/primitives/reader.js'
import { createRateLimitPlugin, type RateLimitFilter, rateLimitPlugin } from '../../../filters/rate-limit/index.js'
import type { SharedStore } from '../../../filters/rate-limit/shared-budget.js'
import type { ConnectStore } from '../../../filters/rate-limit/state.js'
import type { ConnectionView, Filter, FrameFacts, StatisticsService } from '../../../src/pipeline/filter-api.js'
import {
  FakeClock,
  type FakeContext,
  FakeMetrics,
  fakeContext,
  RecordingStatistics,
  setupContext,
} from '../../support/filter-testing.js'

/** The statistics as the filter reports to them, with the optional sidecarThrottled recorded too. */
export class ThrottleStatistics extends RecordingStatistics implements StatisticsService {
  readonly sidecar: { conn: ConnectionView; apiKey: number; ms: number; bytes: number }[] = []
  sidecarThrottled(conn: ConnectionView, apiKey: number, ms: number, bytes: number): void {
    this.sidecar.push({ conn, apiKey, ms, bytes })
  }
}

export interface Limiter {
  readonly clock: FakeClock
  readonly metrics: FakeMetrics
  readonly statistics: ThrottleStatistics
  readonly logs: Record<string, unknown>[]
  configured: RateLimitFilter
  connect(clientId: string | null, principal?: string): { ctx: FakeContext; filter: Filter }
  /** A hot reload: the plugin configures the new config over the current one, and the old one is closed. */
  reload(config: unknown): Promise<void>
  /** `metrics.values` entry for a metric with these labels. */
  metric(name: string, labels?: Record<string, string>): number | undefined
}

export async function limiter(
  config: unknown,
  options: { connectStore?: ConnectStore; clock?: FakeClock } = {},
): Promise<Limiter> {
  const clock = options.clock ?? new FakeClock()
  const metrics = new FakeMetrics()
  const statistics = new ThrottleStatistics()
  const logs: Record<string, unknown>[] = []
  const { default: pino } = await import('pino')
  const log = pino(
    { level: 'debug' },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  )
  const setup = setupContext({ clock, metrics, statistics, log })
  const plugin =
    options.connectStore === undefined ? rateLimitPlugin : createRateLimitPlugin({ connectStore: options.connectStore })
  let nextId = 1
  const l: Limiter = {
    clock,
    metrics,
    statistics,
    logs,
    configured: (await plugin.configure(plugin.parseConfig(config), setup)) as RateLimitFilter,
    connect(clientId, principal) {
      const ctx = fakeContext({
        clock,
        clientId,
        connectionId: nextId++,
        ...(principal !== undefined && { principal }),
      })
      const filter = l.configured.forConnection(ctx)
      filter.onClientId?.(clientId, ctx)
      return { ctx, filter }
    },
    async reload(next) {
      const old = l.configured
      l.configured = (await plugin.configure(plugin.parseConfig(next), setup, old)) as RateLimitFilter
      await old.close()
    },
    metric(name, labels) {
      if (labels === undefined) return metrics.values.get(name)
      const parts = Object.keys(labels)
        .sort()
        .map((k) => `${k}="${labels[k]}"`)
      return metrics.values.get(`${name}{${parts.join(',')}}`)
    },
  }
  return l
}

let correlation = 1

/** A request's frame facts, as onRequestBytes gets them. */
export function facts(apiKey: number, apiVersion: number, size: number): FrameFacts {
  return { apiKey, apiVersion, correlationId: correlation++, size }
}

/** A reader over `n` body bytes, as needsResponse gets one. */
export function body(n: number): Reader {
  return new Reader(Buffer.alloc(n))
}

/**
 * Redis as the cluster-wide budgets see it, in memory and on the test's clock: the borrowing script's semantics
 * (refill by elapsed time, grant at most what the bucket holds, count who borrowed within 2 s), one store per
 * sidecar, and a switch that makes every command fail as an unreachable Redis does.
 */
export class FakeRedis {
  down = false
  readonly buckets = new Map<string, { tokens: number; ts: number }>()
  private readonly sharers = new Map<string, Map<string, number>>()
  readonly calls: { sidecar: string; key: string; ask: number }[] = []

  constructor(private readonly clock: FakeClock) {}

  connect(sidecar: string): ConnectStore {
    return async () => this.store(sidecar)
  }

  store(sidecar: string): SharedStore {
    const call = async <T>(fn: () => T): Promise<T> => {
      await Promise.resolve()
      if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379')
      return fn()
    }
    return {
      address: 'redis://fake:6379',
      borrow: (key, rate, burst, ask) =>
        call(() => {
          this.calls.push({ sidecar, key, ask })
          const b = this.refill(key, rate, burst)
          const who = this.sharers.get(key) ?? new Map<string, number>()
          this.sharers.set(key, who)
          who.set(sidecar, this.clock.now())
          for (const [id, at] of who) if (this.clock.now() - at > 2000) who.delete(id)
          const granted = b.tokens > 0 ? Math.min(ask, b.tokens / who.size) : 0
          b.tokens -= granted
          return { granted, sharers: who.size }
        }),
      giveBack: (key, rate, burst, amount) =>
        call(() => {
          const b = this.refill(key, rate, burst)
          b.tokens = Math.min(burst, b.tokens + amount)
        }),
      ping: () => call(() => undefined),
      close: async () => {},
    }
  }

  private refill(key: string, rate: number, burst: number): { tokens: number; ts: number } {
    const now = this.clock.now()
    let b = this.buckets.get(key)
    if (b === undefined) {
      b = { tokens: burst, ts: now }
      this.buckets.set(key, b)
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.ts) * rate) / 1000)
    b.ts = now
    return b
  }
}

/** Lets every pending promise (a store's answer, a judgement waiting for it) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}
