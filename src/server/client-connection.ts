import type net from 'node:net'
import type { Logger } from 'pino'
import { CodecError } from '../../codec/errors.js'
import { formatHostPort, type HostPort } from '../config/host-port.js'
import { ConnectionState } from '../pipeline/connection-state.js'
import type { ConnectionInfo } from '../pipeline/filter-api.js'
import type { ConnectionLogTicket } from './connection-log.js'
import type { ConnectionRuntime } from './connection-runtime.js'
import { ConnectionTraffic } from './connection-traffic.js'
import type { ReusedReadBuffer } from './reused-read-buffer.js'
import { type DialedUpstream, dialUpstream } from './upstream-dial.js'

/**
 * One client connection and its one upstream connection (1:1, because SASL state and the broker's own throttling
 * are per connection): the connection's life from accept to close. It wires the two sockets, dials the broker when
 * the first request must go on, drains on shutdown and closes on a failure or either side going away. What flows
 * between the sockets (reads, framing, writes, flow control) is ConnectionTraffic's (connection-traffic.ts), which
 * this class extends; what happens to the messages is the exchange's job (src/pipeline/exchange.ts), and this
 * class is the ExchangePort it talks through.
 */

export class ClientConnection extends ConnectionTraffic {
  private upstreamAddress: HostPort | undefined
  private closeReason: string | undefined
  /** Whether this connection's opened line was logged (then its closed line is too). */
  private logTicket: ConnectionLogTicket = false
  private drained: (() => void) | undefined

  constructor(
    socket: net.Socket,
    info: ConnectionInfo,
    runtime: ConnectionRuntime,
    /** The buffer the client socket reads into (plain listeners); undefined: the socket emits 'data'. */
    private readonly clientReads?: ReusedReadBuffer,
  ) {
    super(
      socket,
      new ConnectionState(
        info,
        runtime.log.child({
          conn: info.connectionId,
          peer: formatHostPort({ host: info.peer.address, port: info.peer.port }),
        }),
      ),
      runtime,
    )
  }

  get clientId(): string | null {
    return this.state.clientId
  }

  get log(): Logger {
    return this.state.log
  }

  get inflight(): number {
    return this.exchange.inflight
  }

  get upstreamTarget(): HostPort | undefined {
    return this.upstreamAddress
  }

  /**
   * Starts reading the client. The broker is dialled when the first request must go on (dial): a connection that
   * never sends a valid request (a port scan, a hostile client) costs no broker connection.
   */
  start(): void {
    const socket = this.socket
    socket.setNoDelay(true)
    if (this.clientReads !== undefined) this.clientReads.attach((chunk) => this.onClientRead(chunk))
    else socket.on('data', (chunk: Buffer) => this.onClientData(chunk))
    socket.on('end', () => this.close('client closed the connection'))
    socket.on('close', () => this.close('client connection closed'))
    socket.on('error', (err) => this.close(`client socket error: ${err.message}`))
    socket.on('drain', () => this.resumeUpstreamForClient())
    if (this.runtime.limits.idleTimeoutMs > 0) {
      socket.setTimeout(this.runtime.limits.idleTimeoutMs, () =>
        this.close(`idle for ${this.runtime.limits.idleTimeoutMs} ms`),
      )
    }
    const { listener, principal, tls } = this.state
    this.logTicket = this.runtime.connectionLog.opened(this.log, {
      listener: listener.kind,
      nodeId: listener.nodeId,
      principal,
      tls,
    })
    this.runtime.observer.opened(this.state)
  }

  /** Connects to the broker for this listener; requests queue meanwhile (toUpstream). */
  protected async dial(): Promise<void> {
    if (this.phaseNow === 'accepted') this.phaseNow = 'connecting'
    // Reading the client stops until the broker is there: whatever arrives meanwhile would only pile up here.
    this.pauseClient('connecting')
    try {
      const dialed = await dialUpstream(
        this.runtime.connector,
        () => this.runtime.upstreamCandidates(this.state.listener),
        () => this.closed,
      )
      if (dialed !== undefined) this.attachUpstream(dialed)
    } catch (err) {
      this.refuse(err)
    }
  }

  /**
   * The broker cannot be reached: reset the client connection, which a Kafka client treats like a broker that went
   * away (it backs off, refreshes metadata and retries), instead of holding it open and silent.
   */
  private refuse(err: unknown): void {
    this.runtime.reportError('KSC_ERR_UPSTREAM_CONNECT', err, this)
    this.closeReason = `upstream unavailable: ${(err as Error)?.message ?? err}`
    this.phaseNow = 'closed'
    // A TCP reset reads like a dead broker. resetAndDestroy() exists only for plain TCP handles (a TLS socket's
    // handle is a TLSWrap and throws ERR_INVALID_HANDLE_TYPE; the TLS listener installs a working one on its
    // sockets); anything else is simply destroyed.
    try {
      this.socket.resetAndDestroy()
    } catch {
      this.socket.destroy()
    }
    this.finish()
  }

  private attachUpstream({ socket: upstream, target, reads }: DialedUpstream): void {
    this.upstream = upstream
    this.upstreamAddress = target
    this.phaseNow = this.drained !== undefined ? 'draining' : 'open'
    if (reads !== undefined) reads.attach((chunk) => this.onUpstreamRead(chunk))
    else upstream.on('data', (chunk: Buffer) => this.onUpstreamData(chunk))
    upstream.on('end', () => this.upstreamGone('broker closed the connection'))
    upstream.on('close', () => this.upstreamGone('broker connection closed'))
    upstream.on('error', (err) => this.upstreamGone(`broker socket error: ${err.message}`))
    upstream.on('drain', () => this.resumeClient('upstream-backpressure'))
    this.state.bindLog({ upstream: formatHostPort(target) })
    upstream.cork()
    for (const frame of this.queuedUpstream.splice(0)) this.toUpstream(frame)
    upstream.uncork()
    this.resumeClient('connecting')
    this.settled()
  }

  // ------------------------------------------------------------------ failures and shutdown

  report(code: string, err: unknown): void {
    this.runtime.reportError(code, err, this)
  }

  protocolError(side: 'client' | 'broker', err: unknown): void {
    const own = (err as { code?: unknown } | undefined)?.code
    const code =
      err instanceof CodecError || (typeof own === 'string' && own.startsWith('KSC_ERR_'))
        ? (own as string)
        : 'KSC_ERR_PROTOCOL'
    if (this.phaseNow === 'closed') return
    this.runtime.reportError(code, err, this)
    this.close(`${side === 'client' ? 'client' : 'broker'} protocol error: ${(err as Error)?.message ?? err}`)
  }

  internalError(what: string, err: unknown): void {
    if (this.phaseNow === 'closed') return
    this.runtime.reportError('KSC_ERR_INTERNAL', err, this)
    this.close(`internal error in ${what}: ${(err as Error)?.message ?? err}`)
  }

  /**
   * Graceful stop: read no further requests, let those in flight be answered, then close. Resolves when closed; the
   * caller bounds the wait.
   */
  drain(): Promise<void> {
    if (this.phaseNow === 'closed') return Promise.resolve()
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve())
      this.drained = resolve
      // Requests queued while dialling are answered once the broker is up (attachUpstream), like any other.
      this.phaseNow = 'draining'
      this.settled()
    })
  }

  settled(): void {
    if (this.phaseNow !== 'draining') return
    // A request being streamed to the broker is read to its end first (its answer is awaited like any other).
    if (!this.exchange.receiving) this.pauseClient('draining')
    if (this.exchange.idle) this.close('sidecar shutting down')
    else if (this.exchange.parkedOnly) this.close('sidecar shutting down (closing parked requests)')
  }

  /** The broker went away: deliver what is ready, then close the client as the broker closed us. */
  private upstreamGone(reason: string): void {
    if (this.phaseNow === 'closed') return
    this.close(reason)
  }

  close(reason: string): void {
    if (this.phaseNow === 'closed') return
    this.phaseNow = 'closed'
    this.closeReason = reason
    this.mute.cancel()
    this.reservation.release()
    this.queuedUpstream.length = 0
    // Read nothing more from either side: a connection closed for a protocol error is not parsed any further.
    this.socket.pause()
    this.upstream?.destroy()
    // end() lets responses already written reach the client before the FIN; destroy() follows if it stalls.
    this.socket.end()
    setTimeout(() => this.socket.destroy(), 1000).unref()
    this.finish()
  }

  private finish(): void {
    this.exchange.close()
    const { clientSoftware, principal, counters } = this.state
    // The client id is on the connection's logger already (ConnectionState.bindLog); a field of the same name
    // here would repeat the key in the line.
    this.runtime.connectionLog.closed(this.log, this.logTicket, {
      clientSoftware: clientSoftware ? `${clientSoftware.name}/${clientSoftware.version}` : undefined,
      principal,
      requests: counters.requests,
      bytesIn: counters.bytesIn,
      bytesOut: counters.bytesOut,
      durationMs: Date.now() - this.state.openedAt,
      reason: this.closeReason,
    })
    this.runtime.observer.closed(this.state, this.closeReason ?? 'closed')
    this.runtime.onClosed(this)
    this.drained?.()
  }
}
