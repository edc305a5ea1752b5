import { describe, expect, it } from 'vitest'
import { answersPing, startRedisServer } from './redis-server.js'
import { isProcessAlive } from './watchdog.js'

describe('startRedisServer', () => {
  it('runs redis-server on a free loopback port, kills it, restarts it on the same port empty, stops it', async () => {
    const redis = await startRedisServer()
    try {
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`)
      expect(await answersPing(redis.port)).toBe(true)
      const first = redis.pid
      await redis.kill()
      expect(isProcessAlive(first)).toBe(false)
      expect(await answersPing(redis.port)).toBe(false)
      await redis.restart()
      expect(redis.pid).not.toBe(first)
      expect(await answersPing(redis.port)).toBe(true)
    } finally {
      await redis.stop()
    }
    expect(await answersPing(redis.port)).toBe(false)
  })
})
