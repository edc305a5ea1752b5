import { API_DEFINITIONS } from '../../codec/messages/generated/apis.js'
import { OTHER } from './label-cap.js'
import { LatencyHistogram } from './latency-histogram.js'

/**
 * The entry Statistics keeps per client (client id and principal): what it counts for each, in total, by API and
 * by topic, and how an entry and its parts come into being. Plain mutable numbers and maps, so that counting on
 * the hot path is a field update; /metrics and /stats read them as they are.
 */

export interface ApiStats {
  readonly apiKey: number
  readonly name: string
  requests: number
  responses: number
  bytesIn: number
  bytesOut: number
  readonly sidecar: LatencyHistogram
  readonly upstream: LatencyHistogram
  throttleMs: number
  /** Time the sidecar itself held the client back for this API's requests (rate-limit), and what went over. */
  sidecarThrottleMs: number
  throttledRequests: number
  throttledBytes: number
  /** Kafka error code -> count, client errors only. */
  readonly errors: Map<number, number>
  /** Kafka error code -> count, the codes that are steps of the protocol's normal flow in these answers. */
  readonly expectedErrors: Map<number, number>
}

export interface TopicFlow {
  bytes: number
  records: number
}

export interface ClientStats {
  /** clientId + NUL + principal: the identity entries are keyed by. */
  readonly key: string
  readonly clientId: string
  readonly principal: string | undefined
  readonly folded: boolean
  software: { name: string; version: string } | undefined
  connectionsOpen: number
  connectionsTotal: number
  /** By API key. */
  readonly apis: (ApiStats | undefined)[]
  /** KSC_ERR_* code -> count. */
  readonly sidecarErrors: Map<string, number>
  /** By topic label (a topic name or "other"). */
  readonly produce: Map<string, TopicFlow>
  readonly fetch: Map<string, TopicFlow>
  readonly firstSeen: number
  lastSeen: number
}

/** The key of the entry the clients past the cap share. Cannot collide with a real key (those hold one NUL). */
export const OTHER_KEY = `\u0000\u0000${OTHER}`

export function clientKey(clientId: string | null, principal: string | undefined): string {
  return `${clientId ?? ''}\u0000${principal ?? ''}`
}

export function apiName(apiKey: number): string {
  return API_DEFINITIONS[apiKey]?.name ?? `api-${apiKey}`
}

/**
 * A new entry with no connection counted yet, keyed `key` (clientKey, or OTHER_KEY for the shared "other" entry,
 * which carries no identity of its own). A client that never sent a client id counts as client id "".
 */
export function newClientStats(
  key: string,
  clientId: string | null,
  principal: string | undefined,
  now: number,
): ClientStats {
  const own = key !== OTHER_KEY
  return {
    key,
    clientId: own ? (clientId ?? '') : OTHER,
    principal: own ? principal : undefined,
    folded: !own,
    software: undefined,
    connectionsOpen: 0,
    connectionsTotal: 0,
    apis: [],
    sidecarErrors: new Map(),
    produce: new Map(),
    fetch: new Map(),
    firstSeen: now,
    lastSeen: now,
  }
}

/** A client's figures for one API, created on its first use. */
export function apiStatsOf(c: ClientStats, apiKey: number): ApiStats {
  let a = c.apis[apiKey]
  if (a === undefined) {
    a = {
      apiKey,
      name: apiName(apiKey),
      requests: 0,
      responses: 0,
      bytesIn: 0,
      bytesOut: 0,
      sidecar: new LatencyHistogram(),
      upstream: new LatencyHistogram(),
      throttleMs: 0,
      sidecarThrottleMs: 0,
      throttledRequests: 0,
      throttledBytes: 0,
      errors: new Map(),
      expectedErrors: new Map(),
    }
    c.apis[apiKey] = a
  }
  return a
}

/** Adds to a client's produce or fetch figures for one topic label. */
export function addFlow(flows: Map<string, TopicFlow>, topic: string, bytes: number, records: number): void {
  const f = flows.get(topic)
  if (f === undefined) flows.set(topic, { bytes, records })
  else {
    f.bytes += bytes
    f.records += records
  }
}
