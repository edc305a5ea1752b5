import { TopicRenameStream } from '../../codec/messages/topic-rename-stream.js'
import type { ConnectionState } from './connection-state.js'
import type { ExchangePort } from './exchange-port.js'
import type { DecodedRequest, DecodedResponse, Filter } from './filter-api.js'
import { type FilterChain, recordsAsSummary } from './filter-chain.js'
import { Frame } from './frame.js'
import type { FrameAccounting } from './frame-accounting.js'
import { requestObservation, responseObservation } from './message-decoding.js'
import type { ObservingFilters } from './observing-filters.js'
import { keepPiece, type ReadLease } from './read-lease.js'
import type { RequestPlan } from './request-plan.js'
import type { Slot } from './slot.js'
import type { SlotQueues } from './slot-queues.js'
import type { StreamedObservation } from './streamed-observation.js'
import type { RequestRename, ResponseRename } from './topic-renaming.js'

/**
 * Cut-through: a message that spans socket reads goes on piece by piece as it arrives instead of being buffered
 * whole, when nothing may change or hold it (the exchange decides, in beginRequestStream and beginResponseStream).
 * The filters that only observe it see it decoded once its last byte has passed (streamed-observation.ts). A
 * connection streams at most one request in and one response out at a time, so it has one of each, reused.
 */

const NO_FILTERS: readonly Filter[] = Object.freeze([])

/** The request streaming from the client to the broker. */
export class RequestCutThrough {
  private slot: Slot | undefined = undefined
  private observers: readonly Filter[] = NO_FILTERS
  private observation: StreamedObservation<DecodedRequest> | undefined = undefined
  /** Its topics being renamed on the way (topic-renaming.ts), or undefined when it goes on as it came. */
  private renaming: TopicRenameStream | undefined = undefined
  /** The renaming refused the request: the connection is closing, the rest of it is dropped. */
  private failed = false

  constructor(
    private readonly port: ExchangePort,
    private readonly chain: FilterChain,
    private readonly slots: SlotQueues,
    private readonly observing: ObservingFilters,
    /** The client side's read lease: whether a piece is valid only during the call. */
    private readonly lease: ReadLease,
  ) {}

  /** A request is streaming in: reading must go on until its last byte. */
  get active(): boolean {
    return this.slot !== undefined
  }

  /** Bytes of the request held while its renamed size is not known yet (a request of several topics). */
  heldBytes(): number {
    return this.renaming?.heldBytes ?? 0
  }

  /**
   * The exchange planned, counted and sent on the request of `slot`, `length` bytes: its pieces follow. With
   * `rename`, its topics are renamed on the way; its observers, nearer the client, see it as the client sent it.
   */
  begin(plan: RequestPlan, slot: Slot, length: number, rename?: RequestRename): void {
    this.slot = slot
    this.failed = false
    this.observers = rename === undefined ? plan.requestFilters : rename.observers
    const observed = rename === undefined ? plan.route === 'observe' : rename.observers.length > 0
    this.observation = observed
      ? requestObservation(
          plan.apiKey,
          plan.apiVersion,
          length,
          rename === undefined
            ? this.chain.requestRecordsAsSummary(plan.apiKey, plan.apiVersion)
            : rename.recordsAsSummary,
          this.lease.transient,
        )
      : undefined
    this.renaming =
      rename === undefined
        ? undefined
        : new TopicRenameStream(length, plan.apiVersion, rename.rename, this.renamedPiece, plan.apiKey)
  }

  /** The next piece of the request; `done` on its last. */
  piece(piece: Buffer, done: boolean): void {
    const renaming = this.renaming
    if (renaming === undefined) {
      if (this.port.phase !== 'closed') this.port.toUpstream(Frame.of(piece))
    } else if (!this.failed) {
      try {
        renaming.push(piece)
        // Pieces held until the renamed size is known outlive this read.
        if (renaming.holding) this.lease.lent = true
      } catch (err) {
        // As for a whole request: one whose names cannot be read is not forwarded (nothing of it went on: the
        // stream sends nothing before its names are read, and reads nothing after).
        this.failed = true
        this.port.protocolError('client', err)
      }
    }
    const observation = this.observation
    if (observation !== undefined) observation.push(observation.holdsPieces ? keepPiece(this.lease, piece) : piece)
    if (!done) return
    const slot = this.slot!
    const observers = this.observers
    this.slot = undefined
    this.observers = NO_FILTERS
    this.observation = undefined
    this.renaming = undefined
    if (this.port.phase === 'closed' || this.failed) return
    // The in-flight limit, left until the request is whole (Exchange.admitUpstream), applies now.
    this.slots.limitInflight()
    if (observation !== undefined) this.observing.request(() => observation.result(), slot, observers)
    this.port.settled()
  }

  /** A piece of the renamed request, the first of them its new size prefix. */
  private readonly renamedPiece = (piece: Buffer): void => {
    if (this.port.phase !== 'closed') this.port.toUpstream(Frame.of(piece))
  }
}

/** The response streaming from the broker to the client. */
export class ResponseCutThrough {
  private slot: Slot | undefined = undefined
  private length = 0
  private observers: readonly Filter[] = NO_FILTERS
  private observation: StreamedObservation<DecodedResponse> | undefined = undefined
  /** Its topics being renamed on the way (topic-renaming.ts), or undefined when it goes on as it came. */
  private renaming: TopicRenameStream | undefined = undefined
  /** The renaming refused the response: the connection is closing, the rest of it is dropped. */
  private failed = false

  constructor(
    private readonly state: ConnectionState,
    private readonly port: ExchangePort,
    private readonly slots: SlotQueues,
    private readonly accounting: FrameAccounting,
    private readonly observing: ObservingFilters,
    /** The broker side's read lease: pieces held for the observers keep the read buffer they lie in. */
    private readonly lease: ReadLease,
  ) {}

  /**
   * The exchange matched the response to `slot`, next in line for the client, `length` bytes: its pieces follow.
   * With `rename`, its topics are renamed on the way and its observers see it renamed.
   */
  begin(slot: Slot, length: number, rename?: ResponseRename): void {
    this.slot = slot
    this.length = length
    this.failed = false
    this.observers = rename === undefined ? slot.responseFilters : rename.observers
    this.observation = undefined
    this.renaming = undefined
    if (rename === undefined) this.observation = this.observe(length)
    else this.renaming = new TopicRenameStream(length, slot.apiVersion, rename.rename, this.renamedPiece)
  }

  private observe(length: number): StreamedObservation<DecodedResponse> | undefined {
    const slot = this.slot!
    const filters = this.observers
    if (filters.length === 0) return undefined
    const summary = recordsAsSummary(filters, slot.apiKey, 'response', slot.apiVersion)
    return responseObservation(slot.apiKey, slot.apiVersion, length, summary, slot.request)
  }

  /** Bytes of the response held while its renamed size is not known yet (a response of several topics). */
  heldBytes(): number {
    return this.renaming?.heldBytes ?? 0
  }

  /** The next piece of the response; `done` on its last. */
  piece(piece: Buffer, done: boolean): void {
    const renaming = this.renaming
    if (renaming !== undefined) {
      if (!this.failed) {
        try {
          renaming.push(piece)
          // Pieces held until the renamed size is known outlive this read.
          if (renaming.holding) this.lease.lent = true
        } catch (err) {
          this.failed = true
          this.port.protocolError('broker', err)
        }
      }
    } else this.toClient(piece)
    if (!done) return
    const slot = this.slot!
    const observation = this.observation
    const observers = this.observers
    const length = renaming === undefined ? this.length : renaming.outputLength
    this.slot = undefined
    this.observation = undefined
    this.renaming = undefined
    this.observers = NO_FILTERS
    if (this.failed) return
    this.slots.client.shift()
    this.accounting.responded(slot, length, this.state.now())
    if (observation !== undefined) this.observing.response(() => observation.result(), observers)
    this.slots.flush()
    // flush() says so only when it wrote a waiting answer: a draining connection whose last answer was this one
    // would otherwise wait out the whole drain timeout (a consumer's Fetch with records in it, in the soak's handover).
    this.port.settled()
  }

  /** A piece of the renamed response; the first one, its new size prefix, starts the observation. */
  private readonly renamedPiece = (piece: Buffer): void => {
    if (this.observation === undefined && this.observers.length > 0) {
      this.observation = this.observe(this.renaming!.outputLength)
    }
    this.toClient(piece)
  }

  private toClient(piece: Buffer): void {
    if (this.port.phase !== 'closed') this.port.toClient(Frame.of(piece))
    const observation = this.observation
    if (observation !== undefined) {
      observation.push(piece)
      if (observation.holdsPieces) this.lease.lent = true
    }
  }
}
