import type {
  ConfiguredFilter,
  ConnectionInfo,
  ConnectionView,
  Filter,
  FilterHealth,
  FilterPlugin,
  FilterSetupContext,
  Refusal,
} from '../../src/pipeline/filter-api.js'
import { describeMatch, parseRateLimitConfig, type RateLimitConfig } from './config.js'
import { hasConnectionLimits, labelsOf, RateLimitConnection } from './connection-filter.js'
import { type ConnectStore, type Prepared, RateLimitState } from './state.js'

/**
 * rate-limit: per-client L7 rate limits that unmodified Kafka clients obey (README "Filters"; issue 16). Budgets per
 * client id and/or mTLS principal, chosen by rules; produce and fetch bytes, requests, controller mutations and
 * connections; enforced the way Kafka's brokers enforce quotas (KIP-219, KIP-599), in one sidecar or, through
 * Redis, across every sidecar of a deployment.
 *
 * Module map: config.ts (parsing and validation), rules.ts (which rule, whose budget), token-bucket.ts and
 * budgets.ts (the budgets), shared-budget.ts and redis-store.ts (cluster-wide budgets), connection-limits.ts,
 * connection-filter.ts (enforcement on a connection), fetch-cap.ts, controller-mutations.ts, throttle-versions.ts
 * (which versions clients throttle themselves), report.ts (metrics, statistics, log lines), state.ts (what
 * survives a hot reload).
 */

/**
 * One configuration of the filter. A hot reload makes a new one over the same RateLimitState (configure gets the
 * one it replaces), holding the new configuration aside until the sidecar has switched to it: the sidecar closes
 * the replaced instance right after the switch, or the new one is asked to admit or serve a connection, whichever
 * comes first. Connections opened before keep their Filter objects, which read limits through the state.
 */
export class RateLimitFilter implements ConfiguredFilter {
  readonly name = 'rate-limit'
  private successor: RateLimitFilter | undefined
  /** Connections admitted with a connection-limited entity, counted by their filter once it exists. */
  private readonly admitted = new Map<number, string>()

  constructor(
    readonly state: RateLimitState,
    private pending: Prepared | undefined,
  ) {}

  admit(info: ConnectionInfo): Refusal | undefined {
    this.activate()
    const state = this.state
    const choice = state.rules.chooseBeforeClientId(info.principal)
    if (choice === undefined || !hasConnectionLimits(choice.rule)) return undefined
    const refusal = state.connections.admit(
      choice.entity,
      choice.rule.limits,
      choice.rule.burstSeconds,
      state.clock.monotonic(),
    )
    if (refusal !== undefined) {
      state.report.refusedConnection(labelsOf(null, info.principal), refusal, describeMatch(choice.rule.match))
      return { reason: refusal }
    }
    // forConnection follows in the same turn for every connection the sidecar does not refuse.
    this.admitted.set(info.connectionId, choice.entity)
    return undefined
  }

  forConnection(connection: ConnectionView): Filter {
    this.activate()
    const entity = this.admitted.get(connection.connectionId)
    if (entity !== undefined) this.admitted.delete(connection.connectionId)
    return new RateLimitConnection(this.state, connection, entity)
  }

  /** For /readyz: always ready (limits hold without Redis), with a word while Redis does not answer. */
  health(): FilterHealth {
    return this.state.health()
  }

  /** Called by configure for the instance that replaces this one. */
  succeededBy(next: RateLimitFilter): void {
    const stale = this.successor
    if (stale !== undefined && stale !== next) stale.discard()
    this.successor = next
  }

  async close(): Promise<void> {
    this.admitted.clear()
    if (this.successor !== undefined) {
      // A reload: the sidecar has switched to the successor, which takes the state over.
      this.successor.activate()
      return
    }
    await this.state.retire()
  }

  private activate(): void {
    const p = this.pending
    if (p === undefined) return
    this.pending = undefined
    this.state.commit(p)
  }

  private discard(): void {
    const p = this.pending
    if (p === undefined) return
    this.pending = undefined
    this.state.discard(p)
  }
}

export interface RateLimitPluginOptions {
  /** How the cluster-wide store is reached: Redis through ioredis by default; tests give an in-memory store. */
  readonly connectStore?: ConnectStore
}

export function createRateLimitPlugin(options: RateLimitPluginOptions = {}): FilterPlugin<RateLimitConfig> {
  return {
    name: 'rate-limit',
    parseConfig: parseRateLimitConfig,
    async configure(config: RateLimitConfig, setup: FilterSetupContext, previous?: ConfiguredFilter) {
      if (previous instanceof RateLimitFilter) {
        const next = new RateLimitFilter(previous.state, await previous.state.prepare(config))
        previous.succeededBy(next)
        return next
      }
      return new RateLimitFilter(await RateLimitState.create(config, setup, options.connectStore), undefined)
    },
  }
}

export const rateLimitPlugin: FilterPlugin<RateLimitConfig> = createRateLimitPlugin()
