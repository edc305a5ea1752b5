/**
 * The bytes all client connections together may hold for requests they are assembling (limits.memoryBudgetBytes).
 * A request that must be buffered whole (a filter reads it, or it arrives behind an asynchronous filter) reserves
 * its announced size when its first bytes arrive and releases it once it is whole; when the budget cannot cover it,
 * that connection stops being read until other connections release enough (backpressure), first come first served.
 * Requests that stream through to the broker hold nothing and reserve nothing.
 */
export class MemoryBudget {
  private used = 0
  private readonly waiting: { bytes: number; grant: () => void }[] = []

  constructor(readonly limit: number) {}

  get reserved(): number {
    return this.used
  }

  get queued(): number {
    return this.waiting.length
  }

  /** Takes `bytes` if they fit (and nobody is waiting ahead); false otherwise. */
  tryReserve(bytes: number): boolean {
    if (this.waiting.length > 0 || this.used + bytes > this.limit) return false
    this.used += bytes
    return true
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
    while (this.waiting.length > 0 && this.used + this.waiting[0]!.bytes <= this.limit) {
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
