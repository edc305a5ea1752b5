import { CodecError } from '../../codec/errors.js'
import { encodeResponse } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { apiVersionsUnsupportedResponse } from './api-versions-answers.js'
import { BuiltInProtocol } from './built-in-protocol.js'
import type { ConnectionState } from './connection-state.js'
import { buildErrorResponse } from './error-responses.js'
import type { ExchangePort, ExchangeRuntime } from './exchange-port.js'
import type {
  DecodedRequest,
  DecodedResponse,
  Filter,
  FilterContext,
  RequestVerdict,
  ResponseVerdict,
  SentResponse,
} from './filter-api.js'
import { type FilterChain, isPromise, onlyObservers, recordsAsSummary } from './filter-chain.js'
import { type ContextHost, FilterContextImpl } from './filter-context.js'
import { Frame } from './frame.js'
import { FrameAccounting } from './frame-accounting.js'
import {
  decodeRequestFrame,
  decodeResponseFrame,
  filtersNeeding,
  type ReencodeError,
  reencodeRequest,
  reencodeResponse,
  requestObservation,
  responseObservation,
} from './message-decoding.js'
import { OwnRequests } from './own-requests.js'
import { splitRejectedPartitions } from './partition-rejections.js'
import { keepPiece, type ReadLease } from './read-lease.js'
import {
  BUILT_IN_APIS,
  ClientIdReader,
  HEAD_BYTES,
  planRequest,
  type RequestPlan,
  screenRequest,
} from './request-plan.js'
import type { SaslV0Framing } from './sasl-v0.js'
import { apiName, newSlot, type Slot } from './slot.js'
import { SlotQueues } from './slot-queues.js'
import type { StreamedObservation } from './streamed-observation.js'

export type { ExchangePort, ExchangeRuntime, PauseReason } from './exchange-port.js'
export { HEAD_BYTES } from './request-plan.js'

/**
 * The exchange: everything that happens to a Kafka message between the client's socket and the broker's, for one
 * client connection. Read it top to bottom:
 *
 *   1. requests   a whole request (onRequest) or one streaming in (beginRequestStream, requestPiece) is planned
 *                 once from its header (planRequest: pass, observe or hold), counted, then forwarded as its own
 *                 bytes, or decoded, run through the filters and the verdict applied (applyRequestVerdict);
 *   2. responses  the broker's answer is matched to its slot (onResponse, or beginResponseStream and
 *                 responsePiece for one streaming through), run back through the filters that asked, and put in
 *                 its slot; slots go to the client strictly in request order (slot-queues.ts);
 *   3. own requests  a filter's sendRequest takes an upstream slot but no client slot, so the client's order is
 *                 untouched; its answer goes only to the caller (sendOwnRequest, answerOwn).
 *
 * The connection around it (src/server/client-connection.ts) owns sockets, read buffers and flow control and
 * implements ExchangePort. Requests of one connection are handled strictly in arrival order: a filter that returns
 * a promise holds back the requests behind it until it settles (blockOn).
 */

export class Exchange implements ContextHost {
  private readonly contexts = new Map<Filter, FilterContextImpl>()
  private readonly ctxFor = (f: Filter): FilterContext => this.contexts.get(f)!
  private readonly slots: SlotQueues
  /** Requests waiting for their turn while a filter's promise is pending. */
  private readonly backlog: Frame[] = []
  private blocked = false
  private streamingRequest:
    | { slot: Slot; observers: readonly Filter[]; observation: StreamedObservation<DecodedRequest> | undefined }
    | undefined
  private streamingResponse:
    | { slot: Slot; length: number; observation: StreamedObservation<DecodedResponse> | undefined }
    | undefined
  private readonly builtIn: BuiltInProtocol
  /** SaslHandshake v0 (KIP-43): SASL tokens as bare size-prefixed frames with no Kafka header. */
  private readonly saslV0: SaslV0Framing
  private readonly clientIds = new ClientIdReader()
  private readonly accounting: FrameAccounting
  /** Made on a filter's first request of its own: most connections never send one. */
  private ownRequests: OwnRequests | undefined

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
    this.builtIn = new BuiltInProtocol(state, rt)
    this.saslV0 = this.builtIn.saslV0
    this.accounting = new FrameAccounting(state, rt, chain, this.ctxFor)
    this.slots = new SlotQueues(port, rt, this.accounting, state)
  }

  private get own(): OwnRequests {
    this.ownRequests ??= new OwnRequests({
      chain: this.chain,
      ctxFor: this.ctxFor,
      unavailable: () => this.ownRequestsUnavailable(),
      clientId: () => this.state.clientId,
      send: (frame, slot) => {
        if (slot !== undefined) this.slots.upstream.push(slot)
        this.port.toUpstream(frame)
      },
      learn: (res) => this.builtIn.response(res),
      close: (reason) => this.port.close(reason),
      protocolError: (err) => this.port.protocolError('broker', err),
    })
    return this.ownRequests
  }

  /** Nothing in flight, nothing waiting, nothing half-streamed: a drain may close now. */
  get idle(): boolean {
    return this.slots.client.length === 0 && !this.blocked && this.streamingRequest === undefined
  }

  /** A request is streaming in from the client: reading must go on until its last byte. */
  get receiving(): boolean {
    return this.streamingRequest !== undefined
  }

  get inflight(): number {
    return this.slots.client.length
  }

  /** Bytes held in memory by the exchange: requests waiting behind a filter and responses waiting for their turn. */
  heldBytes(): number {
    let n = this.slots.heldBytes()
    for (const f of this.backlog) n += f.length
    return n
  }

  // ------------------------------------------------------------------ 1. requests

  /**
   * Refuses a request as soon as its header is in (throws; the connection closes it as a protocol error) when its
   * API is unknown, it is larger than its API may be, or its version cannot be decoded for a filter that must see it
   * (request-plan.ts screenRequest). Called for every request, before its body is buffered when it spans reads.
   */
  screen(head: Buffer, size: number): void {
    screenRequest(head, size, this.rt.limits, this.chain, this.saslV0.clientTokenNext)
  }

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
    // Before the broker connection is up the pieces queue in the connection, which reads no more until it is.
    const phase = this.port.phase
    if (phase === 'draining' || phase === 'closed' || this.blocked || this.saslV0.clientTokenNext) return false
    let plan: RequestPlan
    try {
      // The client id first: a filter's wantsRequest for the connection's first request may depend on it.
      if (!this.identify(head)) return false
      plan = planRequest(head, this.chain)
      if (plan.route === 'hold') return false
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
    this.slots.limitInflight()
    if (observation !== undefined) this.observeRequest(() => observation.result(), s.slot, s.observers)
    this.port.settled()
  }

  /** Handles one whole request; returns a promise only when a filter is asynchronous. */
  private handleRequest(frame: Frame): Promise<void> | undefined {
    let plan: RequestPlan
    try {
      this.screen(frame.head(8), frame.length)
      if (this.saslV0.takeClientToken()) {
        // A bare SASL v0 token: not a Kafka request, forwarded as it is.
        this.port.toUpstream(frame)
        return undefined
      }
      if (!frame.peek(HEAD_BYTES, (b) => this.identify(b))) return undefined
      plan = frame.peek(HEAD_BYTES, (b) => planRequest(b, this.chain))
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
      this.slots.client.push(slot)
      this.slots.flush()
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
    this.builtIn.request(req)
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

  /** Counts a request that will go on; false when a filter counting bytes closed the connection. */
  private count(plan: RequestPlan, bytes: number): boolean {
    const closedBy = this.accounting.request(plan.apiKey, plan.apiVersion, plan.correlationId, bytes)
    if (closedBy === undefined) return true
    this.port.close(`filter closed the connection: ${closedBy}`)
    return false
  }

  private newSlot(plan: RequestPlan): Slot {
    // Responses to requests the codec cannot decode are not decoded either: no response filter runs.
    const filters = plan.decodable ? this.chain.responseFilters(plan.apiKey, plan.apiVersion) : []
    return newSlot(plan.correlationId, plan.apiKey, plan.apiVersion, filters, this.state.now())
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
    try {
      return reencodeRequest(req, this.chain.requestRecordsAsSummary(req.apiKey, req.apiVersion))
    } catch (err) {
      this.port.internalError((err as ReencodeError).what, (err as ReencodeError).cause)
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
    this.slots.client.push(slot)
    this.slots.flush()
  }

  private sendUpstream(frame: Frame, slot: Slot, expectsResponse: boolean): void {
    this.admitUpstream(slot, expectsResponse)
    this.port.toUpstream(frame)
    if (slot.apiKey === ApiKey.SaslHandshake) this.saslV0.handshakeSent()
  }

  /**
   * A request is on its way to the broker: its response takes the next slot (none for acks=0 Produce). With
   * `limitNow` false (a request still streaming in) the in-flight limit is applied once it is whole: pausing the
   * client in the middle of it would hold back the very bytes the broker needs before it can answer.
   */
  private admitUpstream(slot: Slot, expectsResponse: boolean, limitNow = true): void {
    slot.sentAt = this.state.now()
    if (!expectsResponse) return
    this.slots.sent(slot)
    if (limitNow) this.slots.limitInflight()
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
   * Notes the client id of a request header (`head` starts at the size prefix). False when a filter refused a new
   * client id and closed the connection.
   */
  private identify(head: Buffer): boolean {
    if (!this.clientIds.read(head)) return true
    const id = this.clientIds.id
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
    if (this.saslV0.takeUpstreamToken()) {
      this.port.toClient(frame)
      return
    }
    const slot = this.slots.match(frame.head(8))
    if (slot === undefined) return
    this.accounting.arrived(slot, frame.length)
    if (slot.apiKey === ApiKey.SaslHandshake && slot.apiVersion === 0) this.saslV0.handshakeAnswered(frame.head(10))
    slot.answeredAt = this.state.now()
    if (slot.own !== undefined) {
      this.own.answer(slot, frame)
      return
    }
    const filters = filtersNeeding(slot.responseFilters, slot.apiKey, slot.apiVersion, frame, HEAD_BYTES)
    // ApiVersions answers are always read: what the broker supports decides the versions of the sidecar's own requests.
    if (slot.merge === undefined && slot.apiKey !== ApiKey.ApiVersions) {
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
    this.builtIn.response(res)
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
    if (this.port.phase === 'closed' || this.saslV0.upstreamTokenNext || head.length < 8) return false
    const slot = this.slots.upstream[0]
    if (slot === undefined || slot.correlationId !== head.readInt32BE(4) || this.slots.client[0] !== slot) return false
    if (BUILT_IN_APIS.has(slot.apiKey) || slot.merge !== undefined) return false
    if (!onlyObservers(slot.responseFilters)) return false
    this.slots.upstream.shift()
    slot.answeredAt = this.state.now()
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
    this.slots.client.shift()
    this.accounting.responded(slot, s.length, this.state.now())
    if (s.observation !== undefined) {
      const observation = s.observation
      this.observeResponse(() => observation.result(), slot.responseFilters)
    }
    this.slots.flush()
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
    this.builtIn.response(res)
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
      try {
        out = reencodeResponse(res, summary)
      } catch (err) {
        this.port.internalError((err as ReencodeError).what, (err as ReencodeError).cause)
        return
      }
    }
    this.complete(slot, out)
  }

  private complete(slot: Slot, frame: Frame): void {
    slot.response = frame
    this.slots.flush()
  }

  // ------------------------------------------------------------------ 3. the filters' own requests

  /** A request of the filter at `position` (FilterContext.sendRequest): see own-requests.ts. */
  sendOwnRequest(
    position: number,
    apiKey: number,
    apiVersion: number,
    body: unknown,
    expectResponse: boolean,
  ): Promise<SentResponse | undefined> {
    return this.own.send(position, apiKey, apiVersion, body, expectResponse)
  }

  private ownRequestsUnavailable(): string | undefined {
    const phase = this.port.phase
    // Before the broker connection is up, requests queue in the connection (which dials it) like the client's own.
    if (phase === 'closed') return 'the connection is closed'
    // The bare SASL v0 tokens are counted frame by frame: a request in between would be taken for one.
    if (this.saslV0.active) {
      return 'a SASL v0 exchange is in progress'
    }
    return undefined
  }

  usableVersion(apiKey: number, min: number): number | undefined {
    return this.builtIn.usableVersion(apiKey, min)
  }

  muteClient(ms: number): void {
    this.port.muteClient(ms)
  }

  /** The connection is gone: the filters' own requests still waiting fail, and the filters are released. */
  close(): void {
    this.slots.close()
    this.backlog.length = 0
    this.chain.close()
  }
}
