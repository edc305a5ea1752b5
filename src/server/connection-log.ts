import type { Logger } from '../logger.js'

/**
 * The "connection opened" and "connection closed" lines, rate-limited so that connection churn cannot flood the
 * log: 534 connections/s, two info lines each, wrote 10.6 MB of log for 23,000 connections (issue 15).
 *
 * A token bucket admits `linesPerSecond` opened lines per second on average (`burst` at once). A connection whose
 * opened line was logged always gets its closed line too, so the log holds whole connections, never a close
 * without its open; a connection that found no token gets neither. What is not logged is counted, and one summary
 * line per `summaryIntervalMs` says how many connections went unlogged while that happened. The counts are there
 * for metrics (kafka_sidecar_connection_log_lines_total{event, outcome}).
 */

export interface ConnectionLogOptions {
  /** Connections per second whose lines are logged, on average. Default 20. 0 logs none (still counted). */
  readonly linesPerSecond?: number
  /** Connections logged at once after a quiet spell. Default: linesPerSecond. */
  readonly burst?: number
  /** Shortest time between two summary lines. Default 10 000 ms. */
  readonly summaryIntervalMs?: number
  readonly now?: () => number
}

export const CONNECTION_LOG_DEFAULTS = { linesPerSecond: 20, summaryIntervalMs: 10_000 } as const

export type ConnectionEvent = 'opened' | 'closed'

export interface ConnectionLogCounts {
  readonly logged: Readonly<Record<ConnectionEvent, number>>
  readonly suppressed: Readonly<Record<ConnectionEvent, number>>
}

/** What opened() returns, to be handed to closed(): whether this connection's lines are logged. */
export type ConnectionLogTicket = boolean

export class ConnectionLog {
  private readonly rate: number
  private readonly burst: number
  private readonly intervalMs: number
  private readonly now: () => number
  private tokens: number
  private refilledAt: number
  private readonly logged = { opened: 0, closed: 0 }
  private readonly suppressed = { opened: 0, closed: 0 }
  /** Suppressed since the last summary, and since when. */
  private pending = { opened: 0, closed: 0 }
  private pendingSince = 0
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly log: Logger,
    options: ConnectionLogOptions = {},
  ) {
    this.rate = Math.max(0, options.linesPerSecond ?? CONNECTION_LOG_DEFAULTS.linesPerSecond)
    this.burst = Math.max(this.rate === 0 ? 0 : 1, options.burst ?? this.rate)
    this.intervalMs = options.summaryIntervalMs ?? CONNECTION_LOG_DEFAULTS.summaryIntervalMs
    this.now = options.now ?? Date.now
    this.tokens = this.burst
    this.refilledAt = this.now()
  }

  /**
   * Logs `msg` (default "connection opened") with `fields` on `logger` (the connection's own, with its bindings)
   * when the rate allows; counts it otherwise. Returns the ticket closed() needs.
   */
  opened(logger: Logger, fields: Record<string, unknown>, msg = 'connection opened'): ConnectionLogTicket {
    if (this.take()) {
      this.logged.opened++
      logger.info(fields, msg)
      return true
    }
    this.suppress('opened')
    return false
  }

  /** Logs the closed line of a connection whose opened line was logged (`ticket` true); counts it otherwise. */
  closed(
    logger: Logger,
    ticket: ConnectionLogTicket,
    fields: Record<string, unknown>,
    msg = 'connection closed',
  ): void {
    if (ticket) {
      this.logged.closed++
      logger.info(fields, msg)
      return
    }
    this.suppress('closed')
  }

  counts(): ConnectionLogCounts {
    return { logged: { ...this.logged }, suppressed: { ...this.suppressed } }
  }

  /** Logs the summary of what was not logged, if its interval has passed (or `force`). */
  flush(force = false): void {
    const unlogged = this.pending.opened + this.pending.closed
    if (unlogged === 0) {
      this.disarm()
      return
    }
    if (!force && this.now() - this.pendingSince < this.intervalMs) return
    this.log.info(
      {
        connectionsOpenedUnlogged: this.pending.opened,
        connectionsClosedUnlogged: this.pending.closed,
        since: new Date(this.pendingSince).toISOString(),
      },
      `${this.pending.opened} connections opened and ${this.pending.closed} closed without a log line of their own (more than ${this.rate}/s)`,
    )
    this.pending = { opened: 0, closed: 0 }
  }

  /** Logs what is pending and stops the summary timer. */
  close(): void {
    this.flush(true)
    this.disarm()
  }

  private take(): boolean {
    const now = this.now()
    if (now > this.refilledAt) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.rate)
      this.refilledAt = now
    }
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  private suppress(event: ConnectionEvent): void {
    this.suppressed[event]++
    if (this.pending.opened + this.pending.closed === 0) this.pendingSince = this.now()
    this.pending[event]++
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.flush(), Math.min(this.intervalMs, 1000))
      this.timer.unref()
    }
  }

  private disarm(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }
}
