import type { Clock, FilterCounter, FilterGauge } from '../../src/pipeline/filter-api.js'
import type { RedisSettings } from './config.js'
import { type Budget, TokenBucket } from './token-bucket.js'

/**
 * Cluster-wide budgets: one bucket per (limit, entity) in a store every sidecar of a deployment shares (Redis), so
 * a client id running in 200 pods gets one limit, not 200.
 *
 * The hot path never waits for the store. Each sidecar holds a small lease of tokens per budget, borrowed in slices
 * (about `leaseMs` of the full rate), and charges requests against it; when the lease runs low it asks for the next
 * slice in the background, and while a budget owes tokens every `leaseMs` tick asks again. The store hands out only
 * what its bucket holds (it refills at the limit's rate, up to its burst), so across all sidecars a client gets the
 * rate and no more; a sidecar whose client is over budget owes tokens until later slices pay them back, and its
 * client waits debt / (rate / sharers), sharers being how many sidecars borrowed from the bucket lately (the store
 * counts them), i.e. this sidecar's share of the refill.
 *
 * A charge that puts a budget in debt while a slice is on the way is judged as if the slice were granted in full,
 * and judged again once it is in (`settling`): a budget just created, or back from a fallback, starts with an empty
 * lease and would otherwise throttle a client that is well within its limit, while a client that keeps sending
 * (pipelined requests) is held back at once for whatever the slice cannot cover. The request itself is never held.
 *
 * When the store does not answer (a failed or timed-out command), every budget falls back to a local token bucket,
 * with the full rate (`fallback: local`) or the sidecar's last known share of it (`fallback: share`), carrying its
 * balance over; the sidecar says so once in its log, in a metric and in readiness detail, and pings the store until
 * it answers, then goes back to borrowing. A store that restarts empty simply starts full buckets.
 */

export interface BorrowResult {
  /** Tokens granted, at most what was asked. */
  readonly granted: number
  /** Sidecars that borrowed from this bucket within the store's window, this one included. */
  readonly sharers: number
}

/** What cluster-wide budgets need from the shared store (redis-store.ts implements it with Redis). */
export interface SharedStore {
  /** Takes up to `ask` tokens from the bucket `key` (refilled at `rate`/s up to `burst` by the store's clock). */
  borrow(key: string, rate: number, burst: number, ask: number): Promise<BorrowResult>
  /** Puts unused tokens back into the bucket (capped at its burst). */
  giveBack(key: string, rate: number, burst: number, amount: number): Promise<void>
  /** Resolves when the store answers. */
  ping(): Promise<void>
  /** Where the store is, without credentials, for log lines. */
  readonly address: string
  close(): Promise<void>
}

export type SharedState = 'starting' | 'shared' | 'fallback'

export interface SharedBudgetsOptions {
  readonly store: SharedStore
  readonly settings: RedisSettings
  readonly clock: Clock
  readonly log: {
    info(fields: Record<string, unknown>, msg: string): void
    warn(fields: Record<string, unknown>, msg: string): void
  }
  readonly connected?: FilterGauge
  readonly fallbacks?: FilterCounter
}

/** A budget that has seen no charge for this long gives its lease back and stops asking. */
const IDLE_MS = 2000
/** While the store does not answer, it is pinged this often. */
const PROBE_MS = 500
/** Repeated fallbacks within this long after the last one logged are counted, not logged again. */
const LOG_INTERVAL_MS = 60_000

export class SharedBudgets {
  private state: SharedState = 'starting'
  private reason: string | undefined
  private since: number
  private readonly active = new Set<SharedBudget>()
  private cancelTick: (() => void) | undefined
  private probing = false
  private lastDownLog = Number.NEGATIVE_INFINITY
  private unlogged = 0
  /** Whether the current fallback was logged: then so is the recovery. */
  private downLogged = false
  private closed = false

  constructor(private readonly o: SharedBudgetsOptions) {
    this.since = o.clock.now()
    o.connected?.set({}, 0)
    this.probe()
  }

  get settings(): RedisSettings {
    return this.o.settings
  }

  get store(): SharedStore {
    return this.o.store
  }

  /** Whether budgets are shared through the store now; for /readyz detail and tests. */
  status(): { readonly state: SharedState; readonly since: number; readonly reason: string | undefined } {
    return { state: this.state, since: this.since, reason: this.reason }
  }

  create(key: string, rate: number, burst: number, now: number): SharedBudget {
    return new SharedBudget(this, key, rate, burst, now)
  }

  get sharing(): boolean {
    return this.state === 'shared'
  }

  /** A budget was charged: it takes part in the ticks until it is idle again. */
  touched(b: SharedBudget): void {
    if (this.closed) return
    this.active.add(b)
    this.schedule()
  }

  /** Asks for the next slice when the lease is below half a slice and nothing is on the way. */
  maybeBorrow(b: SharedBudget): void {
    if (this.state !== 'shared' || b.inflight !== undefined) return
    const slice = b.slice(this.o.settings.leaseMs)
    if (b.tokens < slice / 2) this.borrow(b, slice - b.tokens)
  }

  private borrow(b: SharedBudget, ask: number): void {
    b.asking = ask
    b.inflight = this.o.store.borrow(b.key, b.rate, b.burst, ask).then(
      (r) => {
        b.inflight = undefined
        b.asking = 0
        b.granted(r)
      },
      (err: unknown) => {
        b.inflight = undefined
        b.asking = 0
        this.fallBack(err)
      },
    )
  }

  private schedule(): void {
    if (this.cancelTick !== undefined || this.closed) return
    const ms = this.state === 'shared' ? this.o.settings.leaseMs : PROBE_MS
    this.cancelTick = this.o.clock.setTimer(ms, () => {
      this.cancelTick = undefined
      this.tick()
    })
  }

  private tick(): void {
    if (this.closed) return
    if (this.state !== 'shared') {
      // Pinged until it answers (probe schedules the next tick itself when it fails).
      this.probe()
      return
    }
    const now = this.o.clock.monotonic()
    for (const b of this.active) {
      if (b.inflight !== undefined) continue
      const idle = now - b.lastUsed
      if (idle > IDLE_MS && b.tokens >= 0) {
        // Unused tokens go back for the other sidecars; an idle budget stops asking.
        if (b.tokens > 0) {
          const amount = b.tokens
          b.tokens = 0
          this.o.store.giveBack(b.key, b.rate, b.burst, amount).catch((err: unknown) => this.fallBack(err))
        }
        this.active.delete(b)
        continue
      }
      this.maybeBorrow(b)
    }
    if (this.active.size > 0) this.schedule()
  }

  /** Pings the store (at start, and while falling back) and goes back to sharing once it answers. */
  private probe(): void {
    if (this.probing || this.closed) return
    this.probing = true
    this.o.store.ping().then(
      () => {
        this.probing = false
        this.share()
      },
      (err: unknown) => {
        this.probing = false
        this.fallBack(err)
        this.schedule()
      },
    )
  }

  private share(): void {
    if (this.closed || this.state === 'shared') return
    const was = this.state
    const now = this.o.clock.monotonic()
    this.state = 'shared'
    this.reason = undefined
    this.since = this.o.clock.now()
    this.o.connected?.set({}, 1)
    if (was === 'starting' || this.downLogged)
      this.o.log.info(
        { redis: this.o.store.address, ...(this.unlogged > 0 ? { unloggedFallbacks: this.unlogged } : {}) },
        was === 'starting'
          ? 'rate-limit budgets are shared through Redis'
          : 'Redis answers again: rate-limit budgets are shared across sidecars again',
      )
    if (this.downLogged) this.unlogged = 0
    for (const b of this.active) {
      b.toShared(now)
      this.maybeBorrow(b)
    }
    if (this.active.size > 0) this.schedule()
  }

  private fallBack(err: unknown): void {
    if (this.closed || this.state === 'fallback') return
    const reason = err instanceof Error ? err.message : String(err)
    this.state = 'fallback'
    this.reason = reason
    this.since = this.o.clock.now()
    this.o.connected?.set({}, 0)
    this.o.fallbacks?.inc()
    const now = this.o.clock.monotonic()
    for (const b of this.active) b.toLocal(now, this.o.settings.fallback)
    this.schedule()
    // One line when it happens; a store that keeps coming and going is summed up in the next line instead.
    this.downLogged = now - this.lastDownLog >= LOG_INTERVAL_MS
    if (!this.downLogged) {
      this.unlogged++
      return
    }
    this.lastDownLog = now
    this.o.log.warn(
      { redis: this.o.store.address, err: reason, fallback: this.o.settings.fallback },
      `Redis does not answer: rate limits are enforced by this sidecar alone (${fallbackWords(this.o.settings.fallback)}) until it does`,
    )
  }

  /** For budgets: the mode a new one starts in. */
  fallbackMode(): RedisSettings['fallback'] | undefined {
    return this.state === 'shared' ? undefined : this.o.settings.fallback
  }

  async close(): Promise<void> {
    this.closed = true
    this.cancelTick?.()
    this.cancelTick = undefined
    this.active.clear()
    await this.o.store.close()
  }
}

function fallbackWords(fallback: RedisSettings['fallback']): string {
  return fallback === 'local' ? 'each sidecar allows the full limit' : 'each sidecar allows its last known share'
}

/** One cluster-wide budget: a lease of tokens borrowed from the store, or a local bucket while the store is away. */
export class SharedBudget implements Budget {
  /** The lease: tokens borrowed and not yet spent; negative while the client owes. */
  tokens = 0
  sharers = 1
  lastUsed: number
  inflight: Promise<void> | undefined
  /** Tokens the slice on the way was asked for (0 when none is). */
  asking = 0
  private fallback: TokenBucket | undefined

  constructor(
    private readonly owner: SharedBudgets,
    readonly key: string,
    public rate: number,
    public burst: number,
    now: number,
  ) {
    this.lastUsed = now
    const mode = owner.fallbackMode()
    // Before the store has answered (or while it does not), a budget behaves as a local one from the start.
    if (mode !== undefined) this.fallback = new TokenBucket(rate, burst, now)
  }

  /** A slice: `leaseMs` worth of the full rate, and at least one unit where the burst allows (requests, mutations). */
  slice(leaseMs: number): number {
    return Math.max((this.rate * leaseMs) / 1000, Math.min(this.burst, 1))
  }

  setLimit(rate: number, burst: number, now: number): void {
    this.rate = rate
    this.burst = burst
    if (this.fallback !== undefined) this.fallback.setLimit(this.fallbackRate(rate), this.fallbackBurst(burst), now)
    if (this.tokens > burst) this.tokens = burst
  }

  take(amount: number, now: number): void {
    this.lastUsed = now
    this.follow(now)
    if (this.fallback !== undefined) {
      this.fallback.take(amount, now)
    } else {
      this.tokens -= amount
      this.owner.maybeBorrow(this)
    }
    this.owner.touched(this)
  }

  available(now: number): number {
    this.follow(now)
    return this.fallback !== undefined ? this.fallback.available(now) : this.tokens
  }

  /**
   * What is owed for certain: as if the slice on the way were granted in full. A client that goes on sending while
   * the store answers (pipelined requests) is held back for what exceeds even that, at once; the rest is judged
   * when the slice is in (`settling`).
   */
  debtMs(now: number): number {
    this.follow(now)
    if (this.fallback !== undefined) return this.fallback.debtMs(now)
    const owed = -(this.tokens + this.asking)
    return owed <= 0 ? 0 : ((owed * this.sharers) / this.rate) * 1000
  }

  settling(): Promise<void> | undefined {
    return this.fallback === undefined && this.tokens < 0 ? this.inflight : undefined
  }

  granted(r: BorrowResult): void {
    this.sharers = Math.max(1, r.sharers)
    if (this.fallback === undefined) this.tokens += r.granted
  }

  /** Follows the store's state: a budget not charged while it changed catches up on its next use. */
  private follow(now: number): void {
    const mode = this.owner.fallbackMode()
    if (mode === undefined) this.toShared(now)
    else this.toLocal(now, mode)
  }

  toLocal(now: number, mode: RedisSettings['fallback']): void {
    if (this.fallback !== undefined) return
    const rate = mode === 'local' ? this.rate : this.rate / this.sharers
    const burst = mode === 'local' ? this.burst : this.burst / this.sharers
    this.fallback = new TokenBucket(rate, burst, now, this.tokens)
  }

  /** Back to borrowing: a debt carries over, tokens the local bucket made up do not (they were never granted). */
  toShared(now: number): void {
    if (this.fallback === undefined) return
    this.tokens = Math.min(0, this.fallback.available(now))
    this.fallback = undefined
  }

  private fallbackRate(rate: number): number {
    return this.owner.settings.fallback === 'local' ? rate : rate / this.sharers
  }

  private fallbackBurst(burst: number): number {
    return this.owner.settings.fallback === 'local' ? burst : burst / this.sharers
  }
}
