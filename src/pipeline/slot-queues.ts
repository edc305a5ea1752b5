import { peekResponseCorrelationId } from '../../codec/header.js'
import type { ConnectionState } from './connection-state.js'
import type { ExchangePort, ExchangeRuntime } from './exchange-port.js'
import type { FrameAccounting } from './frame-accounting.js'
import type { Slot } from './slot.js'

/**
 * The two queues of one connection's requests awaiting answers. `client`: every request the client will get an
 * answer to, in the client's order; its answers are written strictly from the head as they become ready. `upstream`:
 * every request sent to the broker (the client's and the sidecar's own), in the order sent; a broker answers a
 * connection's requests in that order (Kafka protocol guide: "the server guarantees that on a single TCP connection,
 * requests will be processed in the order they are sent and responses will return in that order as well"), which is
 * how each answer finds its slot, the correlation id serving as the check.
 */
export class SlotQueues {
  readonly client: Slot[] = []
  readonly upstream: Slot[] = []

  constructor(
    private readonly port: ExchangePort,
    private readonly rt: ExchangeRuntime,
    private readonly accounting: FrameAccounting,
    private readonly state: ConnectionState,
  ) {}

  /** A request went to the broker: its answer takes the next slot in both queues. */
  sent(slot: Slot): void {
    this.client.push(slot)
    this.upstream.push(slot)
  }

  /** Too many answers outstanding: stop reading the client until some are written (maxInflightRequests). */
  limitInflight(): void {
    if (this.client.length >= this.rt.maxInflightRequests) this.port.pauseClient('inflight')
  }

  /**
   * The slot a broker answer (`head`: its first 8 bytes) belongs to: the oldest one sent, whose correlation id it must
   * carry. A mismatch is the broker breaking the protocol: the connection is closed and undefined returned.
   */
  match(head: Buffer): Slot | undefined {
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

  /** Writes every ready answer at the head of the client's queue, in request order. */
  flush(): void {
    const order = this.client
    if (order.length === 0 || order[0]!.response === undefined) return
    const now = this.state.now()
    while (order.length > 0 && order[0]!.response !== undefined) {
      const slot = order.shift()!
      this.port.toClient(slot.response!)
      this.accounting.responded(slot, slot.response!.length, now)
    }
    if (order.length < this.rt.maxInflightRequests) this.port.resumeClient('inflight')
    this.port.settled()
  }

  /** Bytes of answers waiting for their turn. */
  heldBytes(): number {
    let n = 0
    for (const s of this.client) n += s.response?.length ?? 0
    return n
  }

  /** The connection is gone: the sidecar's own requests still waiting fail. */
  close(): void {
    for (const slot of this.upstream) slot.own?.reject(new Error('the connection closed before the broker answered'))
    this.upstream.length = 0
  }
}
