import { ApiKey } from '../../src/pipeline/filter-api.js'

/**
 * The rate-limit filter's configuration, as the `config` block of its `filters:` entry, and its validation. Every
 * error names the path of the bad key (`rules[1].limits.produceBytesPerSecond`), what it holds and what is expected,
 * so a bad file is rejected before anything changes, on start and on a hot reload alike.
 *
 *   rules:                                   first match wins; a client no rule matches is not limited
 *     - match: { clientId: orders }          exact, { regex: '^orders-' }, or principal: ... (mTLS), or both
 *       per: clientId                        whose budget: clientId | principal | clientIdAndPrincipal
 *       burstSeconds: 1                      tokens a budget holds when unused, in seconds of its rate
 *       limits: { produceBytesPerSecond, fetchBytesPerSecond, requestsPerSecond, apiRequestsPerSecond: { Metadata: 5 },
 *                 controllerMutationsPerSecond, maxConnections, connectionsPerSecond }
 *     - match: default
 *   maxThrottleMs: 5000                      the longest a client is held back for one request
 *   throttleTimeInFetchResponses: false      Fetch responses over budget carry the throttle (held whole, not streamed)
 *   redis: { url, keyPrefix, fallback: local | share, leaseMs, timeoutMs }   cluster-wide budgets
 */

export type StringMatcher =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'regex'; readonly source: string; readonly regex: RegExp }

export interface RuleMatch {
  readonly clientId?: StringMatcher
  readonly principal?: StringMatcher
}

/** Whose budget a rule's limits are: one per client id, one per principal (mTLS), or one per pair. */
export type BudgetScope = 'clientId' | 'principal' | 'clientIdAndPrincipal'

export interface Limits {
  /** Produce request bytes (frame sizes) per second. */
  readonly produceBytesPerSecond?: number
  /** Fetch response bytes (frame sizes) per second. */
  readonly fetchBytesPerSecond?: number
  /** Requests of every API per second (ApiVersions and the SASL exchange are not counted). */
  readonly requestsPerSecond?: number
  /** Requests per second of single APIs, by API key. */
  readonly apiRequestsPerSecond?: ReadonlyMap<number, number>
  /** Partitions created or deleted per second by CreateTopics, CreatePartitions and DeleteTopics (KIP-599). */
  readonly controllerMutationsPerSecond?: number
  /** Connections open at once (in this sidecar). */
  readonly maxConnections?: number
  /** New connections per second (in this sidecar). */
  readonly connectionsPerSecond?: number
}

export interface Rule {
  /** Position in `rules`, for log lines and the metric label `rule`. */
  readonly index: number
  readonly match: RuleMatch
  readonly per: BudgetScope
  readonly burstSeconds: number
  readonly limits: Limits
}

export interface RedisSettings {
  /** redis://[user:password@]host:port[/db], or rediss:// for TLS. */
  readonly url: string
  /** Prefix of every key the filter writes. */
  readonly keyPrefix: string
  /**
   * When Redis cannot be reached: `local` enforces each limit in full in every sidecar (a client in N pods may get
   * N times its limit for a while); `share` enforces limit / N, N being how many sidecars shared the budget when
   * Redis was last reached.
   */
  readonly fallback: 'local' | 'share'
  /** A slice borrowed from Redis covers this long at the full rate; also how often budgets in use ask for more. */
  readonly leaseMs: number
  /** A Redis command that takes longer fails, and the sidecar falls back to local limits until Redis answers. */
  readonly timeoutMs: number
}

export interface RateLimitConfig {
  readonly rules: readonly Rule[]
  readonly maxThrottleMs: number
  /**
   * Whether a Fetch response that overdraws its client's budget carries the throttle time itself (the client then
   * waits by itself too, and its fetch-throttle-time metric shows it). It costs holding every Fetch response of a
   * client with a fetch limit whole instead of streaming it through, because the runtime decides that per API, not
   * per response; off, the fetch budget holds clients back by not reading their connection, as it does librdkafka's.
   */
  readonly throttleTimeInFetchResponses: boolean
  readonly redis: RedisSettings | undefined
}

export const DEFAULT_BURST_SECONDS = 1
export const DEFAULT_MAX_THROTTLE_MS = 5000
/**
 * Above this a throttled client's requests would time out on their own: Java's request.timeout.ms is 30 s
 * (CommonClientConfigs), kafkajs' requestTimeout 30 s, and the sidecar's limits.requestAssemblyTimeoutMs (30 s by
 * default) closes a connection whose request stops arriving, which a mute in the middle of a large request can look like.
 */
export const MAX_THROTTLE_LIMIT_MS = 20_000
const REDIS_DEFAULTS = { keyPrefix: 'kafka-sidecar:rate-limit:', fallback: 'local', leaseMs: 100, timeoutMs: 250 }

export class RateLimitConfigError extends Error {
  readonly code = 'KSC_ERR_CONFIG_FILTER'
  constructor(path: string, message: string) {
    super(`filters: rate-limit: ${path}: ${message}`)
  }
}

type Raw = Record<string, unknown>

const LIMIT_KEYS = [
  'produceBytesPerSecond',
  'fetchBytesPerSecond',
  'requestsPerSecond',
  'apiRequestsPerSecond',
  'controllerMutationsPerSecond',
  'maxConnections',
  'connectionsPerSecond',
] as const

const API_KEYS_BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(ApiKey))

export function parseRateLimitConfig(raw: unknown): RateLimitConfig {
  const top = mapping(raw, 'config', 'a mapping with rules (and maxThrottleMs, redis)')
  known(top, '', ['rules', 'maxThrottleMs', 'throttleTimeInFetchResponses', 'redis'])
  if (!Array.isArray(top.rules)) {
    throw new RateLimitConfigError('rules', `expected a list of rules, got ${show(top.rules)}`)
  }
  const rules = top.rules.map((r, i) => parseRule(r, i))
  const maxThrottleMs = top.maxThrottleMs === undefined ? DEFAULT_MAX_THROTTLE_MS : top.maxThrottleMs
  if (
    !Number.isInteger(maxThrottleMs) ||
    (maxThrottleMs as number) < 1 ||
    (maxThrottleMs as number) > MAX_THROTTLE_LIMIT_MS
  ) {
    throw new RateLimitConfigError(
      'maxThrottleMs',
      `expected an integer from 1 to ${MAX_THROTTLE_LIMIT_MS} (clients time out requests held back longer), got ${show(maxThrottleMs)}`,
    )
  }
  const fetchThrottle = top.throttleTimeInFetchResponses ?? false
  if (typeof fetchThrottle !== 'boolean') {
    throw new RateLimitConfigError('throttleTimeInFetchResponses', `expected true or false, got ${show(fetchThrottle)}`)
  }
  return {
    rules,
    maxThrottleMs: maxThrottleMs as number,
    throttleTimeInFetchResponses: fetchThrottle,
    redis: top.redis === undefined ? undefined : parseRedis(top.redis),
  }
}

function parseRule(raw: unknown, index: number): Rule {
  const at = `rules[${index}]`
  const r = mapping(raw, at, 'a mapping with match and limits')
  known(r, at, ['match', 'per', 'burstSeconds', 'limits'])
  const match = parseMatch(r.match, `${at}.match`)
  const per = r.per === undefined ? defaultScope(match) : r.per
  if (per !== 'clientId' && per !== 'principal' && per !== 'clientIdAndPrincipal') {
    throw new RateLimitConfigError(
      `${at}.per`,
      `expected clientId, principal or clientIdAndPrincipal, got ${show(per)}`,
    )
  }
  const burstSeconds = r.burstSeconds === undefined ? DEFAULT_BURST_SECONDS : r.burstSeconds
  if (typeof burstSeconds !== 'number' || !(burstSeconds > 0) || burstSeconds > 3600) {
    throw new RateLimitConfigError(
      `${at}.burstSeconds`,
      `expected a number of seconds above 0 and at most 3600, got ${show(burstSeconds)}`,
    )
  }
  const limits = parseLimits(r.limits, `${at}.limits`)
  return { index, match, per, burstSeconds, limits }
}

/** A rule on client ids budgets per client id, one on principals per principal, the default rule per pair. */
function defaultScope(match: RuleMatch): BudgetScope {
  if (match.clientId !== undefined && match.principal === undefined) return 'clientId'
  if (match.principal !== undefined && match.clientId === undefined) return 'principal'
  return 'clientIdAndPrincipal'
}

function parseMatch(raw: unknown, at: string): RuleMatch {
  if (raw === 'default') return {}
  const m = mapping(raw, at, '"default", or a mapping with clientId and/or principal')
  known(m, at, ['clientId', 'principal'])
  const out: { clientId?: StringMatcher; principal?: StringMatcher } = {}
  if (m.clientId !== undefined) out.clientId = parseMatcher(m.clientId, `${at}.clientId`)
  if (m.principal !== undefined) out.principal = parseMatcher(m.principal, `${at}.principal`)
  if (out.clientId === undefined && out.principal === undefined) {
    throw new RateLimitConfigError(
      at,
      'names neither clientId nor principal; write `match: default` for a rule that matches every client',
    )
  }
  return out
}

function parseMatcher(raw: unknown, at: string): StringMatcher {
  if (typeof raw === 'string') return { kind: 'exact', value: raw }
  const m = mapping(raw, at, 'a string (exact match), or { exact: ... } or { regex: ... }')
  known(m, at, ['exact', 'regex'])
  if ((m.exact === undefined) === (m.regex === undefined)) {
    throw new RateLimitConfigError(at, 'expected exactly one of exact and regex')
  }
  if (m.exact !== undefined) {
    if (typeof m.exact !== 'string')
      throw new RateLimitConfigError(`${at}.exact`, `expected a string, got ${show(m.exact)}`)
    return { kind: 'exact', value: m.exact }
  }
  if (typeof m.regex !== 'string')
    throw new RateLimitConfigError(`${at}.regex`, `expected a string, got ${show(m.regex)}`)
  try {
    return { kind: 'regex', source: m.regex, regex: new RegExp(m.regex, 'u') }
  } catch (err) {
    throw new RateLimitConfigError(`${at}.regex`, `not a valid regular expression: ${(err as Error).message}`)
  }
}

function parseLimits(raw: unknown, at: string): Limits {
  const l = mapping(raw, at, `a mapping with at least one of ${LIMIT_KEYS.join(', ')}`)
  known(l, at, LIMIT_KEYS)
  const out: Record<string, unknown> = {}
  for (const key of LIMIT_KEYS) {
    const v = l[key]
    if (v === undefined) continue
    if (key === 'apiRequestsPerSecond') {
      out[key] = parseApiRates(v, `${at}.${key}`)
    } else if (key === 'maxConnections') {
      if (!Number.isInteger(v) || (v as number) < 1) {
        throw new RateLimitConfigError(
          `${at}.${key}`,
          `expected a whole number of connections, at least 1, got ${show(v)}`,
        )
      }
      out[key] = v
    } else {
      out[key] = positiveRate(v, `${at}.${key}`)
    }
  }
  if (Object.keys(out).length === 0) {
    throw new RateLimitConfigError(at, `sets no limit; give at least one of ${LIMIT_KEYS.join(', ')}`)
  }
  return out as Limits
}

function parseApiRates(raw: unknown, at: string): ReadonlyMap<number, number> {
  const m = mapping(raw, at, 'a mapping of API names to requests per second, e.g. { Metadata: 5 }')
  const out = new Map<number, number>()
  for (const [name, rate] of Object.entries(m)) {
    const apiKey = API_KEYS_BY_NAME.get(name)
    if (apiKey === undefined) {
      throw new RateLimitConfigError(
        `${at}.${name}`,
        `unknown API name; use Kafka's names, e.g. Produce, Fetch, Metadata, CreateTopics`,
      )
    }
    out.set(apiKey, positiveRate(rate, `${at}.${name}`))
  }
  if (out.size === 0) throw new RateLimitConfigError(at, 'is empty; name at least one API')
  return out
}

function parseRedis(raw: unknown): RedisSettings {
  const at = 'redis'
  const r = mapping(raw, at, 'a mapping with url (and keyPrefix, fallback, leaseMs, timeoutMs)')
  known(r, at, ['url', 'keyPrefix', 'fallback', 'leaseMs', 'timeoutMs'])
  if (typeof r.url !== 'string' || !/^rediss?:\/\/[^/]/.test(r.url)) {
    throw new RateLimitConfigError(`${at}.url`, `expected redis://host:port or rediss://host:port, got ${show(r.url)}`)
  }
  try {
    new URL(r.url)
  } catch {
    throw new RateLimitConfigError(`${at}.url`, `not a valid URL: ${show(r.url)}`)
  }
  const keyPrefix = r.keyPrefix ?? REDIS_DEFAULTS.keyPrefix
  if (typeof keyPrefix !== 'string' || /[{}]/.test(keyPrefix)) {
    throw new RateLimitConfigError(
      `${at}.keyPrefix`,
      `expected a string without { or } (the filter puts a Redis Cluster hash tag after it), got ${show(keyPrefix)}`,
    )
  }
  const fallback = r.fallback ?? REDIS_DEFAULTS.fallback
  if (fallback !== 'local' && fallback !== 'share') {
    throw new RateLimitConfigError(`${at}.fallback`, `expected local or share, got ${show(fallback)}`)
  }
  const ms = (key: 'leaseMs' | 'timeoutMs', min: number, max: number): number => {
    const v = r[key] ?? REDIS_DEFAULTS[key]
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
      throw new RateLimitConfigError(`${at}.${key}`, `expected an integer from ${min} to ${max} (ms), got ${show(v)}`)
    }
    return v as number
  }
  return { url: r.url, keyPrefix, fallback, leaseMs: ms('leaseMs', 10, 5000), timeoutMs: ms('timeoutMs', 10, 10_000) }
}

function positiveRate(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new RateLimitConfigError(at, `expected a number above 0 (per second), got ${show(v)}`)
  }
  return v
}

function mapping(raw: unknown, at: string, expected: string): Raw {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new RateLimitConfigError(at, `expected ${expected}, got ${show(raw)}`)
  }
  return raw as Raw
}

function known(m: Raw, at: string, keys: readonly string[]): void {
  for (const key of Object.keys(m)) {
    if (!keys.includes(key)) {
      throw new RateLimitConfigError(at === '' ? key : `${at}.${key}`, `unknown key; known here: ${keys.join(', ')}`)
    }
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v instanceof RegExp) return String(v)
  const s = JSON.stringify(v)
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s
}

/** What a rule matches, for log lines: `clientId=orders principal~^CN=`. */
export function describeMatch(match: RuleMatch): string {
  const part = (name: string, m: StringMatcher | undefined) =>
    m === undefined ? [] : [m.kind === 'exact' ? `${name}=${m.value}` : `${name}~${m.source}`]
  const parts = [...part('clientId', match.clientId), ...part('principal', match.principal)]
  return parts.length === 0 ? 'default' : parts.join(' ')
}
