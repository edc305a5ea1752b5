import type { FetchRequest } from '../../codec/messages/generated/fetch-request.js'
import type { Reader } from '../../codec/primitives/reader.js'
import {
  ApiKey,
  type ConnectionView,
  type DecodedRequest,
  type DecodedResponse,
  type Filter,
  type FilterContext,
  type FrameFacts,
  hasThrottleTime,
  type MaybePromise,
  type RequestVerdict,
  type ResponseVerdict,
  replace,
  respond,
  setThrottleTimeMs,
  throttleTimeMs,
} from '../../src/pipeline/filter-api.js'
import { type LimitKind, rateFor } from './budgets.js'
import { describeMatch, type Rule } from './config.js'
import { chargeMutations, mergeRejections, type Rejected, rejectionResponse } from './controller-mutations.js'
import { capFetch } from './fetch-cap.js'
import type { ClientLabels } from './report.js'
import type { RuleChoice } from './rules.js'
import type { RateLimitState } from './state.js'
import { clientThrottles, isConnectionSetup, isControllerMutation } from './throttle-versions.js'
import type { Budget } from './token-bucket.js'

/**
 * The rate-limit filter on one client connection: it charges what the client does to its budgets and, when the
 * client goes over, makes it wait the way Kafka's brokers do (KIP-219), so that unmodified clients back off
 * instead of failing:
 *
 * - Produce bytes and requests are charged as each request arrives (onRequestBytes: frame sizes, nothing decoded).
 *   Over budget, the connection is not read for the debt's duration (FilterContext.muteClient, Kafka's channel
 *   muting), and the next response the client gets carries throttle_time_ms = max(the broker's, what is left of
 *   ours), so Java and kafkajs also hold back by themselves; a response version without client-side throttling
 *   (throttle-versions.ts) is held back for that long instead, as brokers did before KIP-219. librdkafka only
 *   reports throttle times, so for it the muting is what holds it back.
 * - Fetch bytes are charged as responses go out, and a client over budget is not read for the debt's duration; a
 *   Fetch request is first capped to what the budget allows (fetch-cap.ts). With throttleTimeInFetchResponses, a
 *   Fetch response that takes the budget into debt carries the throttle itself.
 * - Controller mutations are judged topic by topic (controller-mutations.ts).
 * - Connection limits close the connection before its first request goes on (admission or onClientId).
 *
 * Limits are read through the shared state on every message (a hot reload bumps its generation), so new limits
 * apply to open connections at once.
 */

/**
 * The rule and budgets of the connection's client, resolved once per client id and configuration generation. A class
 * rather than an object literal so that every plan has one hidden class: onRequestBytes reads these fields on every
 * request, and plans built by spreading literals reached V8's megamorphic property loads (seen with --log-ic).
 */
class Plan {
  constructor(
    readonly generation: number,
    readonly clientId: string | null,
    readonly choice: RuleChoice | undefined,
    readonly labels: ClientLabels,
    readonly produce: Charge | undefined,
    readonly fetch: Charge | undefined,
    readonly requests: Charge | undefined,
    /** By API key. */
    readonly apis: ReadonlyMap<number, Charge> | undefined,
    readonly mutations: Charge | undefined,
  ) {}

  /** No rule matches the client: nothing is charged. */
  static unlimited(generation: number, clientId: string | null, labels: ClientLabels): Plan {
    return new Plan(generation, clientId, undefined, labels, undefined, undefined, undefined, undefined, undefined)
  }
}

interface Charge {
  readonly budget: Budget
  readonly limit: LimitKind
}

const API_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(ApiKey).map(([name, key]) => [key, name]))

/** Response header and size prefix, which `needsResponse`'s reader does not cover: a few bytes more than the body. */
const RESPONSE_HEAD_BYTES = 8

export class RateLimitConnection implements Filter {
  /**
   * Records are never read: counting goes by frame sizes. Saying so keeps large Produce requests decoded in place for
   * the statistics (the runtime weighs response filters too), and a Fetch response it changes (its throttle time)
   * still comes with its records as bytes, as the runtime decodes messages a filter may change.
   */
  readonly records = 'summary' as const
  private plan: Plan | undefined
  /** When (clock.monotonic) the mute this filter last asked for ends; responses report what is left of it. */
  private mutedUntil = 0
  /** The end of the last mute a response reported, so one mute is reported once. */
  private reportedUntil = 0
  /** Fetch responses charged when decoded (onResponse): onResponseBytes must not charge them again. */
  private readonly chargedFetches = new Set<number>()
  /** Topics a controller mutation quota turned away, by the request they came in (merged into its response). */
  private readonly rejections = new WeakMap<DecodedRequest, Rejected>()
  /** The entity whose connection count this connection holds (connection limits), if any. */
  private boundEntity: string | undefined
  /** This filter's context on the connection (the same object on every call), for calls that are not given it. */
  private ctx: FilterContext | undefined

  constructor(
    private readonly state: RateLimitState,
    private readonly connection: ConnectionView,
    /** The entity counted at admission (a rule on principals decided before the first request). */
    admittedEntity: string | undefined,
  ) {
    if (admittedEntity !== undefined) {
      this.boundEntity = admittedEntity
      state.connections.opened(admittedEntity)
    }
  }

  // ------------------------------------------------------------------ what to decode

  wantsRequest(apiKey: number): boolean {
    if (apiKey === ApiKey.Fetch) return this.current().fetch !== undefined
    return isControllerMutation(apiKey) && this.state.mutations
  }

  /**
   * Responses come here only when they may have to change: Fetch responses with throttleTimeInFetchResponses,
   * controller mutation responses under a mutation quota (they carry its rejections), and any response while a
   * mute is not yet reported. The last depends on this connection's state, so the filter says when it changes
   * (FilterContext.wantsChanged): a client that is never throttled costs the response path nothing.
   */
  wantsResponse(apiKey: number): boolean {
    // Fetch responses are held whole (not streamed) for whoever wants them: only when asked to carry throttle times.
    if (apiKey === ApiKey.Fetch)
      return this.state.config.throttleTimeInFetchResponses && this.current().fetch !== undefined
    return (isControllerMutation(apiKey) && this.state.mutations) || this.unreported()
  }

  /** Only Fetch responses are charged as they go out (onResponseBytes). */
  countsResponseBytes(apiKey: number): boolean {
    return apiKey === ApiKey.Fetch
  }

  needsResponse(apiKey: number, _apiVersion: number, body: Reader): boolean {
    // The common case first, without a look at the clock: no mute to report, not an API judged by content.
    const unreported = this.unreported()
    if (!unreported && apiKey !== ApiKey.Fetch && !isControllerMutation(apiKey)) return false
    const p = this.current()
    if (isControllerMutation(apiKey) && p.mutations !== undefined) return true
    const now = this.state.clock.monotonic()
    if (apiKey === ApiKey.Fetch && p.fetch !== undefined) {
      if (p.fetch.budget.available(now) - (body.remaining + RESPONSE_HEAD_BYTES) < 0) return true
    }
    if (!unreported) return false
    if (this.mutedUntil - now >= 1) return true
    // The mute ended before a response could carry it: nothing is left to report.
    this.reportedUpTo(this.mutedUntil, this.ctx)
    return false
  }

  /** A mute has not been reported to the client yet. */
  private unreported(): boolean {
    return this.mutedUntil > this.reportedUntil
  }

  /** The client has been told of its mutes up to `until`; with none left to tell, responses stop coming here. */
  private reportedUpTo(until: number, ctx: FilterContext | undefined): void {
    if (until <= this.reportedUntil) return
    const was = this.unreported()
    this.reportedUntil = until
    if (was && !this.unreported()) ctx?.wantsChanged()
  }

  // ------------------------------------------------------------------ requests

  onClientId(clientId: string | null): { readonly kind: 'close'; readonly reason: string } | undefined {
    const choice = this.state.rules.choose(clientId, this.connection.principal)
    const rule = choice?.rule
    if (rule === undefined || !hasConnectionLimits(rule) || choice!.entity === this.boundEntity) return undefined
    const refusal = this.state.connections.admit(
      choice!.entity,
      rule.limits,
      rule.burstSeconds,
      this.state.clock.monotonic(),
    )
    if (refusal !== undefined) {
      this.state.report.refusedConnection(
        labelsOf(clientId, this.connection.principal),
        refusal,
        describeMatch(rule.match),
      )
      return { kind: 'close', reason: `rate-limit: ${refusal}` }
    }
    if (this.boundEntity !== undefined) this.state.connections.closed(this.boundEntity)
    this.boundEntity = choice!.entity
    this.state.connections.opened(choice!.entity)
    return undefined
  }

  onRequestBytes(facts: FrameFacts, ctx: FilterContext): undefined {
    this.ctx = ctx
    const p = this.current()
    if (p.choice === undefined) return undefined
    const apiKey = facts.apiKey
    const produce = apiKey === ApiKey.Produce ? p.produce : undefined
    const counted = !isConnectionSetup(apiKey)
    const requests = counted ? p.requests : undefined
    const api = counted && p.apis !== undefined ? p.apis.get(apiKey) : undefined
    if (produce === undefined && requests === undefined && api === undefined) return undefined
    const now = this.state.clock.monotonic()
    produce?.budget.take(facts.size, now)
    requests?.budget.take(1, now)
    api?.budget.take(1, now)
    // Every request comes here: the common case (no budget in debt, none waiting for a cluster-wide slice) ends
    // without building anything.
    if (settled(produce, now) && settled(requests, now) && settled(api, now)) return undefined
    const charges: Charge[] = []
    for (const c of [produce, requests, api]) if (c !== undefined) charges.push(c)
    this.judge(charges, ctx, apiKey, facts.size, now)
    return undefined
  }

  onRequest(req: DecodedRequest, ctx: FilterContext): MaybePromise<RequestVerdict | undefined> {
    const p = this.current()
    if (p.choice === undefined) return undefined
    const now = this.state.clock.monotonic()
    if (req.apiKey === ApiKey.Fetch && p.fetch !== undefined) {
      if (capFetch(req.body as FetchRequest, p.fetch.budget.available(now))) {
        this.state.report.fetchLowered.inc(p.labels)
        return replace(req.body)
      }
      return undefined
    }
    if (isControllerMutation(req.apiKey) && p.mutations !== undefined) return this.mutate(req, p, p.mutations, ctx, now)
    return undefined
  }

  private mutate(
    req: DecodedRequest,
    p: Plan,
    charge: Charge,
    ctx: FilterContext,
    now: number,
  ): RequestVerdict | undefined {
    const budget = charge.budget
    const decision = chargeMutations(req.apiKey, req.apiVersion, req.body, budget, now)
    if (decision?.rejected === undefined) {
      this.judge([charge], ctx, req.apiKey, req.size, now)
      return undefined
    }
    this.state.report.mutationsRejected.inc(p.labels, decision.rejected.count)
    // The client may try again once the budget is back above zero (KIP-599: -tokens / rate).
    const waitMs = Math.min(this.state.config.maxThrottleMs, Math.max(1, Math.ceil(budget.debtMs(now))))
    this.throttle(ctx, waitMs, 'controllerMutations', req.apiKey, req.size)
    const rate = p.choice?.rule.limits.controllerMutationsPerSecond
    const message = `controller mutations over ${rate}/s for this client (kafka-sidecar rate-limit); retry after ${waitMs} ms`
    if (decision.all) {
      const body = rejectionResponse(req.apiKey, req.apiVersion, decision.rejected, message)
      setThrottleTimeMs(req.apiKey, req.apiVersion, body, waitMs)
      this.reportedUpTo(this.mutedUntil, ctx)
      return respond(body)
    }
    this.rejections.set(req, { ...decision.rejected, message } as Rejected & { message: string })
    return replace(decision.forward)
  }

  // ------------------------------------------------------------------ responses

  onResponse(res: DecodedResponse, ctx: FilterContext): MaybePromise<ResponseVerdict | undefined> {
    const p = this.current()
    const now = this.state.clock.monotonic()
    let changed = false
    if (res.apiKey === ApiKey.Fetch && p.fetch !== undefined) {
      // Charged here rather than as it reaches the client, so that this very response can carry the throttle.
      p.fetch.budget.take(res.size, now)
      this.chargedFetches.add(res.header.correlationId)
      this.judge([p.fetch], ctx, res.apiKey, res.size, now)
    }
    const rejected = res.request === undefined ? undefined : this.rejections.get(res.request)
    if (rejected !== undefined) {
      mergeRejections(
        res.apiKey,
        res.apiVersion,
        res.body,
        rejected,
        (rejected as Rejected & { message: string }).message,
      )
      changed = true
    }
    const ours = Math.min(this.state.config.maxThrottleMs, Math.floor(this.mutedUntil - now))
    const toReport = ours >= 1 && this.unreported()
    // Reported now, or over before this response (nothing left to report).
    this.reportedUpTo(this.mutedUntil, ctx)
    if (!toReport) return changed ? replace(res.body) : undefined
    if (hasThrottleTime(res.apiKey, res.apiVersion)) {
      const broker = throttleTimeMs(res.apiKey, res.apiVersion, res.body) ?? 0
      if (ours > broker) {
        setThrottleTimeMs(res.apiKey, res.apiVersion, res.body, ours)
        changed = true
      }
    }
    const verdict = changed ? replace(res.body) : undefined
    if (clientThrottles(res.apiKey, res.apiVersion)) return verdict
    // This client does not wait by itself on this version: the response waits instead (Kafka before KIP-219).
    this.state.report.heldResponses.inc(p.labels)
    return new Promise((resolve) => this.state.clock.setTimer(ours, () => resolve(verdict)))
  }

  onResponseBytes(facts: FrameFacts, ctx: FilterContext): void {
    if (facts.apiKey !== ApiKey.Fetch) return
    if (this.chargedFetches.delete(facts.correlationId)) return
    const p = this.current()
    if (p.fetch === undefined) return
    const now = this.state.clock.monotonic()
    p.fetch.budget.take(facts.size, now)
    this.judge([p.fetch], ctx, facts.apiKey, facts.size, now)
  }

  onClose(): void {
    if (this.boundEntity !== undefined) this.state.connections.closed(this.boundEntity)
    this.boundEntity = undefined
  }

  // ------------------------------------------------------------------ throttling

  /**
   * After charging: when a budget is in debt, the client waits for the longest debt, at once. A cluster-wide budget
   * still waiting for a slice counts what even the whole slice would not cover now, and the rest once the slice is
   * in (the request has gone on regardless). `now` is the time the charges were taken at, in the same turn: the
   * clock is read once per request (at 100 connections each performance.now() costs a measurable share).
   */
  private judge(charges: readonly Charge[], ctx: FilterContext, apiKey: number, bytes: number, now: number): void {
    this.judgeNow(charges, ctx, apiKey, bytes, now)
    let pending: Promise<void>[] | undefined
    for (const c of charges) {
      const s = c.budget.settling()
      if (s === undefined) continue
      pending ??= []
      pending.push(s)
    }
    if (pending !== undefined) {
      const later = charges.slice()
      void Promise.all(pending).then(() => this.judgeNow(later, ctx, apiKey, bytes, this.state.clock.monotonic()))
    }
  }

  private judgeNow(charges: readonly Charge[], ctx: FilterContext, apiKey: number, bytes: number, now: number): void {
    let worst: Charge | undefined
    let ms = 0
    for (const c of charges) {
      const d = c.budget.debtMs(now)
      if (d > ms) {
        ms = d
        worst = c
      }
    }
    if (worst !== undefined) this.throttle(ctx, Math.ceil(ms), worst.limit, apiKey, bytes)
  }

  /** Mutes the client for `ms` (at most maxThrottleMs), counting only what extends a mute already running. */
  private throttle(ctx: FilterContext, ms: number, limit: LimitKind, apiKey: number, bytes: number): void {
    const wait = Math.min(ms, this.state.config.maxThrottleMs)
    if (wait < 1) return
    const now = this.state.clock.monotonic()
    const until = now + wait
    const added = until - Math.max(this.mutedUntil, now)
    if (added <= 0) return
    ctx.muteClient(wait)
    const was = this.unreported()
    this.mutedUntil = until
    // From now on responses come here until one has carried the mute (wantsResponse).
    if (!was) ctx.wantsChanged()
    const p = this.current()
    this.state.report.throttled(
      ctx.connection,
      p.labels,
      limit,
      apiKey,
      added,
      bytes,
      describeLimit(p.choice?.rule, limit),
    )
  }

  // ------------------------------------------------------------------ rule and budgets

  /** The rule and budgets for the connection's client now (resolved again after a reload or a new client id). */
  private current(): Plan {
    const p = this.plan
    const clientId = this.connection.clientId
    if (p !== undefined && p.generation === this.state.generation && p.clientId === clientId) return p
    this.plan = this.resolve(clientId)
    // New limits (a reload) or another client: whether Fetch requests and responses come here may have changed.
    if (p !== undefined) this.ctx?.wantsChanged()
    return this.plan
  }

  private resolve(clientId: string | null): Plan {
    const state = this.state
    const principal = this.connection.principal
    const choice = state.rules.choose(clientId, principal)
    const labels = labelsOf(clientId, principal)
    if (choice === undefined) return Plan.unlimited(state.generation, clientId, labels)
    const { rule, entity } = choice
    const now = state.clock.monotonic()
    const owner = { clientId, principal }
    const charge = (limit: LimitKind): Charge | undefined => {
      const rate = rateFor(rule, limit)
      if (rate === undefined) return undefined
      return { budget: state.budgets.get(limit, entity, owner, rate, rate * rule.burstSeconds, now), limit }
    }
    let apis: Map<number, Charge> | undefined
    if (rule.limits.apiRequestsPerSecond !== undefined) {
      apis = new Map()
      for (const apiKey of rule.limits.apiRequestsPerSecond.keys())
        apis.set(apiKey, charge(`requests:${API_NAMES.get(apiKey)}`)!)
    }
    return new Plan(
      state.generation,
      clientId,
      choice,
      labels,
      charge('produceBytes'),
      charge('fetchBytes'),
      charge('requests'),
      apis,
      charge('controllerMutations'),
    )
  }
}

/** No charge, or one whose budget is neither in debt nor waiting for tokens: nothing for judge to do. */
function settled(c: Charge | undefined, now: number): boolean {
  return c === undefined || (c.budget.debtMs(now) === 0 && c.budget.settling() === undefined)
}

export function hasConnectionLimits(rule: Rule): boolean {
  return rule.limits.maxConnections !== undefined || rule.limits.connectionsPerSecond !== undefined
}

export function labelsOf(clientId: string | null, principal: string | undefined): ClientLabels {
  return { client_id: clientId ?? '', principal: principal ?? '' }
}

function describeLimit(rule: Rule | undefined, limit: LimitKind): string {
  const l = rule?.limits
  switch (limit) {
    case 'produceBytes':
      return `produce limit (${l?.produceBytesPerSecond} bytes/s)`
    case 'fetchBytes':
      return `fetch limit (${l?.fetchBytesPerSecond} bytes/s)`
    case 'requests':
      return `request limit (${l?.requestsPerSecond} requests/s)`
    case 'controllerMutations':
      return `controller mutation limit (${l?.controllerMutationsPerSecond}/s)`
    default:
      return `${limit.slice('requests:'.length)} request limit`
  }
}
