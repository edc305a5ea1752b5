import { CodecError, TruncatedInputError, UnknownApiKeyError } from '../../codec/errors.js'
import { peekClientId, peekRequestHeader, peekResponseCorrelationId, responseBodyOffset } from '../../codec/header.js'
import { canDecode, encodeRequest, encodeResponse } from '../../codec/messages/frames.js'
import type { ApiVersionsRequest } from '../../codec/messages/generated/api-versions-request.js'
import type { ApiVersionsResponse } from '../../codec/messages/generated/api-versions-response.js'
import { API_DEFINITIONS, ApiKey } from '../../codec/messages/generated/apis.js'
import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import type { SaslHandshakeRequest } from '../../codec/messages/generated/sasl-handshake-request.js'
import { peekProduceAcks } from '../../codec/messages/peek.js'
import { hasRecordsFields } from '../../codec/messages/records-fields.js'
import { logFrame } from '../logger.js'
import { apiVersionsUnsupportedResponse } from './api-versions-answers.js'
import type { ConnectionObserver } from './connection-observer.js'
import type { ConnectionState } from './connection-state.js'
import { buildErrorResponse } from './error-responses.js'
import type {
  DecodedRequest,
  DecodedResponse,
  Filter,
  FilterContext,
  FrameFacts,
  RequestVerdict,
  ResponseVerdict,
  SentResponse,
} from './filter-api.js'
import { type FilterChain, isPromise, onlyObservers, recordsAsSummary } from './filter-chain.js'
import { type ContextHost, type ContextServices, FilterContextImpl } from './filter-context.js'
import { Frame } from './frame.js'
import { decodeRequestFrame, decodeResponseFrame, requestObservation, responseObservation } from './message-decoding.js'
import { splitRejectedPartitions } from './partition-rejections.js'
import { keepPiece, type ReadLease } from './read-lease.js'
import { saslOpaqueExchanges } from './sasl-v0.js'
import type { StreamedObservation } from './streamed-observation.js'

/**
 * The exchange: everything that happens to a Kafka message between the client's socket and the broker's, for one
 * client connection. Read it top to bottom:
 *
 *   1. requests   a whole request (onRequest) or one streaming in (beginRequestStream, requestPiece) is planned
 *                 once from its header (planRequest: pass, observe or hold), counted, then forwarded as its own
 *                 bytes, or decoded, run through the filters and the verdict applied (applyRequestVerdict);
 *   2. responses  the broker's answer is matched to its slot (onResponse, or beginResponseStream and
 *                 responsePiece for one streaming through), run back through the filters that asked, and put in
 *                 its slot; slots go to the client strictly in request order (flushResponses);
 *   3. own requests  a filter's sendRequest takes an upstream slot but no client slot, so the client's order is
 *                 untouched; its answer goes only to the caller (sendOwnRequest, answerOwn).
 *
 * The connection around it (src/server/client-connection.ts) owns sockets, read buffers and flow control and
 * implements ExchangePort. Requests of one connection are handled strictly in arrival order: a filter that returns
 * a promise holds back the requests behind it until it settles (blockOn).
 */

/** Bytes of a request the header peeks need at most (a client id, Produce's transactional id). */
export const HEAD_BYTES = 512

/** Why reading from the client is paused (several at once; it resumes when none is left). */
export type PauseReason =
  | 'filter'
  | 'inflight'
  | 'upstream-backpressure'
  | 'connecting'
  | 'draining'
  | 'throttle'
  | 'memory'

/** What the exchange asks of the connection it runs in. */
export interface ExchangePort {
  /** Writes toward the broker. */
  toUpstream(frame: Frame): void
  /** Writes toward the client. */
  toClient(frame: Frame): void
  pauseClient(reason: PauseReason): void
  resumeClient(reason: PauseReason): void
  /** Stops reading the client for `ms` (throttling); overlapping calls extend the pause. */
  muteClient(ms: number): void
  /** A failure counted and logged once per cause; the connection goes on. */
  report(code: string, err: unknown): void
  /** Bytes a peer sent that the sidecar cannot accept: counted, logged, and the connection closed. */
  protocolError(side: 'client' | 'broker', err: unknown): void
  /** A bug or a filter failure: counted, logged, and the connection closed. */
  internalError(what: string, err: unknown): void
  close(reason: string): void
  readonly phase: 'connecting' | 'open' | 'draining' | 'closed'
  /** The exchange became idle (nothing in flight): a drain waiting for that may finish. */
  settled(): void
}

/** Shared by the exchanges of every connection made from one configuration. */
export interface ExchangeRuntime {
  readonly observer: ConnectionObserver
  readonly services: ContextServices
  readonly maxInflightRequests: number
  frameLogging(): boolean
}

/** How a request goes on: as its own bytes with nobody looking, as its bytes with observers looking after, or held. */
type Route = 'pass' | 'observe' | 'hold'

/** The one routing decision for a request, taken from its header alone, for whole and streamed requests alike. */
interface RequestPlan {
  readonly apiKey: number
  readonly apiVersion: number
  readonly correlationId: number
  readonly expectsResponse: boolean
  readonly decodable: boolean
  readonly route: Route
  readonly requestFilters: readonly Filter[]
}

/** A request a filter sent itself (sendOwnRequest): its answer goes to the caller, through `responseFilters`. */
interface OwnRequest {
  resolve(res: SentResponse): void
  reject(err: Error): void
}

/** One request awaiting its answer. */
interface Slot {
  readonly correlationId: number
  readonly apiKey: number
  readonly apiVersion: number
  readonly receivedAt: number
  /** When the request was written to the broker, and when its response arrived (0: not sent / a filter's answer). */
  sentAt: number
  answeredAt: number
  /** Filters that want the response decoded, in response order (decided when the request passed). */
  readonly responseFilters: readonly Filter[]
  request: DecodedRequest | undefined
  /** The frame for the client once ready (size prefix included). */
  response: Frame | undefined
  own: OwnRequest | undefined
  /** Partitions a filter answered itself (rejectPartitions): puts them back into the broker's answer. */
  merge: ((brokerBody: unknown) => unknown) | undefined
}

/** Upstream correlation ids of the sidecar's own requests: a range of their own, so logs tell them apart. */
const OWN_CORRELATION_BASE = 0x70000000

const BUILT_IN_APIS = new Set<number>([ApiKey.ApiVersions, ApiKey.SaslHandshake])

export class Exchange implements ContextHost {
  private readonly contexts = new Map<Filter, FilterContextImpl>()
  private readonly ctxFor = (f: Filter): FilterContext => this.contexts.get(f)!
  /** Slots in client request order. */
  private readonly toClient: Slot[] = []
  /** Slots sent upstream, in upstream order: client requests and the sidecar's own. */
  private readonly upstream: Slot[] = []
  /** Requests waiting for their turn while a filter's promise is pending. */
  private readonly backlog: Frame[] = []
  private blocked = false
  private streamingRequest:
    | { slot: Slot; observers: readonly Filter[]; observation: StreamedObservation<DecodedRequest> | undefined }
    | undefined
  private streamingResponse:
    | { slot: Slot; length: number; observation: StreamedObservation<DecodedResponse> | undefined }
    | undefined
  /**
   * SaslHandshake v0 (KIP-43): after the handshake the SASL tokens travel as bare size-prefixed frames with no Kafka
   * header. These count how many such frames remain in each direction.
   */
  private opaqueFromClient = 0
  private opaqueFromUpstream = 0
  private opaqueArmed = 0
  private lastClientIdBytes: Buffer | undefined
  /** What the broker said it supports on this connection (its ApiVersions answer), for the sidecar's own requests. */
  private upstreamVersions: ReadonlyMap<number, { min: number; max: number }> | undefined
  private ownCorrelation = 0

  constructor(
    private readonly state: ConnectionState,
    private readonly chain: FilterChain,
    private readonly port: ExchangePort,
    private readonly rt: ExchangeRuntime,
    /** The connection's read leases: whether the bytes handed in are valid only during the call. */
    private readonly clientLease: ReadLease,
    private readonly upstreamLease: ReadLease,
  ) {
    for (const [i, f] of chain.filters.entries())
      this.contexts.set(f, new FilterContextImpl(state, this, i, rt.services))
  }

  /** Nothing in flight, nothing waiting, nothing half-streamed: a drain may close now. */
  get idle(): boolean {
    return this.toClient.length === 0 && !this.blocked && this.streamingRequest === undefined
  }

  /** A request is streaming in from the client: reading must go on until its last byte. */
  get receiving(): boolean {
    return this.streamingRequest !== undefined
  }

  get inflight(): number {
    return this.toClient.length
  }

  /** Bytes held in memory by the exchange: requests waiting behind a filter and responses waiting for their turn. */
  heldBytes(): number {
    let n = 0
    for (const f of this.backlog) n += f.length
    for (const s of this.toClient) n += s.response?.length ?? 0
    return n
  }

  // ------------------------------------------------------------------ 1. requests

  /** A whole request, kept (it may outlive the read it came in). */
  onRequest(frame: Frame): void {
    if (this.port.phase === 'closed') return
    if (this.blocked) {
      this.backlog.push(frame)
      return
    }
    const pending = this.handleRequest(frame)
    if (pending) this.blockOn(pending)
  }

  /**
   * A request that spans reads has begun (`head`: its first HEAD_BYTES): stream it to the broker piece by piece as
   * it arrives? Only when nothing may change or hold it (no request filter, or only observers, which see it decoded
   * once its last byte is in) and it is next in line. Anything else (a filter that may act on it, a request behind
   * an asynchronous filter, ApiVersions and SaslHandshake, SASL tokens, a header longer than the head) is buffered
   * and handled whole by onRequest.
   */
  beginRequestStream(head: Buffer, length: number): boolean {
    if (this.port.phase !== 'open' || this.blocked || this.opaqueFromClient > 0) return false
    let plan: RequestPlan
    try {
      plan = this.planRequest(head)
      if (plan.route === 'hold') return false
      if (!this.identify(head)) return false
    } catch {
      return false // a header longer than the head, or malformed: onRequest reads it whole and judges it
    }
    if (!this.count(plan, length)) return false
    if (plan.route === 'pass') this.rt.observer.passedThrough(this.state, 'request')
    const slot = this.newSlot(plan)
    this.admitUpstream(slot, plan.expectsResponse, false)
    const observation =
      plan.route === 'observe'
        ? requestObservation(
            plan.apiKey,
            plan.apiVersion,
            length,
            this.chain.requestRecordsAsSummary(plan.apiKey, plan.apiVersion),
            this.clientLease.transient,
          )
        : undefined
    this.streamingRequest = { slot, observers: plan.requestFilters, observation }
    return true
  }

  /** The next piece of the request being streamed; `done` on its last. */
  requestPiece(piece: Buffer, done: boolean): void {
    const s = this.streamingRequest!
    if (this.port.phase !== 'closed') this.port.toUpstream(Frame.of(piece))
    const observation = s.observation
    if (observation !== undefined)
      observation.push(observation.holdsPieces ? keepPiece(this.clientLease, piece) : piece)
    if (!done) return
    this.streamingRequest = undefined
    if (this.port.phase === 'closed') return
    this.limitInflight()
    if (observation !== undefined) this.observeRequest(() => observation.result(), s.slot, s.observers)
    this.port.settled()
  }

  /** Handles one whole request; returns a promise only when a filter is asynchronous. */
  private handleRequest(frame: Frame): Promise<void> | undefined {
    if (this.opaqueFromClient > 0) {
      // A bare SASL v0 token: not a Kafka request, forwarded as it is.
      this.opaqueFromClient--
      this.port.toUpstream(frame)
      return undefined
    }
    let plan: RequestPlan
    try {
      plan = frame.peek(HEAD_BYTES, (b) => this.planRequest(b))
      if (!frame.peek(HEAD_BYTES, (b) => this.identify(b))) return undefined
    } catch (err) {
      this.port.protocolError('client', err)
      return undefined
    }
    if (!this.count(plan, frame.length)) return undefined
    const slot = this.newSlot(plan)
    if (plan.apiKey === ApiKey.ApiVersions && !plan.decodable) {
      // A client newer than our codec: answer as a broker would, UNSUPPORTED_VERSION in a v0 body listing the
      // versions we do support, and the client retries with one of them (KIP-511).
      slot.response = Frame.of(apiVersionsUnsupportedResponse(plan.correlationId))
      this.toClient.push(slot)
      this.flushResponses()
      return undefined
    }
    if (plan.route === 'pass') {
      this.rt.observer.passedThrough(this.state, 'request')
      this.sendUpstream(frame, slot, plan.expectsResponse)
      return undefined
    }
    const summary = this.chain.requestRecordsAsSummary(plan.apiKey, plan.apiVersion)
    if (plan.route === 'observe') {
      // Nothing may change or hold it: the request goes to the broker first and is decoded for the observers after.
      this.sendUpstream(frame, slot, plan.expectsResponse)
      this.observeRequest(() => decodeRequestFrame(frame, summary), slot, plan.requestFilters)
      return undefined
    }
    let req: DecodedRequest
    try {
      req = decodeRequestFrame(frame, summary)
    } catch (err) {
      // A request a filter must inspect but that cannot be decoded is not forwarded: policy must not be bypassed.
      this.port.protocolError('client', err)
      return undefined
    }
    slot.request = req
    this.builtInRequest(req)
    if (plan.requestFilters.length === 0) {
      this.sendUpstream(frame, slot, plan.expectsResponse)
      return undefined
    }
    const outcome = this.chain.runRequest(plan.requestFilters, req, this.ctxFor)
    if (isPromise(outcome)) {
      return outcome.then((o) =>
        this.applyRequestVerdict(frame, slot, req, o.verdict, o.modified, plan.expectsResponse),
      )
    }
    this.applyRequestVerdict(frame, slot, req, outcome.verdict, outcome.modified, plan.expectsResponse)
    return undefined
  }

  /** Reads the routing decision off a request's header. Throws for garbage and for API keys the codec does not know. */
  private planRequest(head: Buffer): RequestPlan {
    const { apiKey, apiVersion, correlationId } = peekRequestHeader(head, 4)
    // Well-behaved clients only use APIs from the (narrowed) ApiVersions answer, all of which the codec knows:
    // anything else is garbage or an attack and is not passed on to the broker.
    if (API_DEFINITIONS[apiKey] === undefined || apiVersion < 0) throw new UnknownApiKeyError(apiKey)
    const expectsResponse = apiKey !== ApiKey.Produce || peekProduceAcks(head, 4) !== 0
    const decodable = canDecode(apiKey, apiVersion)
    const requestFilters = decodable ? this.chain.requestFilters(apiKey, apiVersion) : NO_FILTERS
    // ApiVersions and SaslHandshake are always decoded: the first tells who the client is (KIP-511) and what the
    // broker supports; the second changes how the following frames are framed.
    const route: Route =
      decodable && BUILT_IN_APIS.has(apiKey)
        ? 'hold'
        : requestFilters.length === 0
          ? 'pass'
          : onlyObservers(requestFilters)
            ? 'observe'
            : 'hold'
    return { apiKey, apiVersion, correlationId, expectsResponse, decodable, route, requestFilters }
  }

  /** Counts a request that will go on; false when a filter counting bytes closed the connection. */
  private count(plan: RequestPlan, bytes: number): boolean {
    this.state.counters.requests++
    this.rt.observer.request(this.state, plan.apiKey, plan.apiVersion, bytes)
    if (this.rt.frameLogging()) {
      const { apiKey, apiVersion, correlationId } = plan
      logFrame(this.state.log, { dir: 'request', apiKey, apiVersion, correlationId, bytes }, 'frame')
    }
    const counters = this.chain.requestCounters
    if (counters.length === 0) return true
    const facts: FrameFacts = {
      apiKey: plan.apiKey,
      apiVersion: plan.apiVersion,
      correlationId: plan.correlationId,
      size: bytes,
    }
    for (const f of counters) {
      const verdict = f.onRequestBytes!(facts, this.ctxFor(f))
      if (verdict?.kind === 'close') {
        this.port.close(`filter closed the connection: ${verdict.reason}`)
        return false
      }
    }
    return true
  }

  private newSlot(plan: RequestPlan): Slot {
    return {
      correlationId: plan.correlationId,
      apiKey: plan.apiKey,
      apiVersion: plan.apiVersion,
      receivedAt: performance.now(),
      sentAt: 0,
      answeredAt: 0,
      responseFilters: plan.decodable ? this.chain.responseFilters(plan.apiKey, plan.apiVersion) : NO_FILTERS,
      request: undefined,
      response: undefined,
      own: undefined,
      merge: undefined,
    }
  }

  /** What the runtime itself takes from the requests it always decodes. */
  private builtInRequest(req: DecodedRequest): void {
    if (req.apiKey === ApiKey.ApiVersions) {
      const body = req.body as ApiVersionsRequest
      if (body.clientSoftwareName !== undefined && body.clientSoftwareVersion !== undefined) {
        this.state.clientSoftware = { name: body.clientSoftwareName, version: body.clientSoftwareVersion }
        this.rt.observer.identified(this.state)
      }
    } else if (req.apiKey === ApiKey.SaslHandshake && req.apiVersion === 0) {
      this.opaqueArmed = saslOpaqueExchanges((req.body as SaslHandshakeRequest).mechanism)
    }
  }

  private applyRequestVerdict(
    frame: Frame,
    slot: Slot,
    req: DecodedRequest,
    verdict: RequestVerdict,
    modified: boolean,
    expectsResponse: boolean,
  ): void {
    if (this.port.phase === 'closed') return
    switch (verdict.kind) {
      case 'forward':
      case 'replace': {
        const out = modified ? this.encodeRequest(req) : frame
        if (out !== undefined) this.sendUpstream(out, slot, expectsResponse)
        return
      }
      case 'respond':
        this.answer(slot, verdict.body, expectsResponse)
        return
      case 'error': {
        const body = buildErrorResponse(req, verdict.errorCode, verdict.message)
        if (body === undefined) {
          this.port.close(
            `a filter rejected ${apiName(req.apiKey)} with error ${verdict.errorCode}, which cannot be expressed in its response`,
          )
          return
        }
        this.answer(slot, body, expectsResponse)
        return
      }
      case 'reject-partitions': {
        let split: ReturnType<typeof splitRejectedPartitions>
        try {
          split = splitRejectedPartitions(req, verdict.rejections)
        } catch (err) {
          this.port.internalError(`rejecting partitions of ${apiName(req.apiKey)}`, err)
          return
        }
        if (split.remaining === undefined) {
          this.answer(slot, split.merge(undefined), expectsResponse)
          return
        }
        req.body = split.remaining as DecodedRequest['body']
        const out = this.encodeRequest(req)
        if (out === undefined) return
        slot.merge = split.merge
        this.sendUpstream(out, slot, expectsResponse)
        return
      }
      case 'close':
        this.port.close(`filter closed the connection: ${verdict.reason}`)
        return
    }
  }

  private encodeRequest(req: DecodedRequest): Frame | undefined {
    if (
      this.chain.requestRecordsAsSummary(req.apiKey, req.apiVersion) &&
      hasRecordsFields(req.apiKey, 'request', req.apiVersion)
    ) {
      this.port.internalError(
        `${apiName(req.apiKey)} request filters`,
        new Error('a filter that asked for records summaries changed the request, which cannot be encoded again'),
      )
      return undefined
    }
    try {
      return Frame.of(encodeRequest(req.header, req.body))
    } catch (err) {
      this.port.internalError(`re-encoding ${apiName(req.apiKey)} v${req.apiVersion}`, err)
      return undefined
    }
  }

  /** Hands a request that already went to the broker, decoded, to the filters that only observe it. */
  private observeRequest(decode: () => DecodedRequest, slot: Slot, filters: readonly Filter[]): void {
    let req: DecodedRequest
    try {
      req = decode()
    } catch (err) {
      // The broker has it and will answer for it (a malformed request is the broker's to reject); only counted here.
      this.port.report(err instanceof CodecError ? err.code : 'KSC_ERR_FILTER_OBSERVE', err)
      return
    }
    slot.request = req
    this.chain.runRequest(filters, req, this.ctxFor) // observers only: never waited for, verdicts reported
  }

  /** Answers a request without the broker (a filter's own response). acks=0 Produce gets nothing. */
  private answer(slot: Slot, body: unknown, expectsResponse: boolean): void {
    if (!expectsResponse) return
    try {
      slot.response = Frame.of(
        encodeResponse(slot.apiKey, slot.apiVersion, { correlationId: slot.correlationId }, body),
      )
    } catch (err) {
      this.port.internalError(`encoding a filter's ${apiName(slot.apiKey)} response`, err)
      return
    }
    this.toClient.push(slot)
    this.flushResponses()
  }

  private sendUpstream(frame: Frame, slot: Slot, expectsResponse: boolean): void {
    this.admitUpstream(slot, expectsResponse)
    this.port.toUpstream(frame)
    if (this.opaqueArmed > 0 && slot.apiKey === ApiKey.SaslHandshake) this.opaqueFromClient = this.opaqueArmed
  }

  /**
   * A request is on its way to the broker: its response takes the next slot (none for acks=0 Produce). With
   * `limitNow` false (a request still streaming in) the in-flight limit is applied once it is whole: pausing the
   * client in the middle of it would hold back the very bytes the broker needs before it can answer.
   */
  private admitUpstream(slot: Slot, expectsResponse: boolean, limitNow = true): void {
    slot.sentAt = performance.now()
    if (!expectsResponse) return
    this.toClient.push(slot)
    this.upstream.push(slot)
    if (limitNow) this.limitInflight()
  }

  private limitInflight(): void {
    if (this.toClient.length >= this.rt.maxInflightRequests) this.port.pauseClient('inflight')
  }

  private blockOn(pending: Promise<void>): void {
    this.blocked = true
    this.port.pauseClient('filter')
    pending.then(
      () => {
        this.blocked = false
        while (this.backlog.length > 0 && !this.blocked && this.port.phase !== 'closed') {
          const next = this.handleRequest(this.backlog.shift()!)
          if (next) {
            this.blockOn(next)
            return
          }
        }
        this.port.resumeClient('filter')
        this.port.settled()
      },
      (err) => this.port.internalError('request filter', err),
    )
  }

  /**
   * Notes the client id of a request header (`head` starts at the size prefix). Same bytes as last time (the common
   * case): nothing to do. False when a filter refused the new client id and closed the connection.
   */
  private identify(head: Buffer): boolean {
    const n = head.length >= 14 ? head.readInt16BE(12) : -1
    // Fewer bytes than the client id needs: a header split across reads (Frame.peek retries with all of it).
    if (n > 0 && head.length < 14 + n) throw new TruncatedInputError('client id', n, head.length - 14, 14)
    const prev = this.lastClientIdBytes
    if (prev !== undefined && n === prev.length && head.compare(prev, 0, n, 14, 14 + n) === 0) return true
    const id = peekClientId(head, 4)
    this.lastClientIdBytes = n >= 0 ? Buffer.from(head.subarray(14, 14 + n)) : undefined
    if (id === this.state.clientId) return true
    this.state.bindLog({ clientId: id })
    this.rt.observer.identified(this.state)
    for (const f of this.chain.clientIdWatchers) {
      const verdict = f.onClientId!(id, this.ctxFor(f))
      if (verdict?.kind === 'close') {
        this.port.close(`filter refused client id ${JSON.stringify(id)}: ${verdict.reason}`)
        return false
      }
    }
    return true
  }

  // ------------------------------------------------------------------ 2. responses

  /** A whole response from the broker, kept. */
  onResponse(frame: Frame): void {
    if (this.port.phase === 'closed') return
    if (this.opaqueFromUpstream > 0) {
      this.opaqueFromUpstream--
      this.port.toClient(frame)
      return
    }
    const slot = this.matchResponse(frame.head(8))
    if (slot === undefined) return
    this.logResponse(slot, frame.length)
    if (slot.apiKey === ApiKey.SaslHandshake && slot.apiVersion === 0 && this.opaqueArmed > 0) {
      // Tokens follow the handshake response only if it succeeded (error code is the first body field).
      const head = frame.head(10)
      if (head.length >= 10 && head.readInt16BE(8) === 0) this.opaqueFromUpstream = this.opaqueArmed
      else this.opaqueFromClient = 0
      this.opaqueArmed = 0
    }
    slot.answeredAt = performance.now()
    if (slot.own !== undefined) {
      this.answerOwn(slot, frame)
      return
    }
    const filters = this.filtersNeeding(slot, frame)
    if (slot.merge === undefined) {
      if (filters.length === 0) {
        this.rt.observer.passedThrough(this.state, 'response')
        this.complete(slot, frame)
        return
      }
      if (onlyObservers(filters)) {
        // Nothing may change or hold it: the client gets it first, the observers see it decoded after.
        this.complete(slot, frame)
        const summary = recordsAsSummary(filters, slot.apiKey, 'response', slot.apiVersion)
        this.observeResponse(
          () => decodeResponseFrame(frame, slot.apiKey, slot.apiVersion, summary, slot.request),
          filters,
        )
        return
      }
    }
    const summary = slot.merge === undefined && recordsAsSummary(filters, slot.apiKey, 'response', slot.apiVersion)
    let res: DecodedResponse
    try {
      res = decodeResponseFrame(frame, slot.apiKey, slot.apiVersion, summary, slot.request)
    } catch (err) {
      // Filters that asked for this response (address rewriting among them) cannot do their job: forwarding it
      // could leak a broker address, so the connection is closed and the client reconnects.
      this.port.protocolError('broker', err)
      return
    }
    this.builtInResponse(res)
    let modified = false
    if (slot.merge !== undefined) {
      res.body = slot.merge(res.body) as DecodedResponse['body']
      modified = true
    }
    const outcome = this.chain.runResponse(filters, res, this.ctxFor)
    if (isPromise(outcome)) {
      outcome.then(
        (o) => this.applyResponseVerdict(slot, frame, res, o.verdict, o.modified || modified, summary),
        (err) => this.port.internalError('response filter', err),
      )
      return
    }
    this.applyResponseVerdict(slot, frame, res, outcome.verdict, outcome.modified || modified, summary)
  }

  /**
   * A response that spans reads has begun: write it to the client as it arrives when nothing has to change it (no
   * response filter that may act wants it; observers see it decoded once complete) and it is next in line for the
   * client. Otherwise it is buffered and handled whole by onResponse.
   */
  beginResponseStream(head: Buffer, length: number): boolean {
    if (this.port.phase === 'closed' || this.opaqueFromUpstream > 0 || head.length < 8) return false
    const slot = this.upstream[0]
    if (slot === undefined || slot.correlationId !== head.readInt32BE(4) || this.toClient[0] !== slot) return false
    if (BUILT_IN_APIS.has(slot.apiKey) || slot.merge !== undefined) return false
    if (!onlyObservers(slot.responseFilters)) return false
    this.upstream.shift()
    slot.answeredAt = performance.now()
    const filters = slot.responseFilters
    this.streamingResponse = {
      slot,
      length,
      observation:
        filters.length > 0
          ? responseObservation(
              slot.apiKey,
              slot.apiVersion,
              length,
              recordsAsSummary(filters, slot.apiKey, 'response', slot.apiVersion),
              slot.request,
            )
          : undefined,
    }
    if (filters.length === 0) this.rt.observer.passedThrough(this.state, 'response')
    return true
  }

  /** The next piece of the response being streamed; `done` on its last. */
  responsePiece(piece: Buffer, done: boolean): void {
    const s = this.streamingResponse!
    if (this.port.phase !== 'closed') this.port.toClient(Frame.of(piece))
    if (s.observation !== undefined) {
      s.observation.push(piece)
      if (s.observation.holdsPieces) this.upstreamLease.lent = true
    }
    if (!done) return
    this.streamingResponse = undefined
    const { slot } = s
    this.toClient.shift()
    this.responded(slot, s.length, performance.now())
    if (s.observation !== undefined) {
      const observation = s.observation
      this.observeResponse(() => observation.result(), slot.responseFilters)
    }
    this.flushResponses()
  }

  /** The slot a response answers: the oldest one sent upstream, which the correlation id must match. */
  private matchResponse(head: Buffer): Slot | undefined {
    let correlationId: number
    try {
      correlationId = peekResponseCorrelationId(head, 4)
    } catch (err) {
      this.port.protocolError('broker', err)
      return undefined
    }
    const slot = this.upstream.shift()
    if (slot === undefined || slot.correlationId !== correlationId) {
      this.port.protocolError(
        'broker',
        new Error(
          slot === undefined
            ? `response with correlation id ${correlationId} but no request is outstanding`
            : `response with correlation id ${correlationId} but ${slot.correlationId} was expected next`,
        ),
      )
      return undefined
    }
    return slot
  }

  private logResponse(slot: Slot, bytes: number): void {
    if (!this.rt.frameLogging()) return
    const { apiKey, apiVersion, correlationId } = slot
    logFrame(this.state.log, { dir: 'response', apiKey, apiVersion, correlationId, bytes }, 'frame')
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

  /** What the runtime itself learns from responses it decoded anyway. */
  private builtInResponse(res: DecodedResponse): void {
    if (res.apiKey === ApiKey.Metadata) {
      this.rt.services.topics.learnFromMetadata(res.body as MetadataResponse)
    } else if (res.apiKey === ApiKey.ApiVersions) {
      const body = res.body as ApiVersionsResponse
      if (body.errorCode === 0) {
        this.upstreamVersions = new Map(body.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]))
      }
    }
  }

  /** Hands a response that already went to the client, decoded, to the filters that only observe it. */
  private observeResponse(decode: () => DecodedResponse, filters: readonly Filter[]): void {
    let res: DecodedResponse
    try {
      res = decode()
    } catch (err) {
      // The client already has the response; a response the observers cannot decode is only counted.
      this.port.report(err instanceof CodecError ? err.code : 'KSC_ERR_FILTER_OBSERVE', err)
      return
    }
    this.builtInResponse(res)
    this.chain.runResponse(filters, res, this.ctxFor) // observers only: never waited for, verdicts reported
  }

  private applyResponseVerdict(
    slot: Slot,
    frame: Frame,
    res: DecodedResponse,
    verdict: ResponseVerdict,
    modified: boolean,
    summary: boolean,
  ): void {
    if (this.port.phase === 'closed') return
    if (verdict.kind === 'close') {
      this.port.close(`filter closed the connection: ${verdict.reason}`)
      return
    }
    let out = frame
    if (modified) {
      if (summary && hasRecordsFields(res.apiKey, 'response', res.apiVersion)) {
        this.port.internalError(
          `${apiName(res.apiKey)} response filters`,
          new Error('a filter that asked for records summaries changed the response, which cannot be encoded again'),
        )
        return
      }
      try {
        out = Frame.of(encodeResponse(res.apiKey, res.apiVersion, res.header, res.body))
      } catch (err) {
        this.port.internalError(`re-encoding ${apiName(res.apiKey)} v${res.apiVersion} response`, err)
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
    const order = this.toClient
    if (order.length === 0 || order[0]!.response === undefined) return
    const now = performance.now()
    while (order.length > 0 && order[0]!.response !== undefined) {
      const slot = order.shift()!
      this.port.toClient(slot.response!)
      this.responded(slot, slot.response!.length, now)
    }
    if (order.length < this.rt.maxInflightRequests) this.port.resumeClient('inflight')
    this.port.settled()
  }

  /** A response reached the client (or finished streaming to it): counters, observers, byte-counting filters. */
  private responded(slot: Slot, bytes: number, now: number): void {
    this.state.counters.responses++
    const upstreamMs = slot.answeredAt > 0 ? slot.answeredAt - slot.sentAt : 0
    this.rt.observer.response(this.state, slot.apiKey, slot.apiVersion, bytes, now - slot.receivedAt, upstreamMs)
    const counters = this.chain.responseCounters
    if (counters.length === 0) return
    const facts: FrameFacts = {
      apiKey: slot.apiKey,
      apiVersion: slot.apiVersion,
      correlationId: slot.correlationId,
      size: bytes,
    }
    for (const f of counters) f.onResponseBytes!(facts, this.ctxFor(f))
  }

  // ------------------------------------------------------------------ 3. the filters' own requests

  /**
   * Sends a request of the filter at `position` over this connection: through the request filters after it, with
   * an upstream correlation id of the sidecar's own and a slot only in the upstream queue, so the client's
   * responses keep their order; the answer comes back through the response filters after the caller, to it alone.
   */
  sendOwnRequest(
    position: number,
    apiKey: number,
    apiVersion: number,
    body: unknown,
    expectResponse: boolean,
  ): Promise<SentResponse | undefined> {
    if (this.port.phase === 'closed' || this.port.phase === 'connecting') {
      return Promise.reject(new Error(`cannot send ${apiName(apiKey)}: the connection is ${this.port.phase}`))
    }
    if (this.opaqueFromClient > 0 || this.opaqueFromUpstream > 0 || this.opaqueArmed > 0) {
      return Promise.reject(new Error(`cannot send ${apiName(apiKey)} during a SASL v0 exchange`))
    }
    if (!canDecode(apiKey, apiVersion)) {
      return Promise.reject(new Error(`${apiName(apiKey)} v${apiVersion} is not a version the codec knows`))
    }
    this.ownCorrelation = (this.ownCorrelation + 1) & 0x0fffffff
    const correlationId = OWN_CORRELATION_BASE + this.ownCorrelation
    const req: DecodedRequest = {
      apiKey: apiKey as DecodedRequest['apiKey'],
      apiVersion,
      header: {
        requestApiKey: apiKey,
        requestApiVersion: apiVersion,
        correlationId,
        clientId: this.state.clientId ?? 'kafka-sidecar',
      },
      size: 0,
      body: body as DecodedRequest['body'],
    }
    return new Promise((resolve, reject) => {
      const go = (verdict: RequestVerdict): void => {
        if (this.port.phase === 'closed') {
          reject(new Error(`the connection closed before ${apiName(apiKey)} was sent`))
          return
        }
        switch (verdict.kind) {
          case 'forward':
          case 'replace': {
            let frame: Buffer
            try {
              frame = encodeRequest(req.header, req.body)
            } catch (err) {
              reject(err as Error)
              return
            }
            if (expectResponse) {
              this.upstream.push({
                correlationId,
                apiKey,
                apiVersion,
                receivedAt: performance.now(),
                sentAt: performance.now(),
                answeredAt: 0,
                responseFilters: this.chain.responseFiltersAfter(position, apiKey, apiVersion),
                request: req,
                response: undefined,
                own: { resolve, reject },
                merge: undefined,
              })
            }
            this.port.toUpstream(Frame.of(frame))
            if (!expectResponse) resolve(undefined)
            return
          }
          case 'respond':
            resolve({ apiKey: req.apiKey, apiVersion, body: verdict.body as SentResponse['body'] })
            return
          case 'error': {
            const errorBody = buildErrorResponse(req, verdict.errorCode, verdict.message)
            if (errorBody === undefined) reject(new Error(`a filter rejected the request with ${verdict.errorCode}`))
            else resolve({ apiKey: req.apiKey, apiVersion, body: errorBody as SentResponse['body'] })
            return
          }
          case 'reject-partitions':
            reject(new Error('rejectPartitions is not supported on a filter-sent request'))
            return
          case 'close':
            this.port.close(`filter closed the connection: ${verdict.reason}`)
            reject(new Error(`a filter closed the connection: ${verdict.reason}`))
            return
        }
      }
      try {
        const outcome = this.chain.runRequest(
          this.chain.requestFiltersAfter(position, apiKey, apiVersion),
          req,
          this.ctxFor,
        )
        if (isPromise(outcome)) outcome.then((o) => go(o.verdict), reject)
        else go(outcome.verdict)
      } catch (err) {
        reject(err as Error)
      }
    })
  }

  /** The answer to a filter's own request: decoded, back through the filters after the caller, to the caller. */
  private answerOwn(slot: Slot, frame: Frame): void {
    const own = slot.own!
    let res: DecodedResponse
    try {
      res = decodeResponseFrame(frame, slot.apiKey, slot.apiVersion, false, slot.request)
    } catch (err) {
      own.reject(err as Error)
      this.port.protocolError('broker', err)
      return
    }
    this.builtInResponse(res)
    const settle = (verdict: ResponseVerdict): void => {
      if (verdict.kind === 'close') {
        own.reject(new Error(`a filter closed the connection: ${verdict.reason}`))
        this.port.close(`filter closed the connection: ${verdict.reason}`)
      } else own.resolve({ apiKey: res.apiKey, apiVersion: res.apiVersion, body: res.body })
    }
    try {
      const outcome = this.chain.runResponse(slot.responseFilters, res, this.ctxFor)
      if (isPromise(outcome))
        outcome.then(
          (o) => settle(o.verdict),
          (err) => own.reject(err as Error),
        )
      else settle(outcome.verdict)
    } catch (err) {
      own.reject(err as Error)
    }
  }

  usableVersion(apiKey: number, min: number): number | undefined {
    const api = API_DEFINITIONS[apiKey]
    const broker = this.upstreamVersions?.get(apiKey)
    if (api === undefined || broker === undefined) return undefined
    const max = Math.min(broker.max, api.request.maxVersion)
    return max >= Math.max(min, broker.min, api.request.minVersion) ? max : undefined
  }

  muteClient(ms: number): void {
    this.port.muteClient(ms)
  }

  /** The connection is gone: the filters' own requests still waiting fail, and the filters are released. */
  close(): void {
    for (const slot of this.upstream) slot.own?.reject(new Error('the connection closed before the broker answered'))
    this.upstream.length = 0
    this.backlog.length = 0
    this.chain.close()
  }
}

const NO_FILTERS: readonly Filter[] = Object.freeze([])

function apiName(apiKey: number): string {
  return API_DEFINITIONS[apiKey]?.name ?? `api ${apiKey}`
}
