import type net from 'node:net'
import { SidecarError } from '../errors.js'
import { CauseTracker, type Logger, logOncePerCause } from '../logger.js'

/**
 * Client connections the sidecar closes on accept, before anything is read or any broker is dialled (or, to make
 * room, silent ones it had accepted): counted by reason (kafka_sidecar_connections_refused_total{reason}) and
 * logged once per cause, so that a flood of them costs one log line and a counter. Listeners use it when a
 * listener is full; the connection runtime can refuse through the same object for reasons of its own (an
 * admission hook, a memory budget), to have one counter for all.
 */

/**
 * Why a connection was closed; the `reason` label. listener_full: a new connection, its listener full of
 * connections that all have spoken; memory_budget: a new connection, the connections' share of
 * limits.memoryBudgetBytes full of connections that all have spoken; evicted_silent: a connection that had sent
 * nothing, closed to make room.
 */
export type RefusalReason = 'listener_full' | 'memory_budget' | 'evicted_silent' | (string & {})

export class ListenerFullError extends SidecarError {
  constructor(listener: string, max: number) {
    super(
      'KSC_ERR_LISTEN_CONNECTION_LIMIT',
      `listener ${listener} has ${max} client connections open (limits.maxClientConnections); new connections are ` +
        'closed as soon as they are accepted until some close: find the client that opens so many, or raise the limit',
    )
  }
}

export class SilentConnectionEvictedError extends SidecarError {
  constructor(listener: string, max: number, silentMs: number) {
    super(
      'KSC_ERR_LISTEN_SILENT_EVICTED',
      `listener ${listener} is full (${max} client connections, limits.maxClientConnections): closed a connection ` +
        `that had sent nothing in ${silentMs} ms to admit a new one; something opens connections and leaves them silent`,
    )
  }
}

export class ConnectionMemoryError extends SidecarError {
  /** `silentMs`: the connection closed to make room had sent nothing for that long; undefined: the new one is refused. */
  constructor(held: number, share: number, budget: number, silentMs?: number) {
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`
    const full =
      `client connections hold ${mib(held)} of the ${mib(share)} they may take (half of limits.memoryBudgetBytes, ` +
      `${mib(budget)}; about 64 KiB a TLS connection, 16 KiB a plain one)`
    super(
      silentMs === undefined ? 'KSC_ERR_CONNECTION_MEMORY' : 'KSC_ERR_CONNECTION_MEMORY_EVICTED',
      silentMs === undefined
        ? `${full} and every one has spoken: new connections are closed as soon as they are accepted until some ` +
            'close; find the client that opens so many, or raise limits.memoryBudgetBytes'
        : `${full}: closed a connection that had sent nothing in ${silentMs} ms to admit a new one; something opens ` +
            'connections and leaves them silent',
    )
  }
}

export class ConnectionRefusals {
  private readonly byReason = new Map<string, number>()
  private readonly causes: CauseTracker

  constructor(causes: CauseTracker = new CauseTracker()) {
    this.causes = causes
  }

  /**
   * Closes `socket` at once (no FIN handshake is waited for, nothing is read) and counts it. The first refusal
   * of each cause (the error's code plus `key`, e.g. the listener) is logged; later ones are counted and summarised
   * by the tracker.
   */
  refuse(socket: net.Socket, reason: RefusalReason, err: SidecarError, log: Logger, key: string): void {
    socket.destroy()
    this.closedAtAccept(reason, err, log, key)
  }

  /** Counts and logs (once per cause) a connection closed before any socket was made for it (net.Server 'drop'). */
  closedAtAccept(reason: RefusalReason, err: SidecarError, log: Logger, key: string): void {
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1)
    logOncePerCause(log, key, err, { tracker: this.causes })
  }

  /** Refusals so far, by reason. */
  counts(): ReadonlyMap<string, number> {
    return this.byReason
  }

  total(): number {
    let n = 0
    for (const c of this.byReason.values()) n += c
    return n
  }

  /** Logs what the tracker holds back and stops its timer. */
  close(): void {
    this.causes.close()
  }
}
