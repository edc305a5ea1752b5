import { ApiKey } from '../../codec/messages/generated/apis.js'
import { BuiltInProtocol } from './built-in-protocol.js'
import { ClientIdentity } from './client-identity.js'
import type { ConnectionState } from './connection-state.js'
import { RequestCutThrough, ResponseCutThrough } from './cut-through.js'
import { ExchangeContextHost } from './exchange-context-host.js'
import type { ExchangePort, ExchangeRuntime } from './exchange-port.js'
import type {
  DecodedRequest,
  DecodedResponse,
  Filter,
  FilterContext,
  RequestVerdict,
  ResponseVerdict,
} from './filter-api.js'
import { type FilterChain, isPromise, onlyObservers, recordsAsSummary } from './filter-chain.js'
import { FilterContextImpl } from './filter-context.js'
import type { Frame } from './frame.js'
import { FrameAccounting } from './frame-accounting.js'
import { LocalAnswers } from './local-answers.js'
import {
  decodeRequestFrame,
  decodeResponseFrame,
  filtersNeeding,
  type ReencodeError,
  reencodeRequest,
  reencodeResponse,
} from './message-decoding.js'
import { ObservingFilters } from './observing-filters.js'
import type { ReadLease } from './read-lease.js'
import { RequestBacklog } from './request-backlog.js'
import { BUILT_IN_APIS, HEAD_BYTES, planRequest, type RequestPlan, screenRequest } from './request-plan.js'
import type { SaslV0Framing } from './sasl-v0.js'
import { newSlot, type Slot } from './slot.js'
import { SlotQueues } from './slot-queues.js'
import {
  type RequestRename,
  type ResponseRename,
  renameWholeRequest,
  renameWholeResponse,
  requestRename,
  responseRename,
} from './topic-renaming.js'

export type { ExchangePort, ExchangeRuntime, PauseReason } from './exchange-port.js'
export { HEAD_BYTES } from './request-plan.js'

/**
 * The exchange: everything that happens to a Kafka message between the client's socket and the broker's, for one
 * client connection. Read it top to bottom:
 *
 *   1. requests   a whole request (onRequest) is planned once from its header (planRequest: pass, observe or
 *                 hold), counted, then forwarded as its own bytes, or decoded, run through the filters and the
 *                 verdict applied (applyRequestVerdict); one that spans reads (beginRequestStream) is planned and
 *                 counted the same way, then streamed to the broker piece by piece;
 *   2. responses  the broker's answer is matched to its slot (onResponse), run back through the filters that
 *                 asked, and put in its slot; slots go to the client strictly in request order (slot-queues.ts); one
 *                 that spans reads (beginResponseStream) may stream to the client piece by piece.
 *
 * Beside the path, in modules of their own: requests held back while a filter's promise is pending, so that those
 * of one connection are handled strictly in arrival order (request-backlog.ts); the client id (client-identity.ts);
 * filters that only observe, which see a message after it went on (observing-filters.ts); answers the broker never
 * sees (local-answers.ts); streaming piece by piece (cut-through.ts); and the filters' own requests, which take an
 * upstream slot but no client slot, so the client's order is untouched, and whose answers go only to the caller
 * (exchange-context-host.ts, own-requests.ts). The connection around it (src/server/client-connection.ts) owns
 * sockets, read buffers and flow control and implements ExchangePort.
 */

/**
 * Requests a broker may hold for minutes until something happens elsewhere, which a drain need not wait for:
 * JoinGroup (11), held by the coordinator until every member has joined or the rebalance timeout passes
 * (max.poll.interval.ms, 5 minutes by default in the Java client). A member that loses the connection finds the
 * coordinator again and rejoins with its member id (AbstractCoordinator in the Java client, kafkajs's runner).
 * Not Fetch: its wait is bounded by the max_wait_ms its client chose (500 ms in the Java client, 5 s in kafkajs),
 * and answering it spares the consumer a disconnect. Not ShareFetch: it acquires the records it returns.
 */
const PARKED_APIS: ReadonlySet<number> = new Set([11])

export class Exchange {
  private readonly contexts = new Map<Filter, FilterContextImpl>()
  private readonly ctxFor = (f: Filter): FilterContext => this.contexts.get(f)!
  private readonly slots: SlotQueues
  /** Requests waiting for their turn while a filter's promise is pending. */
  private readonly backlog: RequestBacklog
  private readonly builtIn: BuiltInProtocol
  /** SaslHandshake v0 (KIP-43): SASL tokens as bare size-prefixed frames with no Kafka header. */
  private readonly saslV0: SaslV0Framing
  private readonly identity: ClientIdentity
  private readonly accounting: FrameAccounting
  private readonly observing: ObservingFilters
  private readonly local: LocalAnswers
  private readonly requestStream: RequestCutThrough
  private readonly responseStream: ResponseCutThrough
  /** What the filters' contexts ask of the exchange: their own requests, the broker's versions, muting. */
  private readonly contextHost: ExchangeContextHost

  constructor(
    private readonly state: ConnectionState,
    private readonly chain: FilterChain,
    private readonly port: ExchangePort,
    private readonly rt: ExchangeRuntime,
    /** The connection's read leases: whether the bytes handed in are valid only during the call. */
    clientLease: ReadLease,
    upstreamLease: ReadLease,
  ) {
    this.builtIn = new BuiltInProtocol(state, rt)
    this.saslV0 = this.builtIn.saslV0
    this.accounting = new FrameAccounting(state, rt, chain, this.ctxFor)
    this.slots = new SlotQueues(port, rt, this.accounting, state)
    this.contextHost = new ExchangeContextHost(state, chain, this.ctxFor, this.slots, port, this.builtIn)
    for (const [i, f] of chain.filters.entries())
      this.contexts.set(f, new FilterContextImpl(state, this.contextHost, i, rt.services))
    this.backlog = new RequestBacklog(port, (frame) => this.handleRequest(frame))
    this.identity = new ClientIdentity(state, rt, chain, this.ctxFor, port)
    this.observing = new ObservingFilters(chain, this.ctxFor, port, this.builtIn)
    this.local = new LocalAnswers(port, this.slots)
    this.requestStream = new RequestCutThrough(port, chain, this.slots, this.observing, clientLease)
    this.responseStream = new ResponseCutThrough(
      state,
      port,
      this.slots,
      this.accounting,
      this.observing,
      upstreamLease,
    )
  }

  /** Nothing in flight, nothing waiting, nothing half-streamed: a drain may close now. */
  get idle(): boolean {
    return this.slots.client.length === 0 && !this.backlog.blocked && !this.requestStream.active
  }

  /**
   * Everything in flight is a request the broker holds on purpose until something happens elsewhere (PARKED_APIS),
   * none of it answered yet and nothing half-streamed or waiting behind a filter: a drain may close now. The client
   * asks again through whoever listens next (a JoinGroup with the same member id), so closing loses nothing, where
   * waiting could hold a shutdown for a whole rebalance.
   */
  get parkedOnly(): boolean {
    if (this.backlog.blocked || this.requestStream.active) return false
    const { client, upstream } = this.slots
    // A response being streamed or waiting for its turn has left the upstream queue; a filter's own request is only
    // in it: either way the two differ, and the drain waits.
    if (client.length === 0 || upstream.length !== client.length) return false
    return client.every((slot, i) => upstream[i] === slot && PARKED_APIS.has(slot.apiKey))
  }

  /** A request is streaming in from the client: reading must go on until its last byte. */
  get receiving(): boolean {
    return this.requestStream.active
  }

  get inflight(): number {
    return this.slots.client.length
  }

  /**
   * Bytes held in memory by the exchange: requests waiting behind a filter, responses waiting for their turn, and the
   * heads of a request and a response being renamed while they stream.
   */
  heldBytes(): number {
    return (
      this.slots.heldBytes() +
      this.backlog.heldBytes() +
      this.requestStream.heldBytes() +
      this.responseStream.heldBytes()
    )
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
    if (this.backlog.blocked) {
      this.backlog.add(frame)
      return
    }
    const pending = this.handleRequest(frame)
    if (pending) this.backlog.blockOn(pending)
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
      if (!frame.peek(HEAD_BYTES, (b) => this.identity.note(b))) return undefined
      plan = frame.peek(HEAD_BYTES, (b) => planRequest(b, this.chain))
    } catch (err) {
      this.port.protocolError('client', err)
      return undefined
    }
    if (!this.count(plan, frame.length)) return undefined
    const slot = this.newSlot(plan)
    if (plan.apiKey === ApiKey.ApiVersions && !plan.decodable) {
      // A client newer than the codec: answered as a broker would, and it retries at a version the codec knows.
      this.local.unsupportedApiVersions(slot)
      return undefined
    }
    if (plan.route === 'pass') {
      this.rt.observer.passedThrough(this.state, 'request')
      this.sendUpstream(frame, slot, plan.expectsResponse)
      return undefined
    }
    if (plan.route === 'hold') {
      const rename = this.requestRenameFor(plan)
      if (rename !== undefined) {
        this.renamedRequest(frame, slot, plan, rename)
        return undefined
      }
    }
    const summary = this.chain.requestRecordsAsSummary(plan.apiKey, plan.apiVersion)
    if (plan.route === 'observe') {
      // Nothing may change or hold it: the request goes to the broker first and is decoded for the observers after.
      this.sendUpstream(frame, slot, plan.expectsResponse)
      this.observing.request(() => decodeRequestFrame(frame, summary), slot, plan.requestFilters)
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

  /** The filters' rename of a request they would otherwise hold (topic-renaming.ts), or undefined. */
  private requestRenameFor(plan: RequestPlan): RequestRename | undefined {
    if (!plan.decodable || BUILT_IN_APIS.has(plan.apiKey)) return undefined
    const { apiKey, apiVersion, correlationId, expectsResponse } = plan
    return requestRename(
      plan.requestFilters,
      { apiKey, apiVersion, correlationId, expectsResponse },
      this.ctxFor,
      this.chain.responseFilters(apiKey, apiVersion),
    )
  }

  /** A whole request whose only change is renaming its topics: renamed where it lies, its records never copied. */
  private renamedRequest(frame: Frame, slot: Slot, plan: RequestPlan, rename: RequestRename): void {
    let out: Frame
    try {
      out = renameWholeRequest(frame, plan.apiKey, plan.apiVersion, rename.rename)
    } catch (err) {
      // As on the ordinary way: a request its filters cannot read is not forwarded, so policy is not bypassed.
      this.port.protocolError('client', err)
      return
    }
    this.sendUpstream(out, slot, plan.expectsResponse)
    if (rename.observers.length === 0) return
    // The observers sit nearer the client than the renames: they see the request as the client sent it.
    this.observing.request(() => decodeRequestFrame(frame, rename.recordsAsSummary), slot, rename.observers)
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
        this.local.respond(slot, verdict.body, expectsResponse)
        return
      case 'error':
        this.local.error(slot, req, verdict.errorCode, verdict.message, expectsResponse)
        return
      case 'reject-partitions': {
        // The partitions no filter rejected go to the broker; its answer is merged with the rejections.
        const split = this.local.rejectPartitions(slot, req, verdict.rejections, expectsResponse)
        if (split === undefined) return // every partition answered here, or the split failed
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

  /**
   * A request that spans reads has begun (`head`: its first HEAD_BYTES): stream it to the broker piece by piece as
   * it arrives? Only when nothing may change or hold it (no request filter, or only observers, which see it decoded
   * once its last byte is in), or when the only change is renaming its topics (topic-renaming.ts), and it is next in
   * line. Anything else (a filter that may act on it otherwise, a request behind an asynchronous filter, ApiVersions
   * and SaslHandshake, SASL tokens, a header longer than the head) is buffered and handled whole by onRequest.
   */
  beginRequestStream(head: Buffer, length: number): boolean {
    // Before the broker connection is up the pieces queue in the connection, which reads no more until it is.
    const phase = this.port.phase
    if (phase === 'draining' || phase === 'closed' || this.backlog.blocked || this.saslV0.clientTokenNext) return false
    let plan: RequestPlan
    try {
      // The client id first: a filter's wantsRequest for the connection's first request may depend on it.
      if (!this.identity.note(head)) return false
      plan = planRequest(head, this.chain)
    } catch {
      return false // a header longer than the head, or malformed: onRequest reads it whole and judges it
    }
    // Asked before the request is counted: one that goes the ordinary way is counted once, whole, by onRequest.
    let rename: RequestRename | undefined
    if (plan.route === 'hold') {
      rename = this.requestRenameFor(plan)
      if (rename === undefined) return false
    }
    if (!this.count(plan, length)) return false
    if (plan.route === 'pass') this.rt.observer.passedThrough(this.state, 'request')
    const slot = this.newSlot(plan)
    this.admitUpstream(slot, plan.expectsResponse, false)
    this.requestStream.begin(plan, slot, length, rename)
    return true
  }

  /** The next piece of the request being streamed; `done` on its last. */
  requestPiece(piece: Buffer, done: boolean): void {
    this.requestStream.piece(piece, done)
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
      this.contextHost.answerOwn(slot, frame)
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
        this.observing.response(
          () => decodeResponseFrame(frame, slot.apiKey, slot.apiVersion, summary, slot.request),
          filters,
        )
        return
      }
      const rename = responseRename(filters, slot.apiKey, slot.apiVersion, slot.request, this.ctxFor)
      if (rename !== undefined) {
        this.renamed(slot, frame, rename)
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

  /** A whole response whose only change is renaming its topics: renamed where it lies, its records never copied. */
  private renamed(slot: Slot, frame: Frame, rename: ResponseRename): void {
    let out: Frame
    try {
      out = renameWholeResponse(frame, slot.apiVersion, rename.rename)
    } catch (err) {
      // As on the ordinary way: a response its filters cannot read must not reach the client unrenamed.
      this.port.protocolError('broker', err)
      return
    }
    this.complete(slot, out)
    if (rename.observers.length === 0) return
    const summary = recordsAsSummary(rename.observers, slot.apiKey, 'response', slot.apiVersion)
    this.observing.response(
      () => decodeResponseFrame(out, slot.apiKey, slot.apiVersion, summary, slot.request),
      rename.observers,
    )
  }

  private complete(slot: Slot, frame: Frame): void {
    slot.response = frame
    this.slots.flush()
  }

  /**
   * A response that spans reads has begun: write it to the client as it arrives when nothing has to change it (no
   * response filter that may act wants it; observers see it decoded once complete), or when the only change is
   * renaming its topics (topic-renaming.ts), and it is next in line for the client. Otherwise it is buffered and
   * handled whole by onResponse.
   */
  beginResponseStream(head: Buffer, length: number): boolean {
    if (this.port.phase === 'closed' || this.saslV0.upstreamTokenNext || head.length < 8) return false
    const slot = this.slots.upstream[0]
    if (slot === undefined || slot.correlationId !== head.readInt32BE(4) || this.slots.client[0] !== slot) return false
    if (BUILT_IN_APIS.has(slot.apiKey) || slot.merge !== undefined) return false
    let rename: ResponseRename | undefined
    if (!onlyObservers(slot.responseFilters)) {
      rename = responseRename(slot.responseFilters, slot.apiKey, slot.apiVersion, slot.request, this.ctxFor)
      if (rename === undefined) return false
    }
    this.slots.upstream.shift()
    slot.answeredAt = this.state.now()
    this.responseStream.begin(slot, length, rename)
    if (slot.responseFilters.length === 0) this.rt.observer.passedThrough(this.state, 'response')
    return true
  }

  /** The next piece of the response being streamed; `done` on its last. */
  responsePiece(piece: Buffer, done: boolean): void {
    this.responseStream.piece(piece, done)
  }

  /** The connection is gone: the filters' own requests still waiting fail, and the filters are released. */
  close(): void {
    this.slots.close()
    this.backlog.clear()
    this.chain.close()
  }
}
