import type { Logger } from 'pino'
import type { ClientSoftware, ConnectionInfo, ConnectionView } from './filter-api.js'

/**
 * What is known about one client connection, shared by the connection (sockets), its exchange (messages) and,
 * read-only as a ConnectionView, its filters and the observers (statistics key per-connection state on this
 * object). Only the runtime writes it.
 */
export class ConnectionState implements ConnectionView {
  readonly connectionId: number
  readonly peer: ConnectionInfo['peer']
  readonly listener: ConnectionInfo['listener']
  readonly principal: string | undefined
  readonly tls: boolean
  readonly openedAt = Date.now()
  clientId: string | null = null
  clientSoftware: ClientSoftware | undefined
  /** Bound to this connection (id, peer), then to the client id and the upstream address once known. */
  log: Logger
  private readonly baseLog: Logger
  private upstream: string | undefined
  /** For the connection's close line and statistics. */
  readonly counters = { requests: 0, responses: 0, bytesIn: 0, bytesOut: 0 }
  /**
   * performance.now() of the socket read being handled, while one is (`reading`): every frame of a read shares one
   * timestamp instead of asking the clock four times per request (at 100 connections each asking costs more than a
   * microsecond per request; the frames of one read arrived together anyway).
   */
  readAt = 0
  reading = false

  /** The time now, as the request latencies use it (see readAt). */
  now(): number {
    return this.reading ? this.readAt : performance.now()
  }

  constructor(info: ConnectionInfo, log: Logger) {
    this.connectionId = info.connectionId
    this.peer = info.peer
    this.listener = info.listener
    this.principal = info.principal
    this.tls = info.tls
    this.baseLog = log
    this.log = log
  }

  /**
   * Sets the client id and the upstream broker the connection's log lines carry. Rebound from the base logger each
   * time: pino would repeat a key bound twice in one line, which strict JSON readers reject.
   */
  bindLog(fields: { clientId?: string | null; upstream?: string }): void {
    if ('clientId' in fields) this.clientId = fields.clientId ?? null
    if (fields.upstream !== undefined) this.upstream = fields.upstream
    const bindings: Record<string, unknown> = {}
    if (this.upstream !== undefined) bindings.upstream = this.upstream
    if (this.clientId !== null) bindings.clientId = this.clientId
    this.log = this.baseLog.child(bindings)
  }
}
