import type { ConnectionView } from './filter-api.js'

/**
 * What the runtime reports about connections and frames, for statistics and metrics. Calls happen on the hot
 * path: implementations must be cheap and must never throw (an exception here would be a bug in the observer,
 * and the runtime does not guard against it). Nothing is reported for frames a connection refuses.
 */
export interface ConnectionObserver {
  opened(conn: ObservedConnection): void
  /** The client id or the client software (ApiVersions, KIP-511) became known or changed. */
  identified(conn: ObservedConnection): void
  /** A request frame arrived from the client (before any filter), `bytes` including the size prefix. */
  request(conn: ObservedConnection, apiKey: number, apiVersion: number, bytes: number): void
  /**
   * A response went to the client. Times in milliseconds: `upstreamMs` from sending the request to the broker
   * until its response arrived (0 when a filter answered), `totalMs` from the request's arrival until the
   * response was written. Time in the sidecar is totalMs - upstreamMs.
   */
  response(
    conn: ObservedConnection,
    apiKey: number,
    apiVersion: number,
    bytes: number,
    totalMs: number,
    upstreamMs: number,
  ): void
  /** A failure with a stable code (KSC_ERR_*), attributed to a connection when there is one. */
  error(code: string, conn: ObservedConnection | undefined): void
  /** A frame forwarded without being decoded (the decode predicate said no filter wants it). */
  passedThrough(conn: ObservedConnection, direction: 'request' | 'response'): void
  closed(conn: ObservedConnection, reason: string): void
}

/** The view of a connection observers get (the same object its filters see as FilterContext.connection). */
export type ObservedConnection = ConnectionView

/** An observer that ignores everything: the default when statistics are off. */
export const NO_OBSERVER: ConnectionObserver = {
  opened() {},
  identified() {},
  request() {},
  response() {},
  error() {},
  passedThrough() {},
  closed() {},
}

/** Fans calls out to several observers (metrics, statistics, audit), in order. */
export function combineObservers(observers: readonly ConnectionObserver[]): ConnectionObserver {
  if (observers.length === 0) return NO_OBSERVER
  if (observers.length === 1) return observers[0]!
  return {
    opened(c) {
      for (const o of observers) o.opened(c)
    },
    identified(c) {
      for (const o of observers) o.identified(c)
    },
    request(c, k, v, b) {
      for (const o of observers) o.request(c, k, v, b)
    },
    response(c, k, v, b, t, u) {
      for (const o of observers) o.response(c, k, v, b, t, u)
    },
    error(code, c) {
      for (const o of observers) o.error(code, c)
    },
    passedThrough(c, d) {
      for (const o of observers) o.passedThrough(c, d)
    },
    closed(c, r) {
      for (const o of observers) o.closed(c, r)
    },
  }
}
