import type { Registry } from 'prom-client'
import type { ConnectionLog } from '../server/connection-log.js'
import type { ConnectionRefusals } from '../server/connection-refusals.js'
import { METRIC_PREFIX, SampledCounter, SampledGauge } from './prometheus.js'

/**
 * Metrics of connections the sidecar refused and of connection log lines it held back (issue 15), read at scrape
 * time from the counters the runtime keeps:
 *   kafka_sidecar_connections_refused_total{reason}            listener_full, evicted_silent, ...
 *   kafka_sidecar_connection_log_lines_total{event, outcome}   event opened|closed, outcome logged|suppressed
 *   kafka_sidecar_tls_handshakes_pending{phase}                sniffing, queued, handshaking (listen.tls)
 *   kafka_sidecar_connections_memory_bytes                     client connections' estimated footprints, held
 *                                                              against half of limits.memoryBudgetBytes
 */
export function registerConnectionMetrics(
  registry: Registry,
  sources: {
    readonly refusals?: ConnectionRefusals
    readonly connectionLog?: ConnectionLog
    /** TLS connections whose handshake has not finished, by phase. */
    readonly pendingHandshakes?: () => Readonly<Record<string, number>>
    /** What the open client connections hold of the memory budget themselves (MemoryBudget.heldByConnections). */
    readonly connectionsMemory?: () => number
  },
): void {
  const { refusals, connectionLog, pendingHandshakes, connectionsMemory } = sources
  if (refusals !== undefined) {
    new SampledCounter(
      registry,
      `${METRIC_PREFIX}connections_refused_total`,
      'Client connections closed at accept or to make room, by reason (listener_full, evicted_silent: limits.maxClientConnections; memory_budget: limits.memoryBudgetBytes)',
      ['reason'],
      function* () {
        for (const [reason, value] of refusals.counts()) yield { labels: { reason }, value }
      },
    )
  }
  if (connectionLog !== undefined) {
    new SampledCounter(
      registry,
      `${METRIC_PREFIX}connection_log_lines_total`,
      'Connection opened/closed log lines, logged or suppressed by the rate limit (suppressed ones are summarised)',
      ['event', 'outcome'],
      function* () {
        const c = connectionLog.counts()
        for (const event of ['opened', 'closed'] as const) {
          yield { labels: { event, outcome: 'logged' }, value: c.logged[event] }
          yield { labels: { event, outcome: 'suppressed' }, value: c.suppressed[event] }
        }
      },
    )
  }
  if (connectionsMemory !== undefined) {
    new SampledGauge(
      registry,
      `${METRIC_PREFIX}connections_memory_bytes`,
      'Estimated memory the open client connections hold themselves (64 KiB a TLS connection, 16 KiB a plain one); at half of limits.memoryBudgetBytes new connections are refused (memory_budget)',
      [],
      function* () {
        yield { labels: {}, value: connectionsMemory() }
      },
    )
  }
  if (pendingHandshakes !== undefined) {
    new SampledGauge(
      registry,
      `${METRIC_PREFIX}tls_handshakes_pending`,
      'TLS connections whose handshake has not finished, by phase (listen.tls.maxPendingHandshakes bounds them all)',
      ['phase'],
      function* () {
        for (const [phase, value] of Object.entries(pendingHandshakes())) yield { labels: { phase }, value }
      },
    )
  }
}
