import { Kafka, logLevel, type Producer } from 'kafkajs'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { createTopic, getCluster, runKcat, uniqueTopicName, waitFor } from '../harness/index.js'
import { startRedisServer } from '../harness/redis-server.js'
import { type ChildSidecar, metricValue, startChildSidecar } from '../support/child-sidecar.js'

/**
 * Cluster-wide budgets: two sidecar processes in front of the same broker share one client id's budget through a
 * real Redis (Debian's redis-server: the run's shared one, and one of its own for the test that kills it). One
 * client id producing through both is held to the one limit within 15%; with Redis killed mid-run traffic goes on
 * under each sidecar's local limit with no client error, the metric and one log line say so; with Redis back the
 * budget is shared again. Windows are a few seconds each (two shared cores), rates measured by both sidecars.
 */

const MiB = 1_048_576
const LIMIT = MiB
const RECORD = 1024

function sidecarConfig(redisUrl: string): Record<string, unknown> {
  return {
    filters: [
      {
        name: 'rate-limit',
        config: {
          rules: [{ match: { clientId: 'fleet' }, burstSeconds: 0.2, limits: { produceBytesPerSecond: LIMIT } }],
          redis: { url: redisUrl, leaseMs: 100, timeoutMs: 500, fallback: 'local' },
        },
      },
    ],
  }
}

/** Produce bytes the client id sent through each sidecar so far (their own /metrics). */
async function producedThrough(sidecars: readonly ChildSidecar[], clientId: string): Promise<number[]> {
  return Promise.all(
    sidecars.map(async (sc) =>
      metricValue(
        await sc.metrics(),
        'kafka_sidecar_request_bytes_total',
        `client_id="${clientId}",principal="",api="Produce"`,
      ),
    ),
  )
}

/** The rate (bytes/s) over `ms` from now through each sidecar, as the sidecars counted it, and their sum. */
async function rateOver(
  sidecars: readonly ChildSidecar[],
  clientId: string,
  ms: number,
): Promise<{ each: number[]; total: number }> {
  const before = await producedThrough(sidecars, clientId)
  const started = performance.now()
  await new Promise((r) => setTimeout(r, ms))
  const after = await producedThrough(sidecars, clientId)
  const seconds = (performance.now() - started) / 1000
  const each = after.map((b, i) => (b - before[i]!) / seconds)
  return { each, total: each.reduce((a, b) => a + b, 0) }
}

/** A kafkajs producer sending 16 KiB requests back to back until stopped; any error is kept, none is retried. */
class Flood {
  readonly errors: Error[] = []
  sent = 0
  private stopped = false
  private readonly done: Promise<void>

  constructor(
    private readonly producer: Producer,
    topic: string,
  ) {
    const messages = Array.from({ length: 16 }, () => ({ value: Buffer.alloc(RECORD, 'f') }))
    this.done = (async () => {
      while (!this.stopped) {
        try {
          await this.producer.send({ topic, acks: 1, messages })
          this.sent += messages.length * RECORD
        } catch (err) {
          this.errors.push(err as Error)
          return
        }
      }
    })()
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.done
    await this.producer.disconnect()
  }
}

async function flood(bootstrap: string, topic: string): Promise<Flood> {
  const producer = new Kafka({
    clientId: 'fleet',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).producer({ retry: { retries: 0 }, allowAutoTopicCreation: false })
  await producer.connect()
  return new Flood(producer, topic)
}

describe('rate-limit across sidecars through Redis', () => {
  const cluster = getCluster('single')
  const sidecars: ChildSidecar[] = []
  afterAll(async () => {
    await Promise.all(sidecars.map((s) => s.stop()))
  })

  async function pair(redisUrl: string): Promise<[ChildSidecar, ChildSidecar]> {
    const a = await startChildSidecar(cluster.bootstrapServers, sidecarConfig(redisUrl))
    sidecars.push(a)
    const b = await startChildSidecar(cluster.bootstrapServers, sidecarConfig(redisUrl))
    sidecars.push(b)
    return [a, b]
  }

  it('one client id producing through two sidecar processes is held to the one limit (kcat through each)', async () => {
    const redisUrl = inject('redisUrl')
    expect(redisUrl, 'the run starts a shared redis-server with the brokers').not.toBe('')
    const [a, b] = await pair(redisUrl)
    const topic = uniqueTopicName('rl-fleet')
    await createTopic(cluster.description, topic, { partitions: 2 })
    const input = `${'f'.repeat(RECORD - 1)}\n`.repeat(6 * 1024)
    const kcat = async (sc: ChildSidecar) => {
      const started = performance.now()
      const r = await runKcat(['-P', '-b', sc.bootstrap, '-t', topic, '-X', 'client.id=fleet', '-X', 'linger.ms=5'], {
        input,
        timeoutMs: 90_000,
      })
      return { ...r, seconds: (performance.now() - started) / 1000 }
    }
    const runs = await Promise.all([kcat(a), kcat(b)])
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).not.toMatch(/ERROR|fail/i)
    }
    const ratio = (2 * input.length) / Math.max(...runs.map((r) => r.seconds)) / LIMIT
    console.info(`rate-limit: one client id through two sidecars ${(ratio * 100).toFixed(1)}% of 1 MiB/s`)
    expect(ratio).toBeGreaterThan(0.85)
    expect(ratio).toBeLessThan(1.15)
    for (const sc of [a, b]) {
      const text = await sc.metrics()
      expect(metricValue(text, 'kafka_sidecar_filter_rate_limit_redis_connected')).toBe(1)
      expect(sc.logLines().some((l) => l.msg === 'rate-limit budgets are shared through Redis')).toBe(true)
    }
  })

  it('Redis killed mid-run: local limits, no client error, metric and one log line; Redis back: shared again', async () => {
    const redis = await startRedisServer()
    try {
      const [a, b] = await pair(redis.url)
      const topic = uniqueTopicName('rl-fleet-kill')
      await createTopic(cluster.description, topic, { partitions: 2 })
      const floods = [await flood(a.bootstrap, topic), await flood(b.bootstrap, topic)]
      try {
        await new Promise((r) => setTimeout(r, 1500))
        const shared = await rateOver([a, b], 'fleet', 4000)

        await redis.kill()
        for (const sc of [a, b]) {
          await waitFor(
            'the sidecar to fall back to local limits',
            async () => metricValue(await sc.metrics(), 'kafka_sidecar_filter_rate_limit_redis_connected') === 0,
            { timeoutMs: 10_000, intervalMs: 100 },
          )
        }
        await new Promise((r) => setTimeout(r, 1000))
        const alone = await rateOver([a, b], 'fleet', 5000)
        // Still ready (the limits hold without Redis), and /readyz says why the budgets are not shared.
        const readyz = await fetch(`${a.adminUrl}/readyz`)
        expect(readyz.status).toBe(200)
        const ready = (await readyz.json()) as { detail?: { name: string; ready: boolean; detail?: string }[] }
        expect(ready.detail).toEqual([
          {
            name: 'rate-limit',
            ready: true,
            detail: expect.stringMatching(
              /^Redis at redis:\/\/127\.0\.0\.1:\d+ does not answer since .*fallback: local\)$/,
            ),
          },
        ])

        await redis.restart()
        for (const sc of [a, b]) {
          await waitFor(
            'the sidecar to share budgets again',
            async () => metricValue(await sc.metrics(), 'kafka_sidecar_filter_rate_limit_redis_connected') === 1,
            { timeoutMs: 15_000, intervalMs: 100 },
          )
        }
        await new Promise((r) => setTimeout(r, 1500))
        const again = await rateOver([a, b], 'fleet', 4000)
        expect(((await (await fetch(`${a.adminUrl}/readyz`)).json()) as { detail?: unknown }).detail).toEqual([
          { name: 'rate-limit', ready: true },
        ])

        const x = (r: number) => (r / LIMIT).toFixed(2)
        console.info(
          `rate-limit: through two sidecars, Redis up ${x(shared.total)}, killed ${x(alone.total)} ` +
            `(${alone.each.map(x).join(' + ')}), restarted ${x(again.total)} x 1 MiB/s`,
        )
        expect(shared.total / LIMIT).toBeGreaterThan(0.85)
        expect(shared.total / LIMIT).toBeLessThan(1.15)
        // fallback: local: each sidecar enforces the whole limit by itself while Redis is away, and traffic goes on
        // well past the shared limit.
        for (const r of alone.each) expect(r / LIMIT).toBeLessThan(1.15)
        expect(alone.total / LIMIT).toBeGreaterThan(1.3)
        expect(again.total / LIMIT).toBeGreaterThan(0.85)
        expect(again.total / LIMIT).toBeLessThan(1.15)
      } finally {
        await Promise.all(floods.map((f) => f.stop()))
      }
      for (const f of floods) expect(f.errors).toEqual([])
      for (const sc of [a, b]) {
        const lines = sc.logLines()
        const down = lines.filter((l) => String(l.msg).startsWith('Redis does not answer'))
        expect(down).toHaveLength(1)
        expect(down[0]).toMatchObject({ level: 'warn', redis: redis.url, fallback: 'local' })
        expect(lines.filter((l) => String(l.msg).startsWith('Redis answers again'))).toHaveLength(1)
        const text = await sc.metrics()
        expect(metricValue(text, 'kafka_sidecar_filter_rate_limit_redis_fallbacks_total')).toBe(1)
        // No connection of the producers was lost: one bootstrap and one broker connection each.
        expect(metricValue(text, 'kafka_sidecar_client_connections_total', 'client_id="fleet"')).toBeLessThanOrEqual(2)
      }
    } finally {
      await redis.stop()
    }
  })
})
