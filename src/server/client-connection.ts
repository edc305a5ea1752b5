import type net from 'node:net'
import type { Logger } from 'pino'
import { CodecError, TruncatedInputError, UnknownApiKeyError } from '../../codec/errors.js'
import { FrameStreamer, type FrameStreamHandler } from '../../codec/frame-streamer.js'
import { peekClientId, peekRequestHeader, peekResponseCorrelationId, responseBodyOffset } from '../../codec/header.js'
import {
  canDecode,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  readRequest,
  readResponse,
} from '../../codec/messages/frames.js'
import type { ApiVersionsRequest } from '../../codec/messages/generated/api-versions-request.js'
import { API_DEFINITIONS, ApiKey } from '../../codec/messages/generated/apis.js'
import type { SaslHandshakeRequest } from '../../codec/messages/generated/sasl-handshake-request.js'
import { peekProduceAcks } from '../../codec/messages/peek.js'
import { hasRecordsFields } from '../../codec/messages/records-fields.js'
import { readRecordsSummary } from '../../codec/records/records-summary.js'
import { formatHostPort, type HostPort } from '../config/host-port.js'
import { SidecarError } from '../errors.js'
import { logFrame } from '../logger.js'
import { buildErrorResponse } from '../pipeline/error-responses.js'
import type {
  BrokerEndpointService,
  ClientSoftware,
  ConnectionInfo,
  DecodedRequest,
  DecodedResponse,
  Filter,
  FilterContext,
  RequestVerdict,
  ResponseVerdict,
} from '../pipeline/filter-api.js'
import { type FilterChain, isPromise, recordsAsSummary } from '../pipeline/filter-chain.js'
import { apiVersionsUnsupportedResponse, decodeApiVersionsResponse } from './api-versions.js'
import type { ConnectionObserver } from './connection-observer.js'
import { Frame } from './frame.js'
import { ReusedReadBuffer, UPSTREAM_READ_BUFFER_BYTES } from './reused-read-buffer.js'
import { heldObservation, type StreamedObservation, summaryObservation } from './streamed-observation.js'

/**
 * Bytes of a frame the header peeks need at most (request header with a client id, Produce's transactional id):
 * a frame split right after its start is concatenated only if its first piece is shorter than this.
 */
const HEAD_BYTES = 512

/** Bytes of a response needed to decide on cut-through: size prefix and correlation id. */
const STREAM_HEAD_BYTES = 8

/**
 * A whole frame up to this size is copied out of a reused read buffer (a memcpy cheaper than the new buffer a read
 * would otherwise need); a larger one keeps the buffer and the next read gets another.
 */
const COPY_FRAMES_UP_TO = 64 * 1024

/**
 * A whole request in a reused client buffer that is larger than this passes as a one-piece stream when it can
 * (ClientConnection.onWholeClientFrame); a smaller one is copied. Copies under Buffer.poolSize / 2 (4 KiB) come out
 * of Node's shared 8 KiB slab (lib/buffer.js allocate()), so they cost no buffer of their own, and handling them
 * whole is cheaper than the streaming decoder. Bench connections phase, 100 connections each producing one 100 B
 * record at a time: 59 CPU us per request with every whole request streamed, 44 with this threshold (39 before
 * client reads went to a reused buffer).
 */
const STREAM_WHOLE_REQUESTS_OVER = Buffer.poolSize >>> 1

/** A read being handled, when it is in a reused buffer (see ClientConnection.onUpstreamRead). */
interface ReadInProgress {
  /** The chunk is in a reused buffer and valid only during the call. */
  transient: boolean
  /** Something kept part of it: the buffer is given up and the next read gets a fresh one. */
  lent: boolean
}

/** Runs `handle` on a read in a reused buffer, marked transient meanwhile; true when something kept part of it. */
function handleTransient(read: ReadInProgress, handle: () => void): boolean {
  read.transient = true
  read.lent = false
  try {
    handle()
  } finally {
    read.transient = false
  }
  return read.lent
}

/** A whole frame as something that may be kept after the read it came in (see ClientConnection.onUpstreamRead). */
function keepable(read: ReadInProgress, first: Buffer, rest: Buffer[] | undefined, length: number): Frame {
  if (!read.transient) return new Frame(first, rest, length)
  if (length > COPY_FRAMES_UP_TO) {
    read.lent = true
    return new Frame(first, rest, length)
  }
  return Frame.of(rest === undefined ? Buffer.from(first) : Buffer.concat([first, ...rest], length))
}

/** True when none of these filters may change a response (all of them only observe). */
function onlyObservers(filters: readonly Filter[]): boolean {
  for (const f of filters) if (f.observesOnly !== true) return false
  return true
}

import { saslOpaqueExchanges } from './sasl.js'
import type { UpstreamConnector } from './upstream-connector.js'

/**
 * One client connection and its one upstream connection (1:1, because SASL state and the broker's own
 * throttling are per connection).
 *
 * Requests are handled strictly in arrival order: a filter that returns a promise holds back the requests
 * behind it (and reading from the client) until it settles. Responses go back in request order: each
 * request that expects a response takes a slot in `responseOrder`, filled by the broker's answer or by a
 * filter's own answer, and slots are written to the client from the head as they fill.
 * Frames that no filter wants are forwarded as the original bytes, never decoded.
 */

export interface ConnectionLimits {
  readonly maxFrameBytes: number
  readonly idleTimeoutMs: number
  /** Requests awaiting responses before the sidecar stops reading from the client (backpressure). */
  readonly maxInflightRequests: number
}

/** What a connection needs from the sidecar around it. */
export interface ConnectionRuntime {
  readonly log: Logger
  readonly limits: ConnectionLimits
  readonly connector: UpstreamConnector
  readonly brokers: BrokerEndpointService
  /** Broker addresses to try, in order, for this listener (bootstrap: every bootstrap server; node: that node). */
  upstreamCandidates(listener: ConnectionInfo['listener']): Promise<readonly HostPort[]>
  /** The filter chain for a new connection, from the configuration current at accept time. */
  createChain(info: ConnectionInfo): FilterChain
  /** Frame-level debug logging, switchable at runtime. */
  frameLogging(): boolean
  onClosed(conn: ClientConnection): void
  /** Counts a failure once per cause for logs and metrics. */
  reportError(code: string, err: unknown, conn: ClientConnection): void
  readonly observer: ConnectionObserver
}

interface Slot {
  readonly correlationId: number
  readonly apiKey: number
  readonly apiVersion: number
  readonly receivedAt: number
  /** When the request was written to the broker, and when its response arrived (0: not sent / filter's answer). */
  sentAt: number
  answeredAt: number
  /** Filters that want the response decoded (decided when the request passed). */
  readonly responseFilters: readonly Filter[]
  request: DecodedRequest | undefined
  /** The frame to send to the client once ready (size prefix included). */
  response: Frame | undefined
}

type State = 'connecting' | 'open' | 'draining' | 'closed'

export class ClientConnection implements FilterContext {
  readonly connectionId: number
  readonly peer: { address: string; port: number }
  readonly listener: ConnectionInfo['listener']
  readonly principal: string | undefined
  readonly tls: boolean
  readonly brokers: BrokerEndpointService
  log: Logger
  clientId: string | null = null
  clientSoftware: ClientSoftware | undefined
  readonly openedAt = Date.now()

  /** Counters for this connection's close line and statistics. */
  readonly counters = { requests: 0, responses: 0, bytesIn: 0, bytesOut: 0 }

  private state: State = 'connecting'
  private upstream: net.Socket | undefined
  private upstreamAddress: HostPort | undefined
  private readonly chain: FilterChain
  private readonly clientFrames: FrameStreamer
  private readonly clientHandler: FrameStreamHandler
  private readonly upstreamFrames: FrameStreamer
  private readonly upstreamHandler: FrameStreamHandler
  /**
   * During onUpstreamRead / onClientRead: the chunk is in a reused buffer (transient), and whether something kept
   * part of it, so the buffer is given up (lent). See onUpstreamRead.
   */
  private readonly upstreamRead: ReadInProgress = { transient: false, lent: false }
  private readonly clientRead: ReadInProgress = { transient: false, lent: false }
  /** The response being streamed to the client (cut-through), and its decode when observers will want it. */
  private streaming:
    | { slot: Slot; length: number; observation: StreamedObservation<DecodedResponse> | undefined }
    | undefined
  /** The request being streamed to the broker (cut-through), and its decode when observers will want it. */
  private streamingRequest:
    | {
        slot: Slot
        length: number
        observers: readonly Filter[]
        observation: StreamedObservation<DecodedRequest> | undefined
      }
    | undefined
  /** Requests waiting for their turn while a filter's promise is pending. */
  private readonly backlog: Frame[] = []
  private blocked = false
  /** Slots in client request order. */
  private readonly responseOrder: Slot[] = []
  /** Slots sent upstream, in upstream request order (a subset of responseOrder). */
  private readonly upstreamPending: Slot[] = []
  private readonly pauses = new Set<'filter' | 'inflight' | 'upstream-backpressure' | 'connecting' | 'draining'>()
  private upstreamPausedForClient = false
  private lastClientIdBytes: Buffer | undefined
  /**
   * SASL v0 (SaslHandshake v0): after the handshake the tokens travel as bare size-prefixed frames with no
   * Kafka header (KIP-43). These count how many such frames remain in each direction.
   */
  private opaqueFromClient = 0
  private opaqueFromUpstream = 0
  private opaqueArmed = 0
  private closeReason: string | undefined

  constructor(
    private readonly socket: net.Socket,
    info: ConnectionInfo,
    private readonly runtime: ConnectionRuntime,
    /** The buffer the client socket reads into (plain listeners); undefined: the socket emits 'data'. */
    private readonly clientReads?: ReusedReadBuffer,
  ) {
    this.connectionId = info.connectionId
    this.peer = info.peer
    this.listener = info.listener
    this.principal = info.principal
    this.tls = info.tls
    this.brokers = runtime.brokers
    this.log = runtime.log.child({
      conn: this.connectionId,
      peer: formatHostPort({ host: info.peer.address, port: info.peer.port }),
    })
    this.chain = runtime.createChain(info)
    this.clientFrames = new FrameStreamer(runtime.limits.maxFrameBytes, HEAD_BYTES)
    this.clientHandler = {
      frame: (first, rest, length) => this.onWholeClientFrame(first, rest, length),
      start: (head, length) => this.startRequestStream(head, length),
      piece: (piece, done) => this.streamRequestPiece(piece, done),
    }
    this.upstreamFrames = new FrameStreamer(runtime.limits.maxFrameBytes, STREAM_HEAD_BYTES)
    this.upstreamHandler = {
      frame: (first, rest, length) => this.onUpstreamFrame(keepable(this.upstreamRead, first, rest, length)),
      start: (head, length) => this.startStreaming(head, length),
      piece: (piece, done) => this.streamPiece(piece, done),
    }
  }

  /** Read through a getter: the state changes across awaits, which TypeScript's narrowing cannot see. */
  get closed(): boolean {
    return this.state === 'closed'
  }

  get inflight(): number {
    return this.responseOrder.length
  }

  get upstreamTarget(): HostPort | undefined {
    return this.upstreamAddress
  }

  /**
   * Bytes this connection holds in memory: written to a socket but not yet flushed to the kernel, received but not
   * yet a whole frame, and whole frames waiting behind an asynchronous filter. Backpressure keeps this bounded.
   */
  bufferedBytes(): { toClient: number; toUpstream: number; incomplete: number; waiting: number } {
    return {
      toClient: this.socket.writableLength,
      toUpstream: this.upstream?.writableLength ?? 0,
      incomplete: this.clientFrames.buffered + this.upstreamFrames.buffered,
      waiting:
        this.backlog.reduce((n, f) => n + f.length, 0) +
        this.responseOrder.reduce((n, s) => n + (s.response?.length ?? 0), 0),
    }
  }

  /** Why reading from the client is paused right now (empty when it is not). */
  get pausedFor(): readonly string[] {
    return [...this.pauses]
  }

  /** Starts the connection: connects upstream, then reads the client. */
  async start(): Promise<void> {
    const socket = this.socket
    socket.setNoDelay(true)
    this.pause('connecting')
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
    this.log.info(
      { listener: this.listener.kind, nodeId: this.listener.nodeId, principal: this.principal, tls: this.tls },
      'connection opened',
    )
    this.runtime.observer.opened(this)

    let candidates: readonly HostPort[]
    try {
      candidates = await this.runtime.upstreamCandidates(this.listener)
    } catch (err) {
      this.refuse(err)
      return
    }
    let lastError: unknown
    for (const target of candidates) {
      if (this.closed) return
      try {
        const reads = this.runtime.connector.usesTls ? undefined : new ReusedReadBuffer(UPSTREAM_READ_BUFFER_BYTES)
        const upstream = await this.runtime.connector.connect(target, reads?.onread)
        if (this.closed) {
          upstream.destroy()
          return
        }
        this.attachUpstream(upstream, target, reads)
        return
      } catch (err) {
        lastError = err
      }
    }
    this.refuse(lastError ?? new Error('no upstream broker address is known for this listener'))
  }

  /**
   * The broker cannot be reached: reset the client connection, which a Kafka client treats like a broker
   * that went away (it backs off, refreshes metadata and retries), instead of holding it open and silent.
   */
  private refuse(err: unknown): void {
    this.runtime.reportError('KSC_ERR_UPSTREAM_CONNECT', err, this)
    this.closeReason = `upstream unavailable: ${(err as Error)?.message ?? err}`
    this.state = 'closed'
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

  private attachUpstream(upstream: net.Socket, target: HostPort, reads: ReusedReadBuffer | undefined): void {
    this.upstream = upstream
    this.upstreamAddress = target
    this.state = 'open'
    if (reads !== undefined) reads.attach((chunk) => this.onUpstreamRead(chunk))
    else upstream.on('data', (chunk: Buffer) => this.onUpstreamData(chunk))
    upstream.on('end', () => this.upstreamGone('broker closed the connection'))
    upstream.on('close', () => this.upstreamGone('broker connection closed'))
    upstream.on('error', (err) => this.upstreamGone(`broker socket error: ${err.message}`))
    upstream.on('drain', () => this.unpause('upstream-backpressure'))
    this.log = this.log.child({ upstream: formatHostPort(target) })
    this.unpause('connecting')
  }

  // ------------------------------------------------------------------ client -> broker

  /**
   * A read into the client's reused buffer: the same contract as onUpstreamRead, mirrored. Whole requests up to
   * COPY_FRAMES_UP_TO are copied; the buffer is given up for a larger whole request, a request buffered across
   * reads, pieces an observer holds, and writes the broker has not taken yet.
   */
  private onClientRead(chunk: Buffer): boolean {
    const lent = handleTransient(this.clientRead, () => this.onClientData(chunk))
    return lent || this.clientFrames.buffered > 0 || (this.upstream?.writableLength ?? 0) > 0
  }

  private onClientData(chunk: Buffer): void {
    if (this.counters.bytesIn === 0 && looksLikeTlsClientHello(chunk)) {
      // A TLS client on a plaintext listener: its ClientHello would read as a ~370 MB frame. Say what it is.
      this.protocolError('client', new TlsOnPlaintextListenerError())
      return
    }
    this.counters.bytesIn += chunk.length
    // Everything this read produces for the broker (several pipelined requests, or the pieces of one) goes out
    // in one writev instead of one write per frame.
    const upstream = this.upstream
    upstream?.cork()
    try {
      this.clientFrames.push(chunk, this.clientHandler)
    } catch (err) {
      this.protocolError('client', err)
    } finally {
      upstream?.uncork()
    }
  }

  /**
   * A request that arrived whole. From a reused buffer, one that nothing may change or hold (no request filter, or
   * only observers) passes as a stream of one piece (startRequestStream): it is forwarded from the buffer and, for
   * observers that read batch headers at most, decoded where it lies, so it needs neither a copy nor a new buffer
   * for the next read (a 1-partition producer's ~65 KiB requests would otherwise take a new buffer each). Small
   * requests (STREAM_WHOLE_REQUESTS_OVER) and anything else are kept (copied, or the buffer given up) and handled
   * by handleRequest.
   */
  private onWholeClientFrame(first: Buffer, rest: Buffer[] | undefined, length: number): void {
    if (
      this.clientRead.transient &&
      rest === undefined &&
      length > STREAM_WHOLE_REQUESTS_OVER &&
      this.startRequestStream(first.subarray(0, Math.min(HEAD_BYTES, length)), length)
    ) {
      this.streamRequestPiece(first, true)
      return
    }
    this.onClientFrame(keepable(this.clientRead, first, rest, length))
  }

  private onClientFrame(frame: Frame): void {
    if (this.state === 'closed') return
    if (this.blocked) {
      this.backlog.push(frame)
      return
    }
    const pending = this.handleRequest(frame)
    if (pending) this.blockOn(pending)
  }

  private blockOn(pending: Promise<void>): void {
    this.blocked = true
    this.pause('filter')
    pending.then(
      () => {
        this.blocked = false
        while (this.backlog.length > 0 && !this.blocked && this.state !== 'closed') {
          const next = this.handleRequest(this.backlog.shift()!)
          if (next) {
            this.blockOn(next)
            return
          }
        }
        this.unpause('filter')
      },
      (err) => this.internalError('request filter', err),
    )
  }

  /** Handles one client frame; returns a promise only when a filter is asynchronous. */
  private handleRequest(frame: Frame): Promise<void> | undefined {
    if (this.opaqueFromClient > 0) {
      // A bare SASL v0 token: not a Kafka request, forward as is.
      this.opaqueFromClient--
      this.writeUpstream(frame)
      return undefined
    }
    let apiKey: number
    let apiVersion: number
    let correlationId: number
    try {
      ;({ apiKey, apiVersion, correlationId } = frame.peek(HEAD_BYTES, (b) => peekRequestHeader(b, 4)))
      frame.peek(HEAD_BYTES, (b) => this.noteClientId(b))
    } catch (err) {
      this.protocolError('client', err)
      return undefined
    }
    if (API_DEFINITIONS[apiKey] === undefined || apiVersion < 0) {
      // Well-behaved clients only use APIs from the (narrowed) ApiVersions answer, all of which the codec knows:
      // anything else is garbage or an attack and is not passed on to the broker.
      this.protocolError('client', new UnknownApiKeyError(apiKey))
      return undefined
    }
    this.countRequest(apiKey, apiVersion, correlationId, frame.length)

    let expectsResponse = true
    if (apiKey === ApiKey.Produce) {
      try {
        expectsResponse = frame.peek(HEAD_BYTES, (b) => peekProduceAcks(b, 4)) !== 0
      } catch (err) {
        this.protocolError('client', err)
        return undefined
      }
    }

    const decodable = canDecode(apiKey, apiVersion)
    const requestFilters = decodable ? this.chain.requestFilters(apiKey, apiVersion) : []
    const slot = this.newSlot(apiKey, apiVersion, correlationId, decodable)

    // ApiVersions and SaslHandshake are always decoded: the first tells who the client is (KIP-511) and may
    // need an answer from the sidecar itself; the second changes how the following frames are framed.
    const builtIn = apiKey === ApiKey.ApiVersions || apiKey === ApiKey.SaslHandshake
    if (apiKey === ApiKey.ApiVersions && !decodable) {
      // A client newer than our codec: answer as a broker would, UNSUPPORTED_VERSION in a v0 body listing
      // the versions we do support, and the client retries with one of them (KIP-511).
      slot.response = Frame.of(apiVersionsUnsupportedResponse(correlationId))
      this.responseOrder.push(slot)
      this.flushResponses()
      return undefined
    }
    if (requestFilters.length === 0 && !builtIn) {
      this.runtime.observer.passedThrough(this, 'request')
      this.sendUpstream(frame, slot, expectsResponse)
      return undefined
    }
    const summary = this.chain.requestRecordsAsSummary(apiKey, apiVersion)
    if (!builtIn && onlyObservers(requestFilters)) {
      // Nothing may change or hold it: the request goes to the broker first and is decoded for the observers after.
      this.sendUpstream(frame, slot, expectsResponse)
      this.observeRequest(() => decodeRequestFrame(frame, summary), slot, requestFilters)
      return undefined
    }

    let req: DecodedRequest
    try {
      req = decodeRequestFrame(frame, summary)
    } catch (err) {
      // A frame a filter must inspect but cannot be decoded is not forwarded: policy must not be bypassed.
      this.protocolError('client', err)
      return undefined
    }
    slot.request = req
    if (apiKey === ApiKey.ApiVersions) this.noteClientSoftware(req.body as ApiVersionsRequest)
    if (apiKey === ApiKey.SaslHandshake && apiVersion === 0) {
      this.opaqueArmed = saslOpaqueExchanges((req.body as SaslHandshakeRequest).mechanism)
    }
    if (requestFilters.length === 0) {
      this.sendUpstream(frame, slot, expectsResponse)
      return undefined
    }

    const outcome = this.chain.runRequest(requestFilters, req, this)
    if (isPromise(outcome)) {
      return outcome.then((o) => this.applyRequestOutcome(frame, slot, req, o.verdict, o.modified, expectsResponse))
    }
    this.applyRequestOutcome(frame, slot, req, outcome.verdict, outcome.modified, expectsResponse)
    return undefined
  }

  private countRequest(apiKey: number, apiVersion: number, correlationId: number, bytes: number): void {
    this.counters.requests++
    this.runtime.observer.request(this, apiKey, apiVersion, bytes)
    if (this.runtime.frameLogging()) {
      logFrame(this.log, { dir: 'request', apiKey, apiVersion, correlationId, bytes }, 'frame')
    }
  }

  private newSlot(apiKey: number, apiVersion: number, correlationId: number, decodable: boolean): Slot {
    return {
      correlationId,
      apiKey,
      apiVersion,
      receivedAt: performance.now(),
      sentAt: 0,
      answeredAt: 0,
      responseFilters: decodable ? this.chain.responseFilters(apiKey, apiVersion) : [],
      request: undefined,
      response: undefined,
    }
  }

  /**
   * Cut-through for requests: one that spans reads goes to the broker piece by piece as it arrives when nothing may
   * change or hold it (no request filter, or only observers, which see it decoded once its last byte is in) and it
   * is next in line. `head` holds its first HEAD_BYTES. Anything else (a filter that may act on it, a request held
   * behind an asynchronous filter, ApiVersions and SaslHandshake, SASL tokens, a header longer than the head) is
   * buffered and handled whole by handleRequest, as are all requests that arrive in one read.
   */
  private startRequestStream(head: Buffer, length: number): boolean {
    if (this.state !== 'open' || this.blocked || this.opaqueFromClient > 0) return false
    let apiKey: number
    let apiVersion: number
    let correlationId: number
    let expectsResponse = true
    let observers: readonly Filter[]
    let decodable: boolean
    try {
      ;({ apiKey, apiVersion, correlationId } = peekRequestHeader(head, 4))
      if (API_DEFINITIONS[apiKey] === undefined || apiVersion < 0) return false // refused by handleRequest
      if (apiKey === ApiKey.ApiVersions || apiKey === ApiKey.SaslHandshake) return false
      decodable = canDecode(apiKey, apiVersion)
      observers = decodable ? this.chain.requestFilters(apiKey, apiVersion) : []
      if (!onlyObservers(observers)) return false
      if (apiKey === ApiKey.Produce) expectsResponse = peekProduceAcks(head, 4) !== 0
      this.noteClientId(head)
    } catch {
      return false // a header longer than the head, or malformed: handleRequest reads it whole and judges it
    }
    this.countRequest(apiKey, apiVersion, correlationId, length)
    if (observers.length === 0) this.runtime.observer.passedThrough(this, 'request')
    const slot = this.newSlot(apiKey, apiVersion, correlationId, decodable)
    this.admitUpstream(slot, expectsResponse, false)
    this.streamingRequest = {
      slot,
      length,
      observers,
      observation: observers.length > 0 ? this.requestObservation(apiKey, apiVersion, length) : undefined,
    }
    return true
  }

  /**
   * How observers will see a streamed request. When the client's reads go to a reused buffer and the observers
   * read records as summaries (statistics), it is decoded as it passes, like a streamed response
   * (responseObservation): holding its pieces would give up the buffer on every read, and the new buffer each
   * read then needs is what costs (see accepted-socket.ts). Otherwise (TLS clients, whose reads are Node's own
   * buffers, or observers that read records) the pieces are held and decoded at the end.
   */
  private requestObservation(apiKey: number, apiVersion: number, length: number): StreamedObservation<DecodedRequest> {
    const summary = this.chain.requestRecordsAsSummary(apiKey, apiVersion)
    if (summary && this.clientReads !== undefined && hasRecordsFields(apiKey, 'request', apiVersion)) {
      return summaryObservation(length, (r) => {
        const d = readRequest(r)
        return { apiKey: d.apiKey, apiVersion: d.apiVersion, header: d.header, body: d.body }
      })
    }
    return heldObservation(length, (frame) => decodeRequestFrame(frame, summary))
  }

  private streamRequestPiece(piece: Buffer, done: boolean): void {
    const s = this.streamingRequest!
    if (this.state !== 'closed') this.writeUpstream(Frame.of(piece))
    const observation = s.observation
    if (observation !== undefined) {
      if (!observation.holdsPieces || !this.clientRead.transient) observation.push(piece)
      else if (piece.length <= COPY_FRAMES_UP_TO) observation.push(Buffer.from(piece))
      else {
        observation.push(piece)
        this.clientRead.lent = true
      }
    }
    if (!done) return
    this.streamingRequest = undefined
    if (this.state === 'closed') return
    this.limitInflight()
    if (observation !== undefined) this.observeRequest(() => observation.result(), s.slot, s.observers)
    // A drain that began mid-request stops reading now that the request is whole (see drain()).
    if (this.state === 'draining') {
      this.pause('draining')
      this.maybeFinishDrain()
    }
  }

  private applyRequestOutcome(
    frame: Frame,
    slot: Slot,
    req: DecodedRequest,
    verdict: RequestVerdict,
    modified: boolean,
    expectsResponse: boolean,
  ): void {
    if (this.state === 'closed') return
    switch (verdict.kind) {
      case 'forward':
      case 'replace': {
        let out = frame
        if (modified) {
          if (
            this.chain.requestRecordsAsSummary(req.apiKey, req.apiVersion) &&
            hasRecordsFields(req.apiKey, 'request', req.apiVersion)
          ) {
            this.internalError(
              `${apiName(req.apiKey)} request filters`,
              new Error('a filter that asked for records summaries changed the request, which cannot be encoded again'),
            )
            return
          }
          try {
            out = Frame.of(encodeRequest(req.header, req.body))
          } catch (err) {
            this.internalError(`re-encoding ${apiName(req.apiKey)} v${req.apiVersion}`, err)
            return
          }
        }
        this.sendUpstream(out, slot, expectsResponse)
        return
      }
      case 'respond':
        this.answer(slot, verdict.body, expectsResponse)
        return
      case 'error': {
        const body = buildErrorResponse(req, verdict.errorCode, verdict.message)
        if (body === undefined) {
          this.close(
            `a filter rejected ${apiName(req.apiKey)} with error ${verdict.errorCode}, which cannot be expressed in its response`,
          )
          return
        }
        this.answer(slot, body, expectsResponse)
        return
      }
      case 'close':
        this.close(`filter closed the connection: ${verdict.reason}`)
        return
    }
  }

  /** Hands a request that already went to the broker, decoded, to filters that only observe. */
  private observeRequest(decode: () => DecodedRequest, slot: Slot, filters: readonly Filter[]): void {
    let req: DecodedRequest
    try {
      req = decode()
    } catch (err) {
      // The broker has it and will answer for it (a malformed request is the broker's to reject); only counted here.
      this.runtime.reportError(err instanceof CodecError ? err.code : 'KSC_ERR_FILTER_OBSERVE', err, this)
      return
    }
    slot.request = req
    const report = (outcome: { verdict: RequestVerdict; modified: boolean }): void => {
      if (outcome.verdict.kind !== 'forward' || outcome.modified) {
        this.runtime.reportError(
          'KSC_ERR_FILTER_OBSERVE',
          new Error(`an observing filter returned '${outcome.verdict.kind}' for a request that had already gone on`),
          this,
        )
      }
    }
    try {
      const outcome = this.chain.runRequest(filters, req, this)
      if (isPromise(outcome))
        outcome.then(report, (err) => this.runtime.reportError('KSC_ERR_FILTER_OBSERVE', err, this))
      else report(outcome)
    } catch (err) {
      this.runtime.reportError('KSC_ERR_FILTER_OBSERVE', err, this)
    }
  }

  /** Answers a request without the broker (a filter's own response). acks=0 produce gets nothing. */
  private answer(slot: Slot, body: unknown, expectsResponse: boolean): void {
    if (!expectsResponse) return
    try {
      slot.response = Frame.of(
        encodeResponse(slot.apiKey, slot.apiVersion, { correlationId: slot.correlationId }, body),
      )
    } catch (err) {
      this.internalError(`encoding a filter's ${apiName(slot.apiKey)} response`, err)
      return
    }
    this.responseOrder.push(slot)
    this.flushResponses()
  }

  private sendUpstream(frame: Frame, slot: Slot, expectsResponse: boolean): void {
    this.admitUpstream(slot, expectsResponse)
    this.writeUpstream(frame)
    if (this.opaqueArmed > 0 && slot.apiKey === ApiKey.SaslHandshake) {
      this.opaqueFromClient = this.opaqueArmed
    }
  }

  /**
   * A request is on its way to the broker: its response takes the next slot (none for acks=0 Produce). With
   * `limitNow` false (a request still streaming in) the in-flight limit is applied once it is whole: pausing the
   * client in the middle of it would hold back the very bytes the broker needs before it can answer.
   */
  private admitUpstream(slot: Slot, expectsResponse: boolean, limitNow = true): void {
    slot.sentAt = performance.now()
    if (expectsResponse) {
      this.responseOrder.push(slot)
      this.upstreamPending.push(slot)
      if (limitNow) this.limitInflight()
    }
  }

  private limitInflight(): void {
    if (this.responseOrder.length >= this.runtime.limits.maxInflightRequests) this.pause('inflight')
  }

  private writeUpstream(frame: Frame): void {
    const upstream = this.upstream
    if (!upstream || this.state === 'closed') return
    if (!frame.writeTo(upstream)) this.pause('upstream-backpressure')
  }

  // ------------------------------------------------------------------ broker -> client

  /**
   * A read into the connection's reused buffer (ReusedReadBuffer): `chunk` is overwritten by the next read unless
   * this returns true. So what outlives the call is copied where that is cheap (whole frames up to
   * COPY_FRAMES_UP_TO) and otherwise the buffer is given up (true): a frame buffered across reads, a larger whole
   * frame, pieces an observer holds, or writes the kernel did not take at once (the client is behind; the writes
   * hold views until they complete, and writeClient has paused the broker if they pile up).
   */
  private onUpstreamRead(chunk: Buffer): boolean {
    const lent = handleTransient(this.upstreamRead, () => this.onUpstreamData(chunk))
    return lent || this.upstreamFrames.buffered > 0 || this.socket.writableLength > 0
  }

  private onUpstreamData(chunk: Buffer): void {
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

  /**
   * Cut-through: a response that spans reads is written to the client as it arrives when nothing has to change it:
   * no response filter that may modify it wants it (observing filters see it decoded once it is complete), and it
   * is next in line for the client. Otherwise it is buffered and handled whole by onUpstreamFrame.
   */
  private startStreaming(head: Buffer, length: number): boolean {
    if (this.state === 'closed' || this.opaqueFromUpstream > 0 || head.length < 8) return false
    const slot = this.upstreamPending[0]
    if (slot === undefined || slot.correlationId !== head.readInt32BE(4) || this.responseOrder[0] !== slot) return false
    if (slot.apiKey === ApiKey.SaslHandshake || slot.apiKey === ApiKey.ApiVersions) return false
    if (!onlyObservers(slot.responseFilters)) return false
    this.upstreamPending.shift()
    slot.answeredAt = performance.now()
    this.streaming = {
      slot,
      length,
      observation: slot.responseFilters.length > 0 ? this.responseObservation(slot, length) : undefined,
    }
    if (slot.responseFilters.length === 0) this.runtime.observer.passedThrough(this, 'response')
    return true
  }

  /**
   * How observers will see a streamed response: when it carries records and they read batch headers at most,
   * decoded as its pieces pass, holding nothing (the broker read buffer is reused, and a Fetch response can be tens
   * of MB); otherwise from its pieces, held until the last one (the read buffer is then given up each read).
   */
  private responseObservation(slot: Slot, length: number): StreamedObservation<DecodedResponse> {
    const { apiKey, apiVersion } = slot
    const summary = recordsAsSummary(slot.responseFilters, apiKey, 'response', apiVersion)
    if (summary && hasRecordsFields(apiKey, 'response', apiVersion)) {
      return summaryObservation(length, (r) => {
        const d = readResponse(r, apiKey, apiVersion)
        return { apiKey: d.apiKey, apiVersion: d.apiVersion, header: d.header, body: d.body, request: slot.request }
      })
    }
    return heldObservation(length, (frame) => decodeResponseFrame(frame, apiKey, apiVersion, summary, slot.request))
  }

  private streamPiece(piece: Buffer, done: boolean): void {
    const s = this.streaming!
    if (this.state !== 'closed') this.writeClient(Frame.of(piece))
    if (s.observation !== undefined) {
      s.observation.push(piece)
      if (s.observation.holdsPieces) this.upstreamRead.lent = true
    }
    if (!done) return
    this.streaming = undefined
    const { slot } = s
    this.responseOrder.shift()
    this.counters.responses++
    const now = performance.now()
    this.runtime.observer.response(
      this,
      slot.apiKey,
      slot.apiVersion,
      s.length,
      now - slot.receivedAt,
      slot.answeredAt - slot.sentAt,
    )
    if (s.observation !== undefined) this.observeStreamed(slot, s.observation)
    this.flushResponses()
  }

  /** Hands a streamed response, decoded, to the filters that only observe responses (statistics). */
  private observeStreamed(slot: Slot, observation: StreamedObservation<DecodedResponse>): void {
    try {
      const res = observation.result()
      const outcome = this.chain.runResponse(slot.responseFilters, res, this)
      if (isPromise(outcome)) outcome.catch((err) => this.runtime.reportError('KSC_ERR_FILTER_OBSERVE', err, this))
    } catch (err) {
      // The client already has the response; a response the observers cannot decode is only counted.
      this.runtime.reportError(err instanceof CodecError ? err.code : 'KSC_ERR_FILTER_OBSERVE', err, this)
    }
  }

  private onUpstreamFrame(frame: Frame): void {
    if (this.state === 'closed') return
    if (this.opaqueFromUpstream > 0) {
      this.opaqueFromUpstream--
      this.writeClient(frame)
      return
    }
    let correlationId: number
    try {
      correlationId = peekResponseCorrelationId(frame.head(8), 4)
    } catch (err) {
      this.protocolError('broker', err)
      return
    }
    const slot = this.upstreamPending.shift()
    if (slot === undefined || slot.correlationId !== correlationId) {
      this.protocolError(
        'broker',
        new Error(
          slot === undefined
            ? `response with correlation id ${correlationId} but no request is outstanding`
            : `response with correlation id ${correlationId} but ${slot.correlationId} was expected next`,
        ),
      )
      return
    }
    if (this.runtime.frameLogging()) {
      logFrame(
        this.log,
        { dir: 'response', apiKey: slot.apiKey, apiVersion: slot.apiVersion, correlationId, bytes: frame.length },
        'frame',
      )
    }
    if (slot.apiKey === ApiKey.SaslHandshake && slot.apiVersion === 0 && this.opaqueArmed > 0) {
      // Tokens follow the handshake response only if it succeeded (error code is the first body field).
      const head = frame.head(10)
      if (head.length >= 10 && head.readInt16BE(8) === 0) this.opaqueFromUpstream = this.opaqueArmed
      else this.opaqueFromClient = 0
      this.opaqueArmed = 0
    }

    slot.answeredAt = performance.now()
    const responseFilters = this.filtersNeeding(slot, frame)
    if (responseFilters.length === 0) {
      this.runtime.observer.passedThrough(this, 'response')
      this.complete(slot, frame)
      return
    }
    let res: DecodedResponse
    const summary = recordsAsSummary(responseFilters, slot.apiKey, 'response', slot.apiVersion)
    try {
      if (slot.apiKey === ApiKey.ApiVersions) {
        const d = decodeApiVersionsResponse(frame.whole(), slot.apiVersion)
        res = { apiKey: d.apiKey, apiVersion: d.apiVersion, header: d.header, body: d.body, request: slot.request }
      } else res = decodeResponseFrame(frame, slot.apiKey, slot.apiVersion, summary, slot.request)
    } catch (err) {
      // Filters that asked for this response (address rewriting among them) cannot do their job: forwarding
      // it could leak a broker address, so the connection is closed and the client reconnects.
      this.protocolError('broker', err)
      return
    }
    const outcome = this.chain.runResponse(responseFilters, res, this)
    if (isPromise(outcome)) {
      outcome.then(
        (o) => this.applyResponseOutcome(slot, frame, res, o.verdict, o.modified, summary),
        (err) => this.internalError('response filter', err),
      )
      return
    }
    this.applyResponseOutcome(slot, frame, res, outcome.verdict, outcome.modified, summary)
  }

  /** The response filters that need this response decoded: those that want it, narrowed by needsResponse. */
  private filtersNeeding(slot: Slot, frame: Frame): readonly Filter[] {
    const wanted = slot.responseFilters
    if (wanted.length === 0 || !wanted.some((f) => f.needsResponse !== undefined)) return wanted
    let bodyOffset: number
    try {
      bodyOffset = frame.peek(HEAD_BYTES, (b) => responseBodyOffset(b, slot.apiKey, slot.apiVersion, 4))
    } catch {
      return wanted // malformed: let the decoder report it
    }
    return wanted.filter((f) => {
      if (f.needsResponse === undefined) return true
      try {
        // A reader over the pieces: a large response is scanned where it lies, not copied first.
        return f.needsResponse(slot.apiKey, slot.apiVersion, frame.reader(bodyOffset))
      } catch {
        return true
      }
    })
  }

  private applyResponseOutcome(
    slot: Slot,
    frame: Frame,
    res: DecodedResponse,
    verdict: ResponseVerdict,
    modified: boolean,
    summary: boolean,
  ): void {
    if (this.state === 'closed') return
    if (verdict.kind === 'close') {
      this.close(`filter closed the connection: ${verdict.reason}`)
      return
    }
    let out = frame
    if (modified) {
      if (summary && hasRecordsFields(res.apiKey, 'response', res.apiVersion)) {
        this.internalError(
          `${apiName(res.apiKey)} response filters`,
          new Error('a filter that asked for records summaries changed the response, which cannot be encoded again'),
        )
        return
      }
      try {
        out = Frame.of(encodeResponse(res.apiKey, res.apiVersion, res.header, res.body))
      } catch (err) {
        this.internalError(`re-encoding ${apiName(res.apiKey)} v${res.apiVersion} response`, err)
        return
      }
    }
    this.complete(slot, out)
  }

  private complete(slot: Slot, frame: Frame): void {
    slot.response = frame
    this.flushResponses()
  }

  /** Writes every ready response at the head of the queue, in request order. */
  private flushResponses(): void {
    const order = this.responseOrder
    if (order.length === 0 || order[0]!.response === undefined) return
    this.socket.cork()
    const now = performance.now()
    while (order.length > 0 && order[0]!.response !== undefined) {
      const slot = order.shift()!
      this.counters.responses++
      this.writeClient(slot.response!)
      const upstreamMs = slot.answeredAt > 0 ? slot.answeredAt - slot.sentAt : 0
      this.runtime.observer.response(
        this,
        slot.apiKey,
        slot.apiVersion,
        slot.response!.length,
        now - slot.receivedAt,
        upstreamMs,
      )
    }
    this.socket.uncork()
    if (order.length < this.runtime.limits.maxInflightRequests) this.unpause('inflight')
    if (this.state === 'draining') this.maybeFinishDrain()
  }

  private writeClient(frame: Frame): void {
    this.counters.bytesOut += frame.length
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

  // ------------------------------------------------------------------ identity

  private noteClientId(frame: Buffer): void {
    const n = frame.length >= 14 ? frame.readInt16BE(12) : -1
    // Fewer bytes than the client id needs: a header split across chunks (Frame.peek retries with all of it).
    if (n > 0 && frame.length < 14 + n) throw new TruncatedInputError('client id', n, frame.length - 14, 14)
    // Same client id as the previous request (the common case): compare bytes, skip the string decode.
    const prev = this.lastClientIdBytes
    if (prev !== undefined && n === prev.length && frame.compare(prev, 0, n, 14, 14 + n) === 0) return
    const id = peekClientId(frame, 4)
    this.lastClientIdBytes = n >= 0 ? Buffer.from(frame.subarray(14, 14 + n)) : undefined
    if (id !== this.clientId) {
      this.clientId = id
      this.log = this.log.child({ clientId: id })
      this.runtime.observer.identified(this)
    }
  }

  private noteClientSoftware(body: ApiVersionsRequest): void {
    if (body.clientSoftwareName !== undefined && body.clientSoftwareVersion !== undefined) {
      this.clientSoftware = { name: body.clientSoftwareName, version: body.clientSoftwareVersion }
      this.runtime.observer.identified(this)
    }
  }

  // ------------------------------------------------------------------ flow control

  private pause(reason: 'filter' | 'inflight' | 'upstream-backpressure' | 'connecting' | 'draining'): void {
    if (this.pauses.size === 0) this.socket.pause()
    this.pauses.add(reason)
  }

  private unpause(reason: 'filter' | 'inflight' | 'upstream-backpressure' | 'connecting' | 'draining'): void {
    if (!this.pauses.delete(reason)) return
    if (this.pauses.size === 0 && this.state !== 'closed') this.socket.resume()
  }

  // ------------------------------------------------------------------ shutdown

  /**
   * Graceful stop: read no further requests, let those in flight be answered, then close. Resolves when
   * closed; the caller bounds the wait.
   */
  drain(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve()
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve())
      if (this.state === 'connecting') {
        this.close('sidecar shutting down')
        return
      }
      this.state = 'draining'
      // A request being streamed to the broker is read to its end first (its answer is awaited like any other).
      if (this.streamingRequest === undefined) this.pause('draining')
      this.maybeFinishDrain()
    })
  }

  private maybeFinishDrain(): void {
    if (
      this.state === 'draining' &&
      this.responseOrder.length === 0 &&
      !this.blocked &&
      this.streamingRequest === undefined
    ) {
      this.close('sidecar shutting down')
    }
  }

  /** The broker went away: deliver what is ready, then close the client as the broker closed us. */
  private upstreamGone(reason: string): void {
    if (this.state === 'closed') return
    this.flushResponses()
    this.close(reason)
  }

  private protocolError(side: 'client' | 'broker', err: unknown): void {
    const own = (err as { code?: unknown } | undefined)?.code
    const code =
      err instanceof CodecError || (typeof own === 'string' && own.startsWith('KSC_ERR_'))
        ? (own as string)
        : 'KSC_ERR_PROTOCOL'
    this.runtime.reportError(code, err, this)
    this.close(`${side === 'client' ? 'client' : 'broker'} protocol error: ${(err as Error)?.message ?? err}`)
  }

  private internalError(what: string, err: unknown): void {
    this.runtime.reportError('KSC_ERR_INTERNAL', err, this)
    this.close(`internal error in ${what}: ${(err as Error)?.message ?? err}`)
  }

  close(reason: string): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.closeReason = reason
    this.upstream?.destroy()
    // end() lets responses already written reach the client before the FIN; destroy() follows if it stalls.
    this.socket.end()
    setTimeout(() => this.socket.destroy(), 1000).unref()
    this.finish()
  }

  private finish(): void {
    this.chain.close()
    this.log.info(
      {
        clientId: this.clientId,
        clientSoftware: this.clientSoftware ? `${this.clientSoftware.name}/${this.clientSoftware.version}` : undefined,
        principal: this.principal,
        requests: this.counters.requests,
        bytesIn: this.counters.bytesIn,
        bytesOut: this.counters.bytesOut,
        durationMs: Date.now() - this.openedAt,
        reason: this.closeReason,
      },
      'connection closed',
    )
    this.runtime.observer.closed(this, this.closeReason ?? 'closed')
    this.runtime.onClosed(this)
  }
}

/**
 * A TLS record header for a handshake: content type 22, protocol major version 3 (SSL 3.0 / TLS 1.x), then a
 * ClientHello (handshake type 1) at byte 5 (RFC 8446 section 5.1, RFC 5246 section 6.2.1). As a Kafka size prefix
 * these bytes are 0x1603xxxx, far above any sane frame, so no Kafka client can start like this.
 */
export function looksLikeTlsClientHello(chunk: Buffer): boolean {
  return (
    chunk.length >= 3 &&
    chunk[0] === 0x16 &&
    chunk[1] === 0x03 &&
    chunk[2]! <= 0x04 &&
    (chunk.length < 6 || chunk[5] === 0x01)
  )
}

export class TlsOnPlaintextListenerError extends SidecarError {
  constructor() {
    super(
      'KSC_ERR_TLS_ON_PLAINTEXT',
      'the client started a TLS handshake on a plaintext listener: configure the client for PLAINTEXT, or enable TLS on this listener',
    )
  }
}

function apiName(apiKey: number): string {
  return API_DEFINITIONS[apiKey]?.name ?? `api ${apiKey}`
}

/**
 * A request decoded for filters: with records as summaries, read where the frame lies (no join of its pieces, no
 * records held); otherwise joined into one buffer when it came in pieces, records as views into it.
 */
function decodeRequestFrame(frame: Frame, summary: boolean): DecodedRequest {
  let d: ReturnType<typeof decodeRequest>
  if (summary) {
    const r = frame.reader(4)
    r.recordsReader = readRecordsSummary
    d = readRequest(r)
  } else d = decodeRequest(frame.whole(), 4)
  return { apiKey: d.apiKey, apiVersion: d.apiVersion, header: d.header, body: d.body }
}

/** A response decoded for filters, records as summaries or as views (see decodeRequestFrame). */
function decodeResponseFrame(
  frame: Frame,
  apiKey: number,
  apiVersion: number,
  summary: boolean,
  request: DecodedRequest | undefined,
): DecodedResponse {
  let d: ReturnType<typeof decodeResponse>
  if (summary) {
    const r = frame.reader(4)
    r.recordsReader = readRecordsSummary
    d = readResponse(r, apiKey, apiVersion)
  } else d = decodeResponse(frame.whole(), apiKey, apiVersion, 4)
  return { apiKey: d.apiKey, apiVersion: d.apiVersion, header: d.header, body: d.body, request }
}
