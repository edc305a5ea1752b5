import { hasRecordsFields } from '../../codec/messages/records-fields.js'
import type {
  DecodedRequest,
  DecodedResponse,
  Filter,
  FilterContext,
  MaybePromise,
  RequestVerdict,
  ResponseVerdict,
} from './filter-api.js'

/**
 * The filters of one client connection, in configured order. Requests run through them first to last,
 * responses last to first. Which filters want an (api key, version) is worked out once and cached, so the
 * per-frame cost of the decode predicate is one map lookup.
 *
 * Observers (Filter.observesOnly) have one meaning everywhere: they are called in their place in the chain,
 * but never waited for and their verdicts are never applied; a verdict other than forward is reported through
 * `misbehaved`. A message that only observers want is not held for them at all (the exchange forwards it first).
 */

const NONE: readonly Filter[] = Object.freeze([])

export interface RequestOutcome {
  verdict: RequestVerdict
  /** True when some filter replaced or changed the body: it must be re-encoded. */
  modified: boolean
}

export interface ResponseOutcome {
  verdict: ResponseVerdict
  modified: boolean
}

/** Told when an observer returned a verdict other than forward, or failed. */
export type ObserverReport = (filter: Filter, err: Error) => void

const key = (apiKey: number, apiVersion: number) => apiKey * 256 + (apiVersion & 0xff)

export class FilterChain {
  private readonly requestCache = new Map<number, readonly Filter[]>()
  private readonly responseCache = new Map<number, readonly Filter[]>()
  private readonly summaryCache = new Map<number, boolean>()
  private readonly responseCounterCache = new Map<number, readonly Filter[]>()
  private readonly positions = new Map<Filter, number>()
  /** Filters with onRequestBytes / onResponseBytes / onClientId, in configured order (usually none). */
  readonly requestCounters: readonly Filter[]
  readonly responseCounters: readonly Filter[]
  readonly clientIdWatchers: readonly Filter[]

  constructor(
    readonly filters: readonly Filter[],
    private readonly misbehaved: ObserverReport = () => {},
  ) {
    for (const [i, f] of filters.entries()) this.positions.set(f, i)
    this.requestCounters = filters.filter((f) => f.onRequestBytes !== undefined)
    this.responseCounters = filters.filter((f) => f.onResponseBytes !== undefined)
    this.clientIdWatchers = filters.filter((f) => f.onClientId !== undefined)
  }

  /**
   * The filters whose onResponseBytes sees responses of this API key and version (countsResponseBytes), in
   * configured order; cached like the others.
   */
  responseCountersFor(apiKey: number, apiVersion: number): readonly Filter[] {
    if (this.responseCounters.length === 0) return NONE
    const k = key(apiKey, apiVersion)
    let hit = this.responseCounterCache.get(k)
    if (hit === undefined) {
      const counting = this.responseCounters.filter((f) => f.countsResponseBytes?.(apiKey, apiVersion) ?? true)
      hit = counting.length === 0 ? NONE : counting
      this.responseCounterCache.set(k, hit)
    }
    return hit
  }

  /**
   * A filter's wants changed (FilterContext.wantsChanged): every cached answer is asked again when next needed.
   * Messages already routed keep the filter lists they were given.
   */
  forgetWants(): void {
    this.requestCache.clear()
    this.responseCache.clear()
    this.summaryCache.clear()
    this.responseCounterCache.clear()
  }

  /** Position of a filter in configured order. */
  positionOf(filter: Filter): number {
    return this.positions.get(filter) ?? -1
  }

  /** Filters that want this request decoded, in request order; empty when none (the frame passes through). */
  requestFilters(apiKey: number, apiVersion: number): readonly Filter[] {
    const k = key(apiKey, apiVersion)
    let hit = this.requestCache.get(k)
    if (hit === undefined) {
      const wanted = this.filters.filter(
        (f) => f.onRequest !== undefined && f.wantsRequest?.(apiKey, apiVersion) === true,
      )
      hit = wanted.length === 0 ? NONE : wanted
      this.requestCache.set(k, hit)
    }
    return hit
  }

  /**
   * Whether a filter that may act on requests (not an observer) wants this API and version: then a request of it
   * must never pass undecoded. Asked only for versions the codec cannot decode, so not cached.
   */
  mustDecodeRequest(apiKey: number, apiVersion: number): boolean {
    return this.filters.some(
      (f) => f.observesOnly !== true && f.onRequest !== undefined && f.wantsRequest?.(apiKey, apiVersion) === true,
    )
  }

  /** Filters that want this response decoded, in response order (reverse of configuration). */
  responseFilters(apiKey: number, apiVersion: number): readonly Filter[] {
    const k = key(apiKey, apiVersion)
    let hit = this.responseCache.get(k)
    if (hit === undefined) {
      const wanted = this.filters
        .filter((f) => f.onResponse !== undefined && f.wantsResponse?.(apiKey, apiVersion) === true)
        .reverse()
      hit = wanted.length === 0 ? NONE : wanted
      this.responseCache.set(k, hit)
    }
    return hit
  }

  /** The request filters after position `after` (towards the broker): the path of a filter's own request. */
  requestFiltersAfter(after: number, apiKey: number, apiVersion: number): readonly Filter[] {
    return this.requestFilters(apiKey, apiVersion).filter((f) => this.positionOf(f) > after)
  }

  /** The response filters after position `after`, in response order: the way back of a filter's own request. */
  responseFiltersAfter(after: number, apiKey: number, apiVersion: number): readonly Filter[] {
    return this.responseFilters(apiKey, apiVersion).filter((f) => this.positionOf(f) > after)
  }

  /**
   * Whether requests of this api key and version may be decoded with their records as summaries (see
   * recordsAsSummary): judged on the request filters and the response filters, which see the request too.
   */
  requestRecordsAsSummary(apiKey: number, apiVersion: number): boolean {
    const k = key(apiKey, apiVersion)
    let hit = this.summaryCache.get(k)
    if (hit === undefined) {
      const requestFilters = this.requestFilters(apiKey, apiVersion)
      hit =
        recordsAsSummary(requestFilters, apiKey, 'request', apiVersion) &&
        this.responseFilters(apiKey, apiVersion).every((f) => f.records === 'summary')
      this.summaryCache.set(k, hit)
    }
    return hit
  }

  /**
   * Runs `filters` over a request until one answers, errors or closes. Stays synchronous unless a filter that
   * may act returns a promise. `ctxFor` gives each filter its own context.
   */
  runRequest(
    filters: readonly Filter[],
    req: DecodedRequest,
    ctxFor: (f: Filter) => FilterContext,
  ): MaybePromise<RequestOutcome> {
    return this.stepRequest(filters, 0, req, ctxFor, false)
  }

  runResponse(
    filters: readonly Filter[],
    res: DecodedResponse,
    ctxFor: (f: Filter) => FilterContext,
  ): MaybePromise<ResponseOutcome> {
    return this.stepResponse(filters, 0, res, ctxFor, false)
  }

  close(): void {
    for (const f of this.filters) {
      try {
        f.onClose?.()
      } catch {
        // A filter failing to clean up must not stop the others; the connection is gone either way.
      }
    }
  }

  private stepRequest(
    filters: readonly Filter[],
    i: number,
    req: DecodedRequest,
    ctxFor: (f: Filter) => FilterContext,
    modified: boolean,
  ): MaybePromise<RequestOutcome> {
    for (; i < filters.length; i++) {
      const f = filters[i]!
      if (f.observesOnly === true) {
        let observed: MaybePromise<{ kind: string } | undefined>
        try {
          observed = f.onRequest!(req, ctxFor(f))
        } catch (err) {
          this.misbehaved(f, asError(err))
          continue
        }
        if (observed !== undefined) this.checkObserved(f, observed)
        continue
      }
      const result = f.onRequest!(req, ctxFor(f))
      if (isPromise(result)) {
        const next = i + 1
        return result.then((verdict) => {
          const applied = applyRequest(verdict, req)
          if (applied === 'stop') return { verdict: verdict!, modified }
          return this.stepRequest(filters, next, req, ctxFor, modified || applied)
        })
      }
      const applied = applyRequest(result, req)
      if (applied === 'stop') return { verdict: result!, modified }
      modified ||= applied
    }
    return { verdict: FORWARD, modified }
  }

  private stepResponse(
    filters: readonly Filter[],
    i: number,
    res: DecodedResponse,
    ctxFor: (f: Filter) => FilterContext,
    modified: boolean,
  ): MaybePromise<ResponseOutcome> {
    for (; i < filters.length; i++) {
      const f = filters[i]!
      if (f.observesOnly === true) {
        let observed: MaybePromise<{ kind: string } | undefined>
        try {
          observed = f.onResponse!(res, ctxFor(f))
        } catch (err) {
          this.misbehaved(f, asError(err))
          continue
        }
        if (observed !== undefined) this.checkObserved(f, observed)
        continue
      }
      const result = f.onResponse!(res, ctxFor(f))
      if (isPromise(result)) {
        const next = i + 1
        return result.then((verdict) => {
          const applied = applyResponse(verdict, res)
          if (applied === 'stop') return { verdict: verdict!, modified }
          return this.stepResponse(filters, next, res, ctxFor, modified || applied)
        })
      }
      const applied = applyResponse(result, res)
      if (applied === 'stop') return { verdict: result!, modified }
      modified ||= applied
    }
    return { verdict: FORWARD_RESPONSE, modified }
  }

  /**
   * What an observer returned other than nothing (the common case never gets here): a verdict other than forward, or a
   * promise that rejects or resolves to one, is reported and otherwise has no effect on the message.
   */
  private checkObserved(f: Filter, observed: MaybePromise<{ kind: string } | undefined>): void {
    const check = (verdict: { kind: string } | undefined): void => {
      if (verdict !== undefined && verdict.kind !== 'forward') {
        this.misbehaved(f, new Error(`an observing filter returned '${verdict.kind}', which is not applied`))
      }
    }
    if (isPromise(observed)) observed.then(check, (err) => this.misbehaved(f, asError(err)))
    else check(observed)
  }
}

const FORWARD: RequestVerdict = { kind: 'forward' }
const FORWARD_RESPONSE: ResponseVerdict = { kind: 'forward' }

/** true: body replaced, continue; false: unchanged, continue; 'stop': the filter answered or closed. */
function applyRequest(verdict: RequestVerdict | undefined, req: DecodedRequest): boolean | 'stop' {
  if (verdict === undefined || verdict.kind === 'forward') return false
  if (verdict.kind === 'replace') {
    req.body = verdict.body as DecodedRequest['body']
    return true
  }
  return 'stop'
}

function applyResponse(verdict: ResponseVerdict | undefined, res: DecodedResponse): boolean | 'stop' {
  if (verdict === undefined || verdict.kind === 'forward') return false
  if (verdict.kind === 'replace') {
    res.body = verdict.body as DecodedResponse['body']
    return true
  }
  return 'stop'
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

export function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | undefined)?.then === 'function'
}

/** True when none of these filters may change a message (all of them only observe). */
export function onlyObservers(filters: readonly Filter[]): boolean {
  for (const f of filters) if (f.observesOnly !== true) return false
  return true
}

/**
 * Whether a message handled by `filters` may be decoded with its records as summaries (Filter.records): every one
 * of them reads no more than batch headers, and none can change a message that carries records (a summary cannot
 * be encoded again): all only observe, or the message has no records fields.
 */
export function recordsAsSummary(
  filters: readonly Filter[],
  apiKey: number,
  side: 'request' | 'response',
  apiVersion: number,
): boolean {
  if (filters.length === 0) return false
  let observers = true
  for (const f of filters) {
    if (f.records !== 'summary') return false
    if (f.observesOnly !== true) observers = false
  }
  return observers || !hasRecordsFields(apiKey, side, apiVersion)
}
