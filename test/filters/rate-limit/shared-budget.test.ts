import { describe, expect, it } from 'vitest'
import { ApiKey } from '../../../src/pipeline/filter-api.js'
import { FakeClock } from '../../support/filter-testing.js'
import { FakeRedis, facts, type Limiter, limiter, settle } from './support.js'

const RATE = 100_000

function config(fallback: 'local' | 'share' = 'local') {
  return {
    rules: [{ match: 'default', burstSeconds: 0.2, limits: { produceBytesPerSecond: RATE } }],
    redis: { url: 'redis://fake:6379', leaseMs: 100, fallback },
  }
}

/** A producer that sends `size` bytes whenever its connection is not muted, as a client behind the sidecar would. */
class Producer {
  sent = 0
  private readyAt = 0
  private mutes = 0
  private readonly conn: ReturnType<Limiter['connect']>

  constructor(
    l: Limiter,
    clientId: string,
    private readonly size: number,
  ) {
    this.conn = l.connect(clientId)
  }

  step(now: number): void {
    const { ctx } = this.conn
    for (; this.mutes < ctx.mutes.length; this.mutes++)
      this.readyAt = Math.max(this.readyAt, now + ctx.mutes[this.mutes]!)
    if (now < this.readyAt) return
    this.conn.filter.onRequestBytes!(facts(ApiKey.Produce, 9, this.size), ctx)
    this.sent += this.size
  }
}

/** Runs the producers for `ms` of the fake clock in 5 ms steps; returns the bytes each sent meanwhile. */
async function run(clock: FakeClock, producers: Producer[], ms: number): Promise<number[]> {
  const before = producers.map((p) => p.sent)
  for (let t = 0; t < ms; t += 5) {
    for (const p of producers) p.step(clock.monotonic())
    await settle()
    clock.advance(5)
    await settle()
  }
  return producers.map((p, i) => p.sent - before[i]!)
}

describe('cluster-wide budgets (the store faked in memory)', () => {
  it('two sidecars with one client id producing through both hold it to the one limit', async () => {
    const clock = new FakeClock()
    const redis = new FakeRedis(clock)
    const a = await limiter(config(), { clock, connectStore: redis.connect('sidecar-a') })
    const b = await limiter(config(), { clock, connectStore: redis.connect('sidecar-b') })
    await settle()
    const producers = [new Producer(a, 'orders', 5000), new Producer(b, 'orders', 5000)]
    const sent = await run(clock, producers, 10_000)
    const total = sent[0]! + sent[1]!
    // 10 s at 100 kB/s, plus the 20 kB burst the shared bucket starts with.
    expect(total / (RATE * 10)).toBeGreaterThan(0.9)
    expect(total / (RATE * 10)).toBeLessThan(1.1)
    // Both carried traffic: the budget is shared, not taken by one sidecar.
    expect(Math.min(...sent) / total).toBeGreaterThan(0.3)
    // Another client id through the same sidecars has a budget of its own.
    const other = await run(clock, [new Producer(a, 'billing', 5000)], 2000)
    expect(other[0]! / (RATE * 2)).toBeGreaterThan(0.9)
  })

  it('a budget borrows in the background: a client well within its limit is never held back', async () => {
    const clock = new FakeClock()
    const redis = new FakeRedis(clock)
    const l = await limiter(config(), { clock, connectStore: redis.connect('sidecar-a') })
    await settle()
    const p = new Producer(l, 'calm', 1000)
    // 1 kB every 20 ms: 50 kB/s, half the limit. The very first request finds an empty lease and is judged once
    // its slice is in.
    for (let t = 0; t < 3000; t += 20) {
      p.step(clock.monotonic())
      await settle()
      clock.advance(20)
      await settle()
    }
    expect(
      l.metric('throttled_requests_total', { client_id: 'calm', principal: '', limit: 'produceBytes' }),
    ).toBeUndefined()
    expect(redis.calls.length).toBeGreaterThan(1)
    expect(l.logs.some((line) => line.msg === 'rate-limit budgets are shared through Redis')).toBe(true)
  })

  it('a client pipelining requests while a slice is on the way is held back at once for what it cannot cover', async () => {
    const clock = new FakeClock()
    const redis = new FakeRedis(clock)
    const l = await limiter(config(), { clock, connectStore: redis.connect('sidecar-a') })
    await settle()
    const { ctx, filter } = l.connect('pipeliner')
    // Six 50 kB requests read in one go, before the store has answered anything (librdkafka, Java: several in flight).
    for (let i = 0; i < 6; i++) filter.onRequestBytes!(facts(ApiKey.Produce, 9, 50_000), ctx)
    // The first asked for 60 kB (its 50 kB and a 10 kB slice): everything past that is owed for certain.
    expect(ctx.mutes.length).toBeGreaterThan(0)
    expect(ctx.mutes.at(-1)).toBe(2400)
    await settle()
    // The store held its 20 kB burst: 280 kB owed in all, 2.8 s at 100 kB/s.
    expect(ctx.mutes.at(-1)).toBe(2800)
  })

  it('Redis away: local limits, one log line, the metric and readiness say so; Redis back: shared again', async () => {
    const clock = new FakeClock()
    const redis = new FakeRedis(clock)
    const a = await limiter(config('local'), { clock, connectStore: redis.connect('sidecar-a') })
    const b = await limiter(config('local'), { clock, connectStore: redis.connect('sidecar-b') })
    await settle()
    const producers = [new Producer(a, 'orders', 5000), new Producer(b, 'orders', 5000)]
    await run(clock, producers, 2000)
    expect(a.metric('redis_connected')).toBe(1)

    redis.down = true
    const alone = await run(clock, producers, 5000)
    // Each sidecar enforces the full limit by itself: about twice the limit in all, and traffic never stops.
    const rate = (alone[0]! + alone[1]!) / 5 / RATE
    expect(rate).toBeGreaterThan(1.6)
    expect(rate).toBeLessThan(2.4)
    for (const l of [a, b]) {
      expect(l.metric('redis_connected')).toBe(0)
      expect(l.metric('redis_fallbacks_total')).toBe(1)
      const lines = l.logs.filter((line) => String(line.msg).startsWith('Redis does not answer'))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatchObject({ level: 40, redis: 'redis://fake:6379', fallback: 'local' })
      expect(l.configured.health().detail).toMatch(
        /^Redis at redis:\/\/fake:6379 does not answer since .* \(connect ECONNREFUSED 127\.0\.0\.1:6379\); limits are enforced by this sidecar alone \(fallback: local\)$/,
      )
    }

    redis.down = false
    await run(clock, producers, 1000)
    const shared = await run(clock, producers, 5000)
    const back = (shared[0]! + shared[1]!) / 5 / RATE
    expect(back).toBeGreaterThan(0.85)
    expect(back).toBeLessThan(1.15)
    for (const l of [a, b]) {
      expect(l.metric('redis_connected')).toBe(1)
      expect(l.logs.filter((line) => String(line.msg).startsWith('Redis answers again'))).toHaveLength(1)
      expect(l.configured.health()).toEqual({ ready: true })
    }
  })

  it('fallback: share enforces the last known share of the limit in each sidecar', async () => {
    const clock = new FakeClock()
    const redis = new FakeRedis(clock)
    const a = await limiter(config('share'), { clock, connectStore: redis.connect('sidecar-a') })
    const b = await limiter(config('share'), { clock, connectStore: redis.connect('sidecar-b') })
    await settle()
    const producers = [new Producer(a, 'orders', 5000), new Producer(b, 'orders', 5000)]
    await run(clock, producers, 2000)
    redis.down = true
    const alone = await run(clock, producers, 5000)
    const rate = (alone[0]! + alone[1]!) / 5 / RATE
    expect(rate).toBeGreaterThan(0.85)
    expect(rate).toBeLessThan(1.15)
  })

  it('starts on local limits while Redis is not reachable at all, and says so once', async () => {
    const clock = new FakeClock()
    const redis = new FakeRedis(clock)
    redis.down = true
    const l = await limiter(config(), { clock, connectStore: redis.connect('sidecar-a') })
    await settle()
    const sent = await run(clock, [new Producer(l, 'orders', 5000)], 5000)
    expect(sent[0]! / (RATE * 5)).toBeGreaterThan(0.9)
    expect(sent[0]! / (RATE * 5)).toBeLessThan(1.1)
    expect(l.logs.filter((line) => String(line.msg).startsWith('Redis does not answer'))).toHaveLength(1)
  })
})
