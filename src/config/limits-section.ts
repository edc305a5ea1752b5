/**
 * limits: what one client, one connection and all of them together may take (frame sizes, in-flight requests,
 * buffered bytes, connections, time), so that no client can exhaust the sidecar's memory or sockets for the others.
 */
import { INT32_MAX, type Validator } from './validator.js'

export interface LimitsConfig {
  readonly maxFrameBytes: number
  /** Close client connections idle this long; 0 never closes them. */
  readonly idleTimeoutMs: number
  readonly maxInflightRequests: number
  /** How long shutdown waits for in-flight requests. */
  readonly drainTimeoutMs: number
  /**
   * Largest ApiVersions, SaslHandshake, SaslAuthenticate request or bare SASL v0 token: what a client sends before it
   * is known. Kafka's broker caps these at sasl.server.max.receive.size, 524288 by default.
   */
  readonly maxUnauthenticatedFrameBytes: number
  /** Largest request that carries no records (every API but Produce): Metadata, commits, admin requests. */
  readonly maxNonRecordRequestBytes: number
  /** Bytes one connection may hold (requests being assembled or waiting for filters, answers waiting for the client). */
  readonly maxBufferedBytesPerConnection: number
  /** Bytes all connections together may hold; over it, reading pauses, and the largest holder is closed if it persists. */
  readonly memoryBudgetBytes: number
  /** Longest time one request may take to arrive once it has begun (slowloris); 0 never limits it. */
  readonly requestAssemblyTimeoutMs: number
  /**
   * Client connections one listener (the bootstrap, or one broker's) keeps open. When it is full, the oldest
   * connection that has sent nothing for 2 s is closed to make room; if every one has spoken, the new connection is
   * closed as soon as it is accepted. 0: no limit.
   */
  readonly maxClientConnections: number
}

export const LIMITS_DEFAULTS = {
  maxFrameBytes: 104_857_600,
  idleTimeoutMs: 540_000,
  maxInflightRequests: 512,
  drainTimeoutMs: 30_000,
  // BrokerSecurityConfigs.DEFAULT_SASL_SERVER_MAX_RECEIVE_SIZE in kafka-clients ("512KB", sasl.server.max.receive.size).
  maxUnauthenticatedFrameBytes: 524_288,
  maxNonRecordRequestBytes: 8 * 1024 * 1024,
  maxBufferedBytesPerConnection: 32 * 1024 * 1024,
  // Leaves room under a 256 MB pod limit for the ~80 MB an idle sidecar takes and for V8's heap.
  memoryBudgetBytes: 128 * 1024 * 1024,
  requestAssemblyTimeoutMs: 30_000,
  // A client connection costs about 10 KiB of RSS while it has no broker connection, 15-18 KiB with one
  // (measured: 900 and 5,000 idle connections; the bench's 1,000 active connections take the sidecar from 77 to
  // 93 MB). 1,000 per listener keeps that bench's workload working; under a 256 MB pod limit, ~80 MB idle +
  // memoryBudgetBytes (128 MiB) leaves room for about 2,500 connections with broker connections in all, and one
  // application's clients open one connection per broker each, far fewer.
  maxClientConnections: 1000,
} as const

export function limitsSection(v: Validator, value: unknown): LimitsConfig {
  const at = ['limits']
  const d = LIMITS_DEFAULTS
  const m = v.mapping(value, at, [
    'maxFrameBytes',
    'idleTimeoutMs',
    'maxInflightRequests',
    'drainTimeoutMs',
    'maxUnauthenticatedFrameBytes',
    'maxNonRecordRequestBytes',
    'maxBufferedBytesPerConnection',
    'memoryBudgetBytes',
    'requestAssemblyTimeoutMs',
    'maxClientConnections',
  ])
  const bytes = (key: keyof LimitsConfig, min: number) =>
    v.int(m[key], [...at, key], d[key] as number, min, INT32_MAX, 'bytes')
  const limits: LimitsConfig = {
    maxFrameBytes: v.int(m.maxFrameBytes, [...at, 'maxFrameBytes'], d.maxFrameBytes, 1024, INT32_MAX, 'bytes'),
    idleTimeoutMs: v.int(m.idleTimeoutMs, [...at, 'idleTimeoutMs'], d.idleTimeoutMs, 0, INT32_MAX, 'milliseconds'),
    maxInflightRequests: v.int(
      m.maxInflightRequests,
      [...at, 'maxInflightRequests'],
      d.maxInflightRequests,
      1,
      65536,
      'requests',
    ),
    drainTimeoutMs: v.int(m.drainTimeoutMs, [...at, 'drainTimeoutMs'], d.drainTimeoutMs, 0, INT32_MAX, 'milliseconds'),
    maxUnauthenticatedFrameBytes: bytes('maxUnauthenticatedFrameBytes', 1024),
    maxNonRecordRequestBytes: bytes('maxNonRecordRequestBytes', 1024),
    maxBufferedBytesPerConnection: bytes('maxBufferedBytesPerConnection', 64 * 1024),
    memoryBudgetBytes: bytes('memoryBudgetBytes', 1024 * 1024),
    requestAssemblyTimeoutMs: v.int(
      m.requestAssemblyTimeoutMs,
      [...at, 'requestAssemblyTimeoutMs'],
      d.requestAssemblyTimeoutMs,
      0,
      INT32_MAX,
      'milliseconds',
    ),
    maxClientConnections: v.int(
      m.maxClientConnections,
      [...at, 'maxClientConnections'],
      d.maxClientConnections,
      0,
      INT32_MAX,
      'connections',
    ),
  }
  // Connections may hold up to half the budget themselves (src/server/memory-budget.ts CONNECTIONS_SHARE): a request
  // larger than the other half might never be granted.
  const forRequests = Math.floor(limits.memoryBudgetBytes / 2)
  if (limits.maxBufferedBytesPerConnection > forRequests) {
    v.fail(
      [...at, 'maxBufferedBytesPerConnection'],
      `is ${limits.maxBufferedBytesPerConnection}, more than half of limits.memoryBudgetBytes (${forRequests} of ${limits.memoryBudgetBytes}; the other half is what client connections themselves may hold): a request that large might never fit; lower it or raise the budget`,
    )
  }
  return limits
}
