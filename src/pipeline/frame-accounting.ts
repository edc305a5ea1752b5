import { logFrame } from '../logger.js'
import type { ConnectionState } from './connection-state.js'
import type { ExchangeRuntime } from './exchange-port.js'
import type { Filter, FilterContext, FrameFacts } from './filter-api.js'
import type { FilterChain } from './filter-chain.js'
import type { Slot } from './slot.js'

/**
 * Everything counted per frame on one connection without decoding it: the connection's counters, the runtime's
 * observers (statistics), frame logging, and the filters that count bytes (onRequestBytes/onResponseBytes). The
 * frame facts those filters get are one object per direction, filled in for each frame (FrameFacts: valid during
 * the call), so counting allocates nothing per frame.
 */
export class FrameAccounting {
  private readonly requestFacts: MutableFacts = { apiKey: 0, apiVersion: 0, correlationId: 0, size: 0 }
  private readonly responseFacts: MutableFacts = { apiKey: 0, apiVersion: 0, correlationId: 0, size: 0 }

  constructor(
    private readonly state: ConnectionState,
    private readonly rt: ExchangeRuntime,
    private readonly chain: FilterChain,
    private readonly ctxFor: (f: Filter) => FilterContext,
  ) {}

  /** A request that will go on. A filter counting bytes may close the connection: its reason is returned. */
  request(apiKey: number, apiVersion: number, correlationId: number, bytes: number): string | undefined {
    this.state.counters.requests++
    this.rt.observer.request(this.state, apiKey, apiVersion, bytes)
    if (this.rt.frameLogging()) {
      logFrame(this.state.log, { dir: 'request', apiKey, apiVersion, correlationId, bytes }, 'frame')
    }
    const counters = this.chain.requestCounters
    if (counters.length === 0) return undefined
    const facts = this.requestFacts
    facts.apiKey = apiKey
    facts.apiVersion = apiVersion
    facts.correlationId = correlationId
    facts.size = bytes
    for (const f of counters) {
      const verdict = f.onRequestBytes!(facts, this.ctxFor(f))
      if (verdict?.kind === 'close') return verdict.reason
    }
    return undefined
  }

  /** A response from the broker, matched to its request (frame logging only; it is counted once it reaches the client). */
  arrived(slot: Slot, bytes: number): void {
    if (!this.rt.frameLogging()) return
    const { apiKey, apiVersion, correlationId } = slot
    logFrame(this.state.log, { dir: 'response', apiKey, apiVersion, correlationId, bytes }, 'frame')
  }

  /** A response reached the client (or finished streaming to it). */
  responded(slot: Slot, bytes: number, now: number): void {
    this.state.counters.responses++
    const upstreamMs = slot.answeredAt > 0 ? slot.answeredAt - slot.sentAt : 0
    this.rt.observer.response(this.state, slot.apiKey, slot.apiVersion, bytes, now - slot.receivedAt, upstreamMs)
    const counters = this.chain.responseCountersFor(slot.apiKey, slot.apiVersion)
    if (counters.length === 0) return
    const facts = this.responseFacts
    facts.apiKey = slot.apiKey
    facts.apiVersion = slot.apiVersion
    facts.correlationId = slot.correlationId
    facts.size = bytes
    for (const f of counters) f.onResponseBytes!(facts, this.ctxFor(f))
  }
}

type MutableFacts = { -readonly [K in keyof FrameFacts]: FrameFacts[K] }
