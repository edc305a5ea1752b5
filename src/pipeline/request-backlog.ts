import type { ExchangePort } from './exchange-port.js'
import type { Frame } from './frame.js'

/**
 * Requests of one connection are handled strictly in arrival order: while a filter's promise for one request is
 * pending, the client is not read, and the requests already read wait here to be handled in turn once it settles.
 */
export class RequestBacklog {
  private readonly waiting: Frame[] = []
  /** A filter's promise is pending: a request arriving now must wait. */
  blocked = false

  constructor(
    private readonly port: ExchangePort,
    /** Handles one whole request; returns a promise only when a filter is asynchronous (Exchange.handleRequest). */
    private readonly handle: (frame: Frame) => Promise<void> | undefined,
  ) {}

  /** A request that arrived while blocked. */
  add(frame: Frame): void {
    this.waiting.push(frame)
  }

  /** Holds back the requests behind the one a filter returned `pending` for, and handles them once it settles. */
  blockOn(pending: Promise<void>): void {
    this.blocked = true
    this.port.pauseClient('filter')
    pending.then(
      () => {
        this.blocked = false
        while (this.waiting.length > 0 && !this.blocked && this.port.phase !== 'closed') {
          const next = this.handle(this.waiting.shift()!)
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

  /** Bytes of the requests waiting. */
  heldBytes(): number {
    let n = 0
    for (const f of this.waiting) n += f.length
    return n
  }

  /** The connection is gone: the waiting requests are dropped. */
  clear(): void {
    this.waiting.length = 0
  }
}
