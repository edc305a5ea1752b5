import type net from 'node:net'
import { FrameStreamer, type FrameStreamHandler } from '../../codec/frame-streamer.js'
import type { ConnectionState } from '../pipeline/connection-state.js'
import { Exchange, type ExchangePort, HEAD_BYTES, type PauseReason } from '../pipeline/exchange.js'
import type { Frame } from '../pipeline/frame.js'
import { handleTransient, keepable, newLease } from '../pipeline/read-lease.js'
import { ClientMute } from './client-mute.js'
import {
  ConnectionBufferLimitError,
  looksLikeTlsClientHello,
  RequestAssemblyTimeoutError,
  TlsOnPlaintextListenerError,
} from './connection-errors.js'
import { type ConnectionRuntime, exchangeRuntime } from './connection-runtime.js'
import { Reservation } from './memory-budget.js'

/**
 * The traffic between a client connection and its broker connection, the part of a connection that runs for every
 * read and write: each socket's reads cut into frames for the exchange, what the exchange sends written to the
 * other socket, flow control (what stops reading which side, and why), and what all that holds over time (bytes
 * buffered, a request slow to arrive). The connection's life from accept to close is ClientConnection's
 * (client-connection.ts), which extends this class: one object, so that the hot path reaches every field directly
 * rather than through another object.
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

/**
 * accepted: reading the client, no broker connection yet (dialled by the first request that must go on);
 * connecting: dialling, requests queue; open; draining: no new requests, waiting for answers; closed.
 */
type Phase = 'accepted' | 'connecting' | 'open' | 'draining' | 'closed'

export abstract class ConnectionTraffic implements ExchangePort {
  protected phaseNow: Phase = 'accepted'
  protected upstream: net.Socket | undefined
  /** Requests that went on while the broker connection was being dialled, written once it is up. */
  protected readonly queuedUpstream: Frame[] = []
  private dialing = false
  /** Memory budget reserved for the request being assembled (buffered, not streamed). */
  protected readonly reservation: Reservation
  /** The request being assembled: which one (FrameStreamer.framesBegun), and since when (performance.now()). */
  private assembling = { frame: 0, since: 0 }
  protected readonly exchange: Exchange
  private readonly clientFrames: FrameStreamer
  private readonly clientHandler: FrameStreamHandler
  private readonly upstreamFrames: FrameStreamer
  private readonly upstreamHandler: FrameStreamHandler
  /** During onClientRead / onUpstreamRead: the chunk is in a reused buffer, and whether something kept part of it. */
  private readonly clientLease = newLease()
  private readonly upstreamLease = newLease()
  private readonly pauses = new Set<PauseReason>()
  private upstreamPausedForClient = false
  protected readonly mute = new ClientMute(this)

  constructor(
    protected readonly socket: net.Socket,
    readonly state: ConnectionState,
    protected readonly runtime: ConnectionRuntime,
  ) {
    this.reservation = new Reservation(
      runtime.budget,
      () => this.pauseClient('memory'),
      () => this.resumeClient('memory'),
    )
    this.exchange = new Exchange(
      this.state,
      runtime.createChain(this.state),
      this,
      exchangeRuntime(runtime),
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

  /** Connects to the broker; toUpstream calls it for the first request that must go on, and queues meanwhile. */
  protected abstract dial(): Promise<void>
  abstract report(code: string, err: unknown): void
  abstract protocolError(side: 'client' | 'broker', err: unknown): void
  abstract internalError(what: string, err: unknown): void
  abstract close(reason: string): void
  abstract settled(): void

  get phase(): Phase {
    return this.phaseNow
  }

  /** Read through a getter: the phase changes across awaits, which TypeScript's narrowing cannot see. */
  get closed(): boolean {
    return this.phaseNow === 'closed'
  }

  // ------------------------------------------------------------------ client -> broker

  /**
   * A read into the client's reused buffer: the chunk is valid only during the call (ReadLease). The buffer is given
   * up for a request kept across reads, pieces an observer holds, and writes the broker has not taken yet.
   */
  protected onClientRead(chunk: Buffer): boolean {
    const lent = handleTransient(this.clientLease, () => this.onClientData(chunk))
    return lent || this.clientFrames.buffered > 0 || (this.upstream?.writableLength ?? 0) > 0
  }

  protected onClientData(chunk: Buffer): void {
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
  protected onUpstreamRead(chunk: Buffer): boolean {
    const lent = handleTransient(this.upstreamLease, () => this.onUpstreamData(chunk))
    return lent || this.upstreamFrames.buffered > 0 || this.socket.writableLength > 0
  }

  protected onUpstreamData(chunk: Buffer): void {
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

  /** The client socket drained: the broker may be read again. */
  protected resumeUpstreamForClient(): void {
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
    this.mute.extend(ms)
  }

  /** Why reading from the client is paused right now (empty when it is not). */
  get pausedFor(): readonly string[] {
    return [...this.pauses]
  }

  // ------------------------------------------------------------------ what it holds, over time

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

  /** Every byte this connection holds in memory (bufferedBytes, summed). */
  heldBytes(): number {
    const b = this.bufferedBytes()
    return b.toClient + b.toUpstream + b.incomplete + b.waiting
  }
}
