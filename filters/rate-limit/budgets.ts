import type { SharedBudgets } from './shared-budget.js'
import { type Budget, TokenBucket } from './token-bucket.js'

/**
 * Every budget of the filter, by limit and entity (a client id, a principal, or both: see rules.ts): one budget is
 * shared by all connections of its entity. Budgets outlive configurations: a hot reload sets the new rate and burst
 * on the budget in place (setLimit), so what a client holds or owes carries over and open connections see the new
 * limit on their next request. With Redis configured the budgets are cluster-wide (SharedBudget), otherwise local
 * token buckets; switching between the two (adding or removing `redis:`) carries each balance over.
 */

/** What a budget limits: a fixed limit, or `requests:<API name>` for one API's requests (requests:Metadata). */
export type LimitKind = 'produceBytes' | 'fetchBytes' | 'requests' | 'controllerMutations' | `requests:${string}`

/** A budget untouched for this long, and full again, is forgotten (the next request starts a fresh, full one). */
const FORGET_AFTER_MS = 10 * 60_000

export class BudgetRegistry {
  private readonly budgets = new Map<string, Budget>()
  private shared: SharedBudgets | undefined

  constructor(shared: SharedBudgets | undefined) {
    this.shared = shared
  }

  get size(): number {
    return this.budgets.size
  }

  /** The budget of `kind` for `entity`, made on first use, with this rate and burst (updated in place when changed). */
  get(kind: LimitKind, entity: string, rate: number, burst: number, now: number): Budget {
    const key = `${kind}|${encodeURIComponent(entity)}`
    let b = this.budgets.get(key)
    if (b === undefined) {
      b = this.shared === undefined ? new TokenBucket(rate, burst, now) : this.shared.create(key, rate, burst, now)
      this.budgets.set(key, b)
    } else if (b.rate !== rate || b.burst !== burst) {
      b.setLimit(rate, burst, now)
    }
    return b
  }

  /**
   * Budgets become cluster-wide (or local again): each is replaced by one of the other kind holding its balance.
   * Connections pick the new objects up on their next request (the configuration generation changes with it).
   */
  useShared(shared: SharedBudgets | undefined, now: number): void {
    if (shared === this.shared) return
    this.shared = shared
    for (const [key, old] of this.budgets) {
      const balance = old.available(now)
      let b: Budget
      if (shared === undefined) {
        b = new TokenBucket(old.rate, old.burst, now, balance)
      } else {
        const s = shared.create(key, old.rate, old.burst, now)
        // A debt carries over; tokens held locally were never granted by the shared bucket.
        if (balance < 0) s.take(-balance, now)
        b = s
      }
      this.budgets.set(key, b)
    }
  }

  /** Forgets budgets nobody used for a while that owe nothing and hold a full burst. */
  sweep(now: number): void {
    for (const [key, b] of this.budgets) {
      if (now - b.lastUsed < FORGET_AFTER_MS) continue
      if (b.available(now) >= b.burst || (this.shared !== undefined && b.available(now) >= 0)) this.budgets.delete(key)
    }
  }
}
