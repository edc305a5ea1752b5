import type { FilterSetupContext } from '../../src/pipeline/filter-api.js'
import { BudgetRegistry, rateFor } from './budgets.js'
import type { RateLimitConfig, RedisSettings } from './config.js'
import { ConnectionLimits } from './connection-limits.js'
import { RedisStore } from './redis-store.js'
import { Report } from './report.js'
import { RuleSet } from './rules.js'
import { SharedBudgets, type SharedStore } from './shared-budget.js'

/**
 * Everything the rate-limit filter shares across connections and keeps across hot reloads: the rules in force, the
 * budgets, the connection counts, the cluster-wide store. A reload builds the next configuration aside (`prepare`)
 * and puts it in force only once the sidecar switched to it (`commit`), so a reload the sidecar rejects changes
 * nothing. Filters of open connections read the rules and budgets through this object, never copies: a commit bumps
 * `generation`, and each connection resolves its rule and budgets again on its next message.
 */

/** How the cluster-wide store is reached; tests give an in-memory one. */
export type ConnectStore = (settings: RedisSettings) => Promise<SharedStore>

export interface Prepared {
  readonly config: RateLimitConfig
  readonly rules: RuleSet
  readonly shared: SharedBudgets | undefined
}

const SWEEP_MS = 60_000

export class RateLimitState {
  config: RateLimitConfig
  rules: RuleSet
  /** Bumped by every commit: connections resolve their rule and budgets again when it changes. */
  generation = 1
  readonly budgets: BudgetRegistry
  readonly connections = new ConnectionLimits()
  shared: SharedBudgets | undefined
  readonly report: Report
  /** Whether any rule limits controller mutations. */
  mutations = false
  private cancelSweep: (() => void) | undefined
  private retired = false

  private constructor(
    readonly setup: FilterSetupContext,
    private readonly connectStore: ConnectStore,
    prepared: Prepared,
  ) {
    this.report = new Report(setup.metrics, setup.log, setup.statistics)
    this.config = prepared.config
    this.rules = prepared.rules
    this.shared = prepared.shared
    this.budgets = new BudgetRegistry(prepared.shared)
    this.noteFlags()
    this.scheduleSweep()
  }

  static async create(
    config: RateLimitConfig,
    setup: FilterSetupContext,
    connectStore: ConnectStore = RedisStore.connect,
  ): Promise<RateLimitState> {
    const shared = config.redis === undefined ? undefined : await sharedBudgets(config.redis, setup, connectStore)
    return new RateLimitState(setup, connectStore, { config, rules: new RuleSet(config.rules), shared })
  }

  get clock() {
    return this.setup.clock
  }

  /** The next configuration, built without touching the one in force (a new Redis connection if its settings changed). */
  async prepare(config: RateLimitConfig): Promise<Prepared> {
    let shared = this.shared
    if (!sameRedis(config.redis, this.config.redis)) {
      shared = config.redis === undefined ? undefined : await sharedBudgets(config.redis, this.setup, this.connectStore)
    }
    return { config, rules: new RuleSet(config.rules), shared }
  }

  /** Puts a prepared configuration in force: new limits apply to open connections on their next message. */
  commit(p: Prepared): void {
    const now = this.clock.monotonic()
    const previous = this.shared
    this.config = p.config
    this.rules = p.rules
    if (p.shared !== previous) {
      this.shared = p.shared
      this.budgets.useShared(p.shared, now)
      void previous?.close()
    }
    // Every budget refills at its new rate from now on, not from its client's next request.
    this.budgets.reconfigure((kind, owner, entity) => {
      const choice = this.rules.choose(owner.clientId, owner.principal)
      if (choice === undefined || choice.entity !== entity) return undefined
      const rate = rateFor(choice.rule, kind)
      return rate === undefined ? undefined : { rate, burst: rate * choice.rule.burstSeconds }
    }, now)
    this.generation++
    this.noteFlags()
  }

  /** A prepared configuration that will never be put in force. */
  discard(p: Prepared): void {
    if (p.shared !== this.shared) void p.shared?.close()
  }

  /** No configuration uses this state any more: stop the timers and the Redis connection. Budgets keep working locally. */
  async retire(): Promise<void> {
    if (this.retired) return
    this.retired = true
    this.cancelSweep?.()
    const shared = this.shared
    this.shared = undefined
    this.budgets.useShared(undefined, this.clock.monotonic())
    this.generation++
    await shared?.close()
  }

  /**
   * Readiness (ConfiguredFilter.health, /readyz): the sidecar stays ready without Redis, since its limits hold
   * locally, but the detail says so.
   */
  health(): { readonly ready: true; readonly detail?: string } {
    const s = this.shared?.status()
    if (s === undefined || s.state === 'shared') return { ready: true }
    if (s.state === 'starting') return { ready: true, detail: `connecting to Redis at ${this.shared!.store.address}` }
    return {
      ready: true,
      detail:
        `Redis at ${this.shared!.store.address} does not answer since ${new Date(s.since).toISOString()} ` +
        `(${s.reason ?? 'unknown'}); limits are enforced by this sidecar alone (fallback: ${this.config.redis?.fallback})`,
    }
  }

  private noteFlags(): void {
    this.mutations = this.config.rules.some((r) => r.limits.controllerMutationsPerSecond !== undefined)
  }

  private scheduleSweep(): void {
    this.cancelSweep = this.clock.setTimer(SWEEP_MS, () => {
      const now = this.clock.monotonic()
      this.budgets.sweep(now)
      this.connections.sweep(now)
      if (!this.retired) this.scheduleSweep()
    })
  }
}

async function sharedBudgets(
  settings: RedisSettings,
  setup: FilterSetupContext,
  connectStore: ConnectStore,
): Promise<SharedBudgets> {
  const store = await connectStore(settings)
  const report = new Report(setup.metrics, setup.log, undefined)
  return new SharedBudgets({
    store,
    settings,
    clock: setup.clock,
    log: setup.log,
    connected: report.redisConnected,
    fallbacks: report.redisFallbacks,
  })
}

function sameRedis(a: RedisSettings | undefined, b: RedisSettings | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return (
    a.url === b.url &&
    a.keyPrefix === b.keyPrefix &&
    a.fallback === b.fallback &&
    a.leaseMs === b.leaseMs &&
    a.timeoutMs === b.timeoutMs
  )
}
