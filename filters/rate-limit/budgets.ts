import { ApiKey } from '../../src/pipeline/filter-api.js'
import type { Rule } from './config.js'
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

const API_KEYS_BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(ApiKey))

/** The rate a rule gives a kind of budget (units per second), or undefined when it sets no such limit. */
export function rateFor(rule: Rule, kind: LimitKind): number | undefined {
  const l = rule.limits
  switch (kind) {
    case 'produceBytes':
      return l.produceBytesPerSecond
    case 'fetchBytes':
      return l.fetchBytesPerSecond
    case 'requests':
      return l.requestsPerSecond
    case 'controllerMutations':
      return l.controllerMutationsPerSecond
    default: {
      const apiKey = API_KEYS_BY_NAME.get(kind.slice('requests:'.length))
      return apiKey === undefined ? undefined : l.apiRequestsPerSecond?.get(apiKey)
    }
  }
}

/** A budget untouched for this long, and full again, is forgotten (the next request starts a fresh, full one). */
const FORGET_AFTER_MS = 10 * 60_000

/** Who a budget was made for: on a reload the rules are asked again for this client, to find its new limits. */
export interface BudgetOwner {
  readonly clientId: string | null
  readonly principal: string | undefined
}

/** The new rate and burst for a budget after a reload, or undefined when no rule gives its kind any longer. */
export type LimitLookup = (
  kind: LimitKind,
  owner: BudgetOwner,
  entity: string,
) => { rate: number; burst: number } | undefined

interface Entry {
  budget: Budget
  readonly kind: LimitKind
  readonly entity: string
  readonly owner: BudgetOwner
}

export class BudgetRegistry {
  private readonly budgets = new Map<string, Entry>()
  private shared: SharedBudgets | undefined

  constructor(shared: SharedBudgets | undefined) {
    this.shared = shared
  }

  get size(): number {
    return this.budgets.size
  }

  /** The budget of `kind` for `entity`, made on first use, with this rate and burst (updated in place when changed). */
  get(kind: LimitKind, entity: string, owner: BudgetOwner, rate: number, burst: number, now: number): Budget {
    const key = `${kind}|${encodeURIComponent(entity)}`
    const e = this.budgets.get(key)
    if (e === undefined) {
      const budget =
        this.shared === undefined ? new TokenBucket(rate, burst, now) : this.shared.create(key, rate, burst, now)
      this.budgets.set(key, { budget, kind, entity, owner })
      return budget
    }
    if (e.budget.rate !== rate || e.budget.burst !== burst) e.budget.setLimit(rate, burst, now)
    return e.budget
  }

  /**
   * A reload: every budget takes its new limits now, so it refills at the new rate from this moment on, whether or
   * not its clients send anything before their next request.
   */
  reconfigure(lookup: LimitLookup, now: number): void {
    for (const e of this.budgets.values()) {
      const l = lookup(e.kind, e.owner, e.entity)
      if (l !== undefined && (e.budget.rate !== l.rate || e.budget.burst !== l.burst))
        e.budget.setLimit(l.rate, l.burst, now)
    }
  }

  /**
   * Budgets become cluster-wide (or local again): each is replaced by one of the other kind holding its balance.
   * Connections pick the new objects up on their next request (the configuration generation changes with it).
   */
  useShared(shared: SharedBudgets | undefined, now: number): void {
    if (shared === this.shared) return
    this.shared = shared
    for (const [key, e] of this.budgets) {
      const old = e.budget
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
      e.budget = b
    }
  }

  /** Forgets budgets nobody used for a while that owe nothing and hold a full burst. */
  sweep(now: number): void {
    for (const [key, { budget: b }] of this.budgets) {
      if (now - b.lastUsed < FORGET_AFTER_MS) continue
      if (b.available(now) >= b.burst || (this.shared !== undefined && b.available(now) >= 0)) this.budgets.delete(key)
    }
  }
}
