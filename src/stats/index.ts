import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { type AdminServer, sendJson } from '../admin/admin-server.js'
import type { StatsConfig } from '../config/stats-section.js'
import type { AuditEntry, AuditService } from '../pipeline/filter-api.js'
import { AuditLog } from './audit-log.js'
import { createMetricsRegistry, METRIC_PREFIX, SampledCounter } from './prometheus.js'
import { Statistics } from './statistics.js'

/**
 * Statistics as the sidecar process runs them: the Statistics (the runtime's observer and the stats filter's
 * sink), its Prometheus registry, the audit log, and the admin routes /metrics and /stats.
 *
 * The `stats` section reloads without a restart: new caps apply to values not seen yet, `topics` and the audit
 * switch apply to connections opened afterwards, and a new audit file is opened at once (connections opened
 * before write to it too).
 */
export class StatsService {
  readonly statistics: Statistics
  readonly registry: Registry
  private config: StatsConfig
  private audit: AuditLog | undefined
  /** Lines of audit logs closed by reloads, so the counters never go back. */
  private readonly retired = { written: 0, dropped: 0 }
  /** What filters write to: whatever audit log is current (none: lines are dropped). */
  private readonly closing = new Set<Promise<void>>()
  readonly auditSink: AuditService = { write: (e: AuditEntry) => this.audit?.write(e) }

  constructor(
    config: StatsConfig,
    private readonly log: Logger,
  ) {
    this.config = config
    this.statistics = new Statistics(config, log)
    this.registry = createMetricsRegistry(this.statistics)
    this.registerAuditMetrics()
    this.openAudit(config)
  }

  /**
   * Applies a reloaded `stats` section (before the sidecar rebuilds its filters). Resolves when a
   * replaced audit file is flushed and closed; the new one is in use at once.
   */
  apply(config: StatsConfig): Promise<void> {
    const before = this.config.audit
    this.config = config
    this.statistics.reconfigure(config)
    if (before.enabled === config.audit.enabled && before.file === config.audit.file) return Promise.resolve()
    const closed = this.closeAudit()
    this.openAudit(config)
    return closed
  }

  /** Adds /metrics (Prometheus text format) and /stats (JSON, see snapshot.ts) to the admin endpoint. */
  routes(admin: AdminServer): void {
    admin.route('/metrics', async (_req, res) => {
      const text = await this.registry.metrics()
      res.writeHead(200, { 'content-type': this.registry.contentType, 'content-length': Buffer.byteLength(text) })
      res.end(text)
    })
    admin.route('/stats', (_req, res) => sendJson(res, 200, this.statistics.snapshot()))
  }

  async close(): Promise<void> {
    this.statistics.close()
    await this.closeAudit()
    await Promise.all(this.closing)
  }

  private openAudit(config: StatsConfig): void {
    if (!config.audit.enabled) return
    this.audit = AuditLog.open(config.audit.file, this.log)
    this.log.info({ file: config.audit.file }, 'audit log on')
  }

  private closeAudit(): Promise<void> {
    const a = this.audit
    if (a === undefined) return Promise.resolve()
    this.audit = undefined
    this.retired.written += a.written
    this.retired.dropped += a.dropped
    const closed = a.close()
    this.closing.add(closed)
    void closed.finally(() => this.closing.delete(closed))
    return closed
  }

  private registerAuditMetrics(): void {
    const total = (pick: (a: { written: number; dropped: number }) => number) =>
      pick(this.retired) + (this.audit ? pick(this.audit) : 0)
    // Here rather than in prometheus.ts: the audit log belongs to the process, not to Statistics.
    new SampledCounter(this.registry, `${METRIC_PREFIX}audit_lines_total`, 'Audit log lines written', [], function* () {
      yield { labels: {}, value: total((a) => a.written) }
    })
    new SampledCounter(
      this.registry,
      `${METRIC_PREFIX}audit_lines_dropped_total`,
      'Audit log lines dropped (destination too slow or failing)',
      [],
      function* () {
        yield { labels: {}, value: total((a) => a.dropped) }
      },
    )
  }
}

export type { StatsSnapshot } from './snapshot.js'
export { Statistics } from './statistics.js'
