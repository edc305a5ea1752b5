/**
 * The share of the budget client connections may hold themselves (their socket and TLS state, connection-footprint.ts),
 * whatever their number: the rest is always there for requests, so that idle connections, however many a client
 * opens, cannot starve the requests of connections at work.
 */
export const CONNECTIONS_SHARE = 0.5

/**
 * The bytes all client connections together may hold (limits.memoryBudgetBytes): the connections themselves, and
 * the requests they are assembling.
 * - A connection holds its estimated footprint from accept to close (holdConnection); over CONNECTIONS_SHARE of the
 *   budget a new connection is refused at accept, since an idle one gives nothing back by being paused.
 * - A request that must be buffered whole (a filter reads it, or it arrives behind an asynchronous filter) reserves
 *   its announced size when its first bytes arrive and releases it once it is whole; when what is left of the
 *   budget cannot cover it, that connection stops being read until others release enough (backpressure), first
 *   come first served. Requests that stream through to the broker hold nothing and reserve nothing.
 */
export class MemoryBudget {
  private used = 0
  private connectionsHeld = 0
  private readonly waiting: { bytes: number; grant: () => void }[] = []

  constructor(readonly limit: number) {}

  get reserved(): number {
    return this.used
  }

  get queued(): number {
    return this.waiting.length
  }

  /** What the open client connections hold themselves (their estimated footprints). */
  get heldByConnections(): number {
    return this.connectionsHeld
  }

  /** The most the connections may hold themselves: CONNECTIONS_SHARE of the budget. */
  get connectionsLimit(): number {
    return Math.floor(this.limit * CONNECTIONS_SHARE)
  }

  /** A new connection's footprint: taken if the connections' share can cover it; false otherwise (refuse it). */
  holdConnection(bytes: number): boolean {
    if (this.connectionsHeld + bytes > this.connectionsLimit) return false
    this.connectionsHeld += bytes
    return true
  }

  /** A connection closed: its footprint is free again, for connections and requests alike. */
  releaseConnection(bytes: number): void {
    this.connectionsHeld = Math.max(0, this.connectionsHeld - bytes)
    this.admitWaiting()
  }

  /** Takes `bytes` if they fit (and nobody is waiting ahead); false otherwise. */
  tryReserve(bytes: number): boolean {
    if (this.waiting.length > 0 || !this.fits(bytes)) return false
    this.used += bytes
    return true
  }

  private fits(bytes: number): boolean {
    return this.used + this.connectionsHeld + bytes <= this.limit
  }

  /**
   * Waits for `bytes` to fit, then takes them and calls `grant`. The returned function withdraws the wait (the
   * connection closed first).
   */
  reserveWhenFree(bytes: number, grant: () => void): () => void {
    const entry = { bytes, grant }
    this.waiting.push(entry)
    this.admitWaiting()
    return () => {
      const i = this.waiting.indexOf(entry)
      if (i >= 0) this.waiting.splice(i, 1)
      this.admitWaiting()
    }
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes)
    this.admitWaiting()
  }

  private admitWaiting(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.bytes)) {
      const next = this.waiting.shift()!
      this.used += next.bytes
      next.grant()
    }
  }
}

/**
 * One connection's share of the budget: the request it is assembling. `waiting`/`granted` pause and resume that
 * connection's reading while the budget cannot cover it.
 */
export class Reservation {
  private bytes = 0
  private withdraw: (() => void) | undefined

  constructor(
    private readonly budget: MemoryBudget,
    private readonly waiting: () => void,
    private readonly granted: () => void,
  ) {}

  take(bytes: number): void {
    this.release()
    this.bytes = bytes
    if (this.budget.tryReserve(bytes)) return
    this.waiting()
    this.withdraw = this.budget.reserveWhenFree(bytes, () => {
      this.withdraw = undefined
      this.granted()
    })
  }

  release(): void {
    if (this.bytes === 0) return
    if (this.withdraw !== undefined) {
      this.withdraw()
      this.withdraw = undefined
    } else this.budget.release(this.bytes)
    this.bytes = 0
  }
}
