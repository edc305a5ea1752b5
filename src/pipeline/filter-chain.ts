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

const key = (apiKey: number, apiVersion: number) => apiKey * 256 + (apiVersion & 0xff)

export class FilterChain {
  private readonly requestCache = new Map<number, readonly Filter[]>()
  private readonly responseCache = new Map<number, readonly Filter[]>()
  private readonly summaryCache = new Map<number, boolean>()

  constructor(readonly filters: readonly Filter[]) {}

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
   * Runs `filters` over a request until one answers, errors or closes. Stays synchronous unless a filter
   * returns a promise.
   */
  runRequest(filters: readonly Filter[], req: DecodedRequest, ctx: FilterContext): MaybePromise<RequestOutcome> {
    return step(filters, 0, req, ctx, false)
  }

  runResponse(filters: readonly Filter[], res: DecodedResponse, ctx: FilterContext): MaybePromise<ResponseOutcome> {
    return stepResponse(filters, 0, res, ctx, false)
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
}

const FORWARD: RequestVerdict = { kind: 'forward' }

function step(
  filters: readonly Filter[],
  i: number,
  req: DecodedRequest,
  ctx: FilterContext,
  modified: boolean,
): MaybePromise<RequestOutcome> {
  for (; i < filters.length; i++) {
    const result = filters[i]!.onRequest!(req, ctx)
    if (isPromise(result)) {
      const next = i + 1
      return result.then((verdict) => {
        const applied = applyRequest(verdict, req)
        if (applied === 'stop') return { verdict: verdict!, modified }
        return step(filters, next, req, ctx, modified || applied)
      })
    }
    const applied = applyRequest(result, req)
    if (applied === 'stop') return { verdict: result!, modified }
    modified ||= applied
  }
  return { verdict: FORWARD, modified }
}

/** true: body replaced, continue; false: unchanged, continue; 'stop': the filter answered or closed. */
function applyRequest(verdict: RequestVerdict | undefined, req: DecodedRequest): boolean | 'stop' {
  if (verdict === undefined || verdict.kind === 'forward') return false
  if (verdict.kind === 'replace') {
    req.body = verdict.body as DecodedRequest['body']
    return true
  }
  return 'stop'
}

const FORWARD_RESPONSE: ResponseVerdict = { kind: 'forward' }

function stepResponse(
  filters: readonly Filter[],
  i: number,
  res: DecodedResponse,
  ctx: FilterContext,
  modified: boolean,
): MaybePromise<ResponseOutcome> {
  for (; i < filters.length; i++) {
    const result = filters[i]!.onResponse!(res, ctx)
    if (isPromise(result)) {
      const next = i + 1
      return result.then((verdict) => {
        const applied = applyResponse(verdict, res)
        if (applied === 'stop') return { verdict: verdict!, modified }
        return stepResponse(filters, next, res, ctx, modified || applied)
      })
    }
    const applied = applyResponse(result, res)
    if (applied === 'stop') return { verdict: result!, modified }
    modified ||= applied
  }
  return { verdict: FORWARD_RESPONSE, modified }
}

function applyResponse(verdict: ResponseVerdict | undefined, res: DecodedResponse): boolean | 'stop' {
  if (verdict === undefined || verdict.kind === 'forward') return false
  if (verdict.kind === 'replace') {
    res.body = verdict.body as DecodedResponse['body']
    return true
  }
  return 'stop'
}

export function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | undefined)?.then === 'function'
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
