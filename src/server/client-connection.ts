import type net from 'node:net'
import type { Logger } from 'pino'
import { CodecError } from '../../codec/errors.js'
import { FrameStreamer, type FrameStreamHandler } from '../../codec/frame-streamer.js'
import { formatHostPort, type HostPort } from '../config/host-port.js'
import type { ConnectionObserver } from '../pipeline/connection-observer.js'
import { ConnectionState } from '../pipeline/connection-state.js'
import {
  Exchange,
  type ExchangePort,
  type ExchangeRuntime,
  HEAD_BYTES,
  type PauseReason,
} from '../pipeline/exchange.js'
import type { ConnectionInfo } from '../pipeline/filter-api.js'
import type { FilterChain } from '../pipeline/filter-chain.js'
import type { Frame } from '../pipeline/frame.js'
import { handleTransient, keepable, newLease } from '../pipeline/read-lease.js'
import {
  ConnectionBufferLimitError,
  looksLikeTlsClientHello,
  RequestAssemblyTimeoutError,
  TlsOnPlaintextListenerError,
} from './connection-errors.js'
import type { ConnectionLog, ConnectionLogTicket } from './connection-log.js'
import { type MemoryBudget, Reservation } from './memory-budget.js'
import type { ReusedReadBuffer } from './reused-read-buffer.js'
import type { UpstreamConnector } from './upstream-connector.js'
import { type DialedUpstream, dialUpstream } from './upstream-dial.js'

/**
 * One client connection and its one upstream connection (1:1, because SASL state and the broker's own throttling
 * are per connection): the two sockets, their read buffers and framing, flow control, and the connection's life
 * from accept to close. What happens to the messages between the sockets is the exchange's job
 * (src/pipeline/exchange.ts); this class is the ExchangePort it talks through.
 */

/** Bytes of a response needed to decide on cut-through: size prefix and correlation id. */
const STREAM_HEAD_BYTES = 8

/**
 * A whole request in a reused client buffer that is larger than this passes as a one-piece stream when it can
 * (onWholeClientFrame); a smaller one is copied. Copies under Buffer.poolSize / 2 (4 KiB) come out of Node's shared
 * 8 KiB slab (lib/buffer.js allocate()), so they cost no buffer of their own, and handling them whole is cheaper
 * than the streaming decoder. Bench connections phase, 100 connections each producing one 100 B record at a time:
 * 59 CPU us per request with every whole request streamed, 44 with this threshold.
 */
const STREAM_WHOLE_REQUESTS_OVER = Buffer.poolSize >>> 1

export interface ConnectionLimits {
  readonly maxFrameBytes: number
  readonly idleTimeoutMs: number
  /** Requests awaiting responses before the sidecar stops reading from the client (backpressure). */
  readonly maxInflightRequests: number
  readonly maxUnauthenticatedFrameBytes: number
  readonly maxNonRecordRequestBytes: number
  readonly maxBufferedBytesPerConnection: number
  readonly requestAssemblyTimeoutMs: number
}

/** What a connection needs from the sidecar around it. */
export interface ConnectionRuntime {
  readonly log: Logger
  readonly limits: ConnectionLimits
  readonly connector: UpstreamConnector
  readonly exchange: Omit<ExchangeRuntime, 'maxInflightRequests' | 'limits'>
  readonly observer: ConnectionObserver
  /** What all connections together may hold for requests being assembled. */
  readonly budget: MemoryBudget
  /** The opened/closed lines, rate-limited under churn. */
  readonly connectionLog: ConnectionLog
  /** Broker addresses to try, in order, for this listener (bootstrap: every bootstrap server; node: that node). */
  upstreamCandidates(listener: ConnectionInfo['listener']): Promise<readonly HostPort[]>
  /** The filter chain for a new connection, from the configuration current at accept time. */
  createChain(connection: ConnectionState): FilterChain
  onClosed(conn: ClientConnection): void
  /** Counts a failure once per cause for logs and metrics. */
  reportError(code: string, err: unknown, conn: ClientConnection): void
}

/**
 * accepted: reading the client, no broker connection yet (dialled by the first request that must go on);
 * connecting: dialling, requests queue; open; draining: no new requests, waiting for answers; closed.
 */
type Phase = 'accepted' | 'connecting' | 'open' | 'draining' | 'closed'

export class ClientConnection implements ExchangePort {
  readonly state: ConnectionState
  private phaseNow: Phase = 'accepted'
  private upstream: net.Socket | undefined
  /** Requests that went on while the broker connection was being dialled, written once it is up. */
  private readonly queuedUpstream: Frame[] = []
  private dialing = false
  /** Memory budget reserved for the request being assembled (buffered, not streamed). */
  private readonly reservation: Reservation
  /** The request being assembled: which one (FrameStreamer.framesBegun), and since when (performance.now()). */
  private assembling = { frame: 0, since: 0 }
  private upstreamAddress: HostPort | undefined
  private readonly exchange: Exchange
  private readonly clientFrames: FrameStreamer
  private readonly clientHandler: FrameStreamHandler
  private readonly upstreamFrames: FrameStreamer
  private readonly upstreamHandler: FrameStreamHandler
  /** During onClientRead / onUpstreamRead: the chunk is in a reused buffer, and whether something kept part of it. */
  private readonly clientLease = newLease()
  private readonly upstreamLease = newLease()
  private readonly pauses = new Set<PauseReason>()
  private upstreamPausedForClient = false
  private muteTimer: NodeJS.Timeout | undefined
  private mutedUntil = 0
  private closeReason: string | undefined
  /** Whether this connection's opened line was logged (then its closed line is too). */
  private logTicket: ConnectionLogTicket = false
  private drained: (() => void) | undefined

  constructor(
    private readonly socket: net.Socket,
    info: ConnectionInfo,
    private readonly runtime: ConnectionRuntime,
    /** The buffer the client socket reads into (plain listeners); undefined: the socket emits 'data'. */
    private readonly clientReads?: ReusedReadBuffer,
  ) {
    this.state = new ConnectionState(
      info,
      runtime.log.child({
        conn: info.connectionId,
        peer: formatHostPort({ host: info.peer.address, port: info.peer.port }),
      }),
    )
    const limits = runtime.limits
    this.reservation = new Reservation(
      runtime.budget,
      () => this.pauseClient('memory'),
      () => this.resumeClient('memory'),
    )
    this.exchange = new Exchange(
      this.state,
      runtime.createChain(this.state),
      this,
      { ...runtime.exchange, maxInflightRequests: limits.maxInflightRequests, limits },
      this.clientLease,
      this.upstreamLease,
    )
    this.clientFrames = new FrameStreamer(runtime.limits.maxFrameBytes, HEAD_BYTES)
    this.clientHandler = {
      frame: (first, rest, length) => this.onWholeClientFrame(first, rest, length),
      start: (head, length) => this.startClientFrame(head, length),
      piece: (piece, done) => this.exchange.requestPiece(piece, done),
    }
    this.upstreamFrames = new FrameStreamer(runtime.limits.maxFrameBytes, STREAM_HEAD_BYTES)
    this.upstreamHandler = {
      frame: (first, rest, length) => this.exchange.onResponse(keepable(this.upstreamLease, first, rest, length)),
      start: (head, length) => this.exchange.beginResponseStream(head, length),
      piece: (piece, done) => this.exchange.responsePiece(piece, done),
    }
  }

  get phase(): Phase {
    return this.phaseNow
  }

  /** Read through a getter: the phase changes across awaits, which TypeScript's narrowing cannot see. */
  get closed(): boolean {
    return this.phaseNow === 'closed'
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
   * Bytes this connection holds in memory: written to a socket but not yet flushed to the kernel, received but not
   * yet a whole frame, and whole frames waiting behind an asynchronous filter or for their turn. Backpressure keeps
   * this bounded.
   */
  bufferedBytes(): { toClient: number; toUpstream: number; incomplete: number; waiting: number } {
    return {
      toClient: this.socket.writableLength,
      toUpstream: this.upstream?.writableLength ?? 0,
      incomplete: this.clientFrames.buffered + this.upstreamFrames.buffered,
      waiting: this.exchange.heldBytes(),
    }
  }

  /** Why reading from the client is paused right now (empty when it is not). */
  get pausedFor(): readonly string[] {
    return [...this.pauses]
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
  private async dial(): Promise<void> {
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

  // ------------------------------------------------------------------ client -> broker

  /**
   * A read into the client's reused buffer: the chunk is valid only during the call (ReadLease). The buffer is given
   * up for a request kept across reads, pieces an observer holds, and writes the broker has not taken yet.
   */
  private onClientRead(chunk: Buffer): boolean {
    const lent = handleTransient(this.clientLease, () => this.onClientData(chunk))
    return lent || this.clientFrames.buffered > 0 || (this.upstream?.writableLength ?? 0) > 0
  }

  private onClientData(chunk: Buffer): void {
    if (this.phaseNow === 'closed') return
    const state = this.state
    state.readAt = performance.now()
    state.reading = true
    try {
      this.handleClientData(chunk)
    } finally {
      state.reading = false
    }
  }

  private handleClientData(chunk: Buffer): void {
    if (this.state.counters.bytesIn === 0 && looksLikeTlsClientHello(chunk)) {
      // A TLS client on a plaintext listener: its ClientHello would read as a ~370 MB frame. Say what it is.
      this.protocolError('client', new TlsOnPlaintextListenerError())
      return
    }
    this.state.counters.bytesIn += chunk.length
    // Everything this read produces for the broker (several pipelined requests, or the pieces of one) goes out in
    // one writev instead of one write per frame.
    const upstream = this.upstream
    upstream?.cork()
    try {
      this.clientFrames.push(chunk, this.clientHandler)
    } catch (err) {
      this.protocolError('client', err)
    } finally {
      upstream?.uncork()
    }
    // A read that ended inside a request starts its assembly clock, once per request (slowloris: see sweep).
    const frames = this.clientFrames
    if (frames.inFrame && this.assembling.frame !== frames.framesBegun) {
      this.assembling.frame = frames.framesBegun
      this.assembling.since = this.state.readAt
    }
  }

  /**
   * A request that spans reads has begun (`head`: its first bytes): screened at once, then streamed through when
   * nothing may hold it, or else buffered, which takes its size from this connection's limit and the memory budget.
   */
  private startClientFrame(head: Buffer, length: number): boolean {
    this.exchange.screen(head, length)
    if (this.exchange.beginRequestStream(head, length)) return true
    this.reserve(length)
    return false
  }

  /**
   * Reserves memory for a request about to be buffered whole. One larger than the connection may hold is refused;
   * one the budget cannot cover now stops this connection being read until it can.
   */
  private reserve(length: number): void {
    const limit = this.runtime.limits.maxBufferedBytesPerConnection
    if (length > limit) throw new ConnectionBufferLimitError(length, limit)
    this.reservation.take(length)
  }

  /**
   * A request that arrived whole. From a reused buffer, one that nothing may change or hold passes as a stream of
   * one piece: it is forwarded from the buffer and, for observers that read batch headers at most, decoded where it
   * lies, so it needs neither a copy nor a new buffer for the next read (a 1-partition producer's ~65 KiB requests
   * would otherwise take a new buffer each). Small requests and anything else are kept (copied, or the buffer
   * given up) and handled whole by the exchange.
   */
  private onWholeClientFrame(first: Buffer, rest: Buffer[] | undefined, length: number): void {
    if (this.phaseNow === 'closed') return
    // A buffered request is whole: the exchange holds it now (bounded by its own pausing), the budget is free again.
    if (rest !== undefined) this.reservation.release()
    if (
      this.clientLease.transient &&
      rest === undefined &&
      length > STREAM_WHOLE_REQUESTS_OVER &&
      this.exchange.beginRequestStream(first.subarray(0, Math.min(HEAD_BYTES, length)), length)
    ) {
      this.exchange.requestPiece(first, true)
      return
    }
    this.exchange.onRequest(keepable(this.clientLease, first, rest, length))
  }

  toUpstream(frame: Frame): void {
    const upstream = this.upstream
    if (this.phaseNow === 'closed') return
    if (upstream === undefined) {
      this.queuedUpstream.push(frame)
      if (!this.dialing) {
        this.dialing = true
        void this.dial()
      }
      return
    }
    if (!frame.writeTo(upstream)) this.pauseClient('upstream-backpressure')
  }

  // ------------------------------------------------------------------ broker -> client

  /**
   * A read into the connection's reused buffer: `chunk` is overwritten by the next read unless this returns true
   * (ReadLease): a frame buffered across reads, a larger whole frame, pieces an observer holds, or writes the kernel
   * did not take at once (the client is behind; the writes hold views until they complete, and toClient has paused
   * the broker if they pile up).
   */
  private onUpstreamRead(chunk: Buffer): boolean {
    const lent = handleTransient(this.upstreamLease, () => this.onUpstreamData(chunk))
    return lent || this.upstreamFrames.buffered > 0 || this.socket.writableLength > 0
  }

  private onUpstreamData(chunk: Buffer): void {
    if (this.phaseNow === 'closed') return
    const state = this.state
    state.readAt = performance.now()
    state.reading = true
    try {
      this.handleUpstreamData(chunk)
    } finally {
      state.reading = false
    }
  }

  private handleUpstreamData(chunk: Buffer): void {
    // Likewise towards the client: the responses (and pieces) one read completes leave in one writev.
    this.socket.cork()
    try {
      this.upstreamFrames.push(chunk, this.upstreamHandler)
    } catch (err) {
      this.protocolError('broker', err)
    } finally {
      this.socket.uncork()
    }
  }

  toClient(frame: Frame): void {
    this.state.counters.bytesOut += frame.length
    if (!frame.writeTo(this.socket) && this.upstream && !this.upstreamPausedForClient) {
      // The client reads slower than the broker answers: stop reading the broker until it catches up.
      this.upstreamPausedForClient = true
      this.upstream.pause()
    }
  }

  private resumeUpstreamForClient(): void {
    if (this.upstreamPausedForClient) {
      this.upstreamPausedForClient = false
      this.upstream?.resume()
    }
  }

  // ------------------------------------------------------------------ flow control

  pauseClient(reason: PauseReason): void {
    if (this.pauses.size === 0) this.socket.pause()
    this.pauses.add(reason)
  }

  resumeClient(reason: PauseReason): void {
    if (!this.pauses.delete(reason)) return
    if (this.pauses.size === 0 && this.phaseNow !== 'closed') this.socket.resume()
  }

  muteClient(ms: number): void {
    if (!(ms > 0) || this.phaseNow === 'closed') return
    const until = performance.now() + ms
    if (until <= this.mutedUntil) return
    this.mutedUntil = until
    clearTimeout(this.muteTimer)
    this.pauseClient('throttle')
    this.muteTimer = setTimeout(() => {
      this.muteTimer = undefined
      this.mutedUntil = 0
      this.resumeClient('throttle')
    }, ms)
    this.muteTimer.unref()
  }

  // ------------------------------------------------------------------ limits over time

  /**
   * The sidecar's periodic check: a request that has taken longer than limits.requestAssemblyTimeoutMs to arrive
   * (a slowloris client trickling bytes, each of which resets the idle timeout) closes the connection.
   */
  sweep(now: number): void {
    const timeout = this.runtime.limits.requestAssemblyTimeoutMs
    if (timeout === 0 || this.phaseNow === 'closed' || !this.clientFrames.inFrame) return
    if (this.assembling.frame !== this.clientFrames.framesBegun) return
    // Only time the client could have been sending counts: while the sidecar itself is not reading (a throttling
    // mute, the memory budget, a slow filter or broker), the clock starts again.
    if (this.pauses.size > 0) {
      this.assembling.since = now
      return
    }
    if (now - this.assembling.since > timeout) {
      this.protocolError('client', new RequestAssemblyTimeoutError(timeout))
    }
  }

  /** Every byte this connection holds in memory (bufferedBytes, summed). */
  heldBytes(): number {
    const b = this.bufferedBytes()
    return b.toClient + b.toUpstream + b.incomplete + b.waiting
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
    clearTimeout(this.muteTimer)
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
