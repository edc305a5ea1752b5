import { SidecarError } from '../errors.js'

/** The audit log's destination failed (disk full, permissions); audit lines are dropped and counted from then on. */
export class AuditWriteError extends SidecarError {
  constructor(file: string, cause: unknown) {
    super(
      'KSC_ERR_AUDIT_WRITE',
      `audit log ${file} cannot be written (${(cause as Error)?.message ?? cause}); lines are dropped until stats.audit is changed: fix the destination and reload`,
      { cause },
    )
  }
}

/** The statistics filter could not read a message (a bug, or a message it did not expect); the frame went on. */
export class StatsFilterError extends SidecarError {
  constructor(cause: unknown) {
    super(
      'KSC_ERR_STATS_FILTER',
      `statistics filter failed on a message (${(cause as Error)?.message ?? cause}); the message was forwarded, later failures are only counted (kafka_sidecar_stats_filter_failures_total)`,
      { cause },
    )
  }
}
