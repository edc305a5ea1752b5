import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseRateLimitConfig } from '../../../filters/rate-limit/config.js'
import { RedisStore, redactedAddress } from '../../../filters/rate-limit/redis-store.js'
import { type RedisServer, startRedisServer } from '../../harness/redis-server.js'
import { waitFor } from '../../harness/wait-for.js'

/** The borrowing script against a real redis-server (Debian's, as CI installs it), started for this file. */
describe('RedisStore', () => {
  let server: RedisServer
  let admin: Redis
  const settings = (prefix: string) =>
    parseRateLimitConfig({ rules: [], redis: { url: server.url, keyPrefix: prefix, timeoutMs: 500 } }).redis!

  beforeAll(async () => {
    server = await startRedisServer()
    admin = new Redis(server.url)
  })
  afterAll(async () => {
    admin?.disconnect()
    await server?.stop()
  })

  it('a bucket starts full at its burst and grants no more than it holds', async () => {
    const store = await RedisStore.connect(settings('t1:'))
    try {
      await store.ping()
      const first = await store.borrow('produceBytes|a', 1000, 500, 400)
      expect(first).toEqual({ granted: 400, sharers: 1 })
      const second = await store.borrow('produceBytes|a', 1000, 500, 400)
      // About 100 left, plus what refilled since (1 per ms).
      expect(second.granted).toBeGreaterThanOrEqual(100)
      expect(second.granted).toBeLessThan(200)
      // Both keys carry one hash tag (Redis Cluster runs the script on one slot) and expire once full again.
      const keys = (await admin.keys('t1:*')).sort()
      expect(keys).toEqual(['t1:{produceBytes|a}:bucket', 't1:{produceBytes|a}:sharers'])
      const ttl = await admin.pttl('t1:{produceBytes|a}:bucket')
      expect(ttl).toBeGreaterThan(50_000)
      expect(ttl).toBeLessThanOrEqual(60_000)
    } finally {
      await store.close()
    }
  })

  it('counts the sidecars sharing a bucket and gives each asker at most its share of what it holds', async () => {
    const a = await RedisStore.connect(settings('t2:'))
    const b = await RedisStore.connect(settings('t2:'))
    try {
      expect((await a.borrow('k', 1, 1000, 1)).sharers).toBe(1)
      const fromB = await b.borrow('k', 1, 1000, 10_000)
      expect(fromB.sharers).toBe(2)
      // 999 held, two sharers: half of it.
      expect(fromB.granted).toBeCloseTo(999 / 2, 0)
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('takes tokens given back, up to the burst', async () => {
    const store = await RedisStore.connect(settings('t3:'))
    try {
      await store.borrow('k', 0.001, 100, 100)
      await store.giveBack('k', 0.001, 100, 60)
      expect(Number(await admin.hget('t3:{k}:bucket', 'tokens'))).toBeCloseTo(60, 0)
      await store.giveBack('k', 0.001, 100, 500)
      expect(Number(await admin.hget('t3:{k}:bucket', 'tokens'))).toBe(100)
    } finally {
      await store.close()
    }
  })

  it('fails at once while Redis is down (no queueing) and answers again once it is back', async () => {
    const own = await startRedisServer()
    const store = await RedisStore.connect({ ...settings('t4:'), url: own.url })
    try {
      await store.ping()
      await own.kill()
      const started = Date.now()
      await expect(store.borrow('k', 1, 1, 1)).rejects.toThrow()
      expect(Date.now() - started).toBeLessThan(1000)
      await own.restart()
      await waitFor('the store to answer again', () => store.ping().then(() => true), {
        timeoutMs: 10_000,
        intervalMs: 100,
      })
      // A restarted Redis is empty: buckets start full again.
      expect((await store.borrow('k', 1, 5, 5)).granted).toBe(5)
    } finally {
      await store.close()
      await own.stop()
    }
  })

  it('names Redis without credentials in log lines', () => {
    expect(redactedAddress('redis://user:secret@10.0.0.1:6379/2')).toBe('redis://10.0.0.1:6379/2')
    expect(redactedAddress('rediss://:pw@r.example:6380')).toBe('rediss://r.example:6380')
  })
})
