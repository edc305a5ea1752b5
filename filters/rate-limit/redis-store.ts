import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { RedisSettings } from './config.js'
import type { BorrowResult, SharedStore } from './shared-budget.js'

/**
 * The cluster-wide budgets' store in Redis, through ioredis (a maintained client with reconnection, TLS, and
 * EVALSHA with a fallback to EVAL that survives a Redis restart, which a small RESP client of our own would have
 * to grow). It is loaded on first use, so a sidecar without `redis:` never loads it.
 *
 * One Lua script does the borrowing, atomically in Redis: refill the bucket by the elapsed time on Redis' own clock
 * (TIME, so sidecars whose clocks differ agree), note which sidecar asked, and hand out up to the tokens asked for,
 * but no more than the bucket's share for one of the sidecars borrowing from it lately: whichever sidecar asks first
 * after a refill would otherwise take it all, tick after tick, and starve the others. Scripts may call TIME since
 * Redis 5 (effects replication, the default from then on; the only mode in Redis 7). Both keys of a budget carry the
 * same hash tag, so the script also runs on Redis Cluster.
 *
 * Commands are not queued while disconnected (enableOfflineQueue false) and time out after `timeoutMs`: a failure
 * reaches the caller at once and the sidecar falls back to local limits instead of waiting for Redis.
 */

const BORROW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local ask = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = tokens + (now - ts) * rate / 1000
  ts = now
end
if tokens > burst then tokens = burst end
if ask > 0 then redis.call('ZADD', KEYS[2], now, ARGV[4]) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[5]))
local sharers = redis.call('ZCARD', KEYS[2])
local granted = 0
if ask > 0 then
  if tokens > 0 then granted = math.min(ask, tokens / math.max(sharers, 1)) end
  tokens = tokens - granted
else
  tokens = math.min(burst, tokens - ask)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return {tostring(granted), sharers}
`

/** A sidecar counts as sharing a budget for this long after it last borrowed from it. */
const SHARERS_WINDOW_MS = 2000

interface BorrowingClient {
  kscBorrow(
    bucket: string,
    sharers: string,
    rate: number,
    burst: number,
    ask: number,
    sidecar: string,
    windowMs: number,
    ttlMs: number,
  ): Promise<[string, number]>
  ping(): Promise<string>
  quit(): Promise<string>
  disconnect(): void
  on(event: 'error', listener: (err: Error) => void): unknown
}

export class RedisStore implements SharedStore {
  readonly address: string
  /** This sidecar, among those sharing a budget. */
  private readonly id = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`

  private constructor(
    private readonly client: BorrowingClient,
    private readonly settings: RedisSettings,
  ) {
    this.address = redactedAddress(settings.url)
  }

  static async connect(settings: RedisSettings): Promise<RedisStore> {
    const { Redis } = await import('ioredis')
    const client = new Redis(settings.url, {
      enableOfflineQueue: false,
      commandTimeout: settings.timeoutMs,
      connectTimeout: Math.max(1000, settings.timeoutMs * 4),
      maxRetriesPerRequest: 0,
      // Reconnects for ever, backing off to 2 s: the sidecar runs on local limits meanwhile.
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      lazyConnect: false,
    })
    // Errors reach the callers of each command; without a listener ioredis would print every reconnect failure.
    client.on('error', () => {})
    client.defineCommand('kscBorrow', { numberOfKeys: 2, lua: BORROW })
    // Start-up (not the hot path) waits for the first connection, briefly, so that a reachable Redis is in use from
    // the first request; an unreachable one fails at once (connection refused) or after the wait, and the filter
    // starts on local limits.
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        client.off('ready', done)
        client.off('error', done)
        resolve()
      }
      const timer = setTimeout(done, Math.max(1000, settings.timeoutMs * 4))
      client.once('ready', done)
      client.once('error', done)
    })
    return new RedisStore(client as unknown as BorrowingClient, settings)
  }

  async borrow(key: string, rate: number, burst: number, ask: number): Promise<BorrowResult> {
    const [granted, sharers] = await this.call(key, rate, burst, ask)
    return { granted: Number(granted), sharers: Number(sharers) }
  }

  async giveBack(key: string, rate: number, burst: number, amount: number): Promise<void> {
    await this.call(key, rate, burst, -amount)
  }

  async ping(): Promise<void> {
    await this.client.ping()
  }

  async close(): Promise<void> {
    try {
      await this.client.quit()
    } catch {
      this.client.disconnect()
    }
  }

  private call(key: string, rate: number, burst: number, ask: number): Promise<[string, number]> {
    // Keys live as long as a bucket takes to refill, and at least a minute: an expired bucket is a full one.
    const ttlMs = Math.ceil(Math.max(60_000, (2 * burst * 1000) / rate))
    const tag = `${this.settings.keyPrefix}{${key}}`
    return this.client.kscBorrow(`${tag}:bucket`, `${tag}:sharers`, rate, burst, ask, this.id, SHARERS_WINDOW_MS, ttlMs)
  }
}

/** The URL without user or password, for log lines. */
export function redactedAddress(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`
  } catch {
    return '(invalid redis url)'
  }
}
