import type { ConnectionObserver } from './connection-observer.js'
import type { ContextServices } from './filter-context.js'
import type { Frame } from './frame.js'
import type { RequestSizeLimits } from './request-plan.js'

/** Why reading from the client is paused (several at once; it resumes when none is left). */
export type PauseReason =
  | 'filter'
  | 'inflight'
  | 'upstream-backpressure'
  | 'connecting'
  | 'draining'
  | 'throttle'
  | 'memory'

/** What the exchange asks of the connection it runs in. */
export interface ExchangePort {
  /** Writes toward the broker. */
  toUpstream(frame: Frame): void
  /** Writes toward the client. */
  toClient(frame: Frame): void
  pauseClient(reason: PauseReason): void
  resumeClient(reason: PauseReason): void
  /** Stops reading the client for `ms` (throttling); overlapping calls extend the pause. */
  muteClient(ms: number): void
  /** A failure counted and logged once per cause; the connection goes on. */
  report(code: string, err: unknown): void
  /** Bytes a peer sent that the sidecar cannot accept: counted, logged, and the connection closed. */
  protocolError(side: 'client' | 'broker', err: unknown): void
  /** A bug or a filter failure: counted, logged, and the connection closed. */
  internalError(what: string, err: unknown): void
  close(reason: string): void
  /** accepted: no broker connection yet (the first request that goes on dials it); connecting: dialling. */
  readonly phase: 'accepted' | 'connecting' | 'open' | 'draining' | 'closed'
  /** The exchange became idle (nothing in flight): a drain waiting for that may finish. */
  settled(): void
}

/** Shared by the exchanges of every connection made from one configuration. */
export interface ExchangeRuntime {
  readonly observer: ConnectionObserver
  readonly limits: RequestSizeLimits
  readonly services: ContextServices
  readonly maxInflightRequests: number
  frameLogging(): boolean
}
