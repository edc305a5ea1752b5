import { describe, expect, it } from 'vitest'
import {
  DEFAULT_MAX_THROTTLE_MS,
  parseRateLimitConfig,
  RateLimitConfigError,
} from '../../../filters/rate-limit/config.js'
import { rateLimitPlugin } from '../../../filters/rate-limit/index.js'
import { ApiKey } from '../../../src/pipeline/filter-api.js'

function refused(raw: unknown): string {
  try {
    parseRateLimitConfig(raw)
  } catch (err) {
    expect(err).toBeInstanceOf(RateLimitConfigError)
    expect((err as RateLimitConfigError).code).toBe('KSC_ERR_CONFIG_FILTER')
    return (err as Error).message
  }
  throw new Error('the config was accepted')
}

describe('rate-limit config', () => {
  it('parses rules, defaults and the budget scope each match implies', () => {
    const c = parseRateLimitConfig({
      rules: [
        { match: { clientId: 'orders' }, limits: { produceBytesPerSecond: 1048576 } },
        { match: { clientId: { regex: '^batch-' } }, limits: { requestsPerSecond: 50 }, burstSeconds: 0.5 },
        { match: { principal: 'CN=reporting' }, limits: { fetchBytesPerSecond: 100, maxConnections: 4 } },
        { match: { principal: { exact: 'a' }, clientId: 'b' }, limits: { connectionsPerSecond: 2 } },
        {
          match: 'default',
          per: 'clientId',
          limits: { apiRequestsPerSecond: { Metadata: 5, CreateTopics: 1 }, controllerMutationsPerSecond: 2 },
        },
      ],
    })
    expect(c.maxThrottleMs).toBe(DEFAULT_MAX_THROTTLE_MS)
    expect(c.throttleTimeInFetchResponses).toBe(false)
    expect(c.redis).toBeUndefined()
    expect(c.rules.map((r) => r.per)).toEqual(['clientId', 'clientId', 'principal', 'clientIdAndPrincipal', 'clientId'])
    expect(c.rules[0]!.burstSeconds).toBe(1)
    expect(c.rules[1]!.burstSeconds).toBe(0.5)
    expect(c.rules[1]!.match.clientId).toMatchObject({ kind: 'regex', source: '^batch-' })
    expect(c.rules[4]!.match).toEqual({})
    expect([...c.rules[4]!.limits.apiRequestsPerSecond!]).toEqual([
      [ApiKey.Metadata, 5],
      [ApiKey.CreateTopics, 1],
    ])
  })

  it('parses redis settings with their defaults', () => {
    const c = parseRateLimitConfig({
      rules: [],
      maxThrottleMs: 2000,
      redis: { url: 'redis://:secret@127.0.0.1:6379/0' },
    })
    expect(c.maxThrottleMs).toBe(2000)
    expect(c.redis).toEqual({
      url: 'redis://:secret@127.0.0.1:6379/0',
      keyPrefix: 'kafka-sidecar:rate-limit:',
      fallback: 'local',
      leaseMs: 100,
      timeoutMs: 250,
    })
    expect(
      parseRateLimitConfig({ rules: [], redis: { url: 'rediss://r:6380', fallback: 'share' } }).redis?.fallback,
    ).toBe('share')
  })

  it('names the path, the value and what is expected for every mistake', () => {
    expect(refused(null)).toBe(
      'filters: rate-limit: config: expected a mapping with rules (and maxThrottleMs, redis), got null',
    )
    expect(refused({})).toBe('filters: rate-limit: rules: expected a list of rules, got nothing')
    expect(refused({ rules: [], burst: 1 })).toBe(
      'filters: rate-limit: burst: unknown key; known here: rules, maxThrottleMs, throttleTimeInFetchResponses, redis',
    )
    expect(refused({ rules: [{ match: 'default', limits: { produceBytesPerSecond: -1 } }] })).toBe(
      'filters: rate-limit: rules[0].limits.produceBytesPerSecond: expected a number above 0 (per second), got -1',
    )
    expect(refused({ rules: [{ match: 'default', limits: { producebytespersecond: 1 } }] })).toMatch(
      /^filters: rate-limit: rules\[0\]\.limits\.producebytespersecond: unknown key; known here: produceBytesPerSecond, /,
    )
    expect(refused({ rules: [{ match: 'default', limits: {} }] })).toMatch(
      /rules\[0\]\.limits: sets no limit; give at least one of /,
    )
    expect(refused({ rules: [{ match: {}, limits: { requestsPerSecond: 1 } }] })).toBe(
      'filters: rate-limit: rules[0].match: names neither clientId nor principal; write `match: default` for a rule that matches every client',
    )
    expect(refused({ rules: [{ match: { clientId: { regex: '(' } }, limits: { requestsPerSecond: 1 } }] })).toMatch(
      /^filters: rate-limit: rules\[0\]\.match\.clientId\.regex: not a valid regular expression: /,
    )
    expect(
      refused({ rules: [{ match: { clientId: { regex: 'a', exact: 'a' } }, limits: { requestsPerSecond: 1 } }] }),
    ).toBe('filters: rate-limit: rules[0].match.clientId: expected exactly one of exact and regex')
    expect(refused({ rules: [{ match: 'default', limits: { apiRequestsPerSecond: { Metdata: 1 } } }] })).toBe(
      "filters: rate-limit: rules[0].limits.apiRequestsPerSecond.Metdata: unknown API name; use Kafka's names, e.g. Produce, Fetch, Metadata, CreateTopics",
    )
    expect(refused({ rules: [{ match: 'default', limits: { maxConnections: 1.5 } }] })).toBe(
      'filters: rate-limit: rules[0].limits.maxConnections: expected a whole number of connections, at least 1, got 1.5',
    )
    expect(refused({ rules: [{ match: 'default', per: 'user', limits: { requestsPerSecond: 1 } }] })).toBe(
      'filters: rate-limit: rules[0].per: expected clientId, principal or clientIdAndPrincipal, got "user"',
    )
    expect(refused({ rules: [{ match: 'default', burstSeconds: 0, limits: { requestsPerSecond: 1 } }] })).toBe(
      'filters: rate-limit: rules[0].burstSeconds: expected a number of seconds above 0 and at most 3600, got 0',
    )
    expect(refused({ rules: [], throttleTimeInFetchResponses: 'yes' })).toBe(
      'filters: rate-limit: throttleTimeInFetchResponses: expected true or false, got "yes"',
    )
    expect(refused({ rules: [], maxThrottleMs: 60_000 })).toBe(
      'filters: rate-limit: maxThrottleMs: expected an integer from 1 to 20000 (clients time out requests held back longer), got 60000',
    )
    expect(refused({ rules: [], redis: { url: 'http://x:1' } })).toBe(
      'filters: rate-limit: redis.url: expected redis://host:port or rediss://host:port, got "http://x:1"',
    )
    expect(refused({ rules: [], redis: { url: 'redis://x:1', keyPrefix: '{a}' } })).toMatch(
      /^filters: rate-limit: redis\.keyPrefix: expected a string without \{ or \}/,
    )
    expect(refused({ rules: [], redis: { url: 'redis://x:1', fallback: 'none' } })).toBe(
      'filters: rate-limit: redis.fallback: expected local or share, got "none"',
    )
    expect(refused({ rules: [], redis: { url: 'redis://x:1', leaseMs: 1 } })).toBe(
      'filters: rate-limit: redis.leaseMs: expected an integer from 10 to 5000 (ms), got 1',
    )
  })

  it('is the check the plugin makes (run, validate-config and a hot reload use it)', () => {
    expect(() => rateLimitPlugin.parseConfig({ rules: 'all' })).toThrow(
      'filters: rate-limit: rules: expected a list of rules, got "all"',
    )
  })
})
