import type { Logger } from 'pino'
import type { HostPort } from '../config/host-port.js'
import type { ConnectionObserver } from '../pipeline/connection-observer.js'
import type { ConnectionState } from '../pipeline/connection-state.js'
import type { ExchangeRuntime } from '../pipeline/exchange.js'
import type { ConnectionInfo } from '../pipeline/filter-api.js'
import type { FilterChain } from '../pipeline/filter-chain.js'
import type { ClientConnection } from './client-connection.js'
import type { ConnectionLog } from './connection-log.js'
import type { MemoryBudget } from './memory-budget.js'
import type { UpstreamConnector } from './upstream-connector.js'

/**
 * What a client connection needs from the sidecar around it: its limits, the way to the broker, the filter chain,
 * the observer, the shared memory budget and logs, and where to report its failures and its end. The sidecar
 * builds one per configuration (src/server/sidecar.ts); connections accepted under it keep it for their life.
 */

export interface ConnectionLimits {
  readonly maxFrameBytes: number
  readonly idleTimeoutMs: number
  /** Requests awaiting responses before the sidecar stops reading from the client (backpressure). */
  readonly maxInflightRequests: number
  readonly maxUnauthenticatedFrameBytes: number
  readonly maxNonRecordRequestBytes: number
  readonly maxBufferedBytesPerConnection: number
  readonly requestAssemblyTimeoutMs: number
}

export interface ConnectionRuntime {
  readonly log: Logger
  readonly limits: ConnectionLimits
  readonly connector: UpstreamConnector
  readonly exchange: Omit<ExchangeRuntime, 'maxInflightRequests' | 'limits'>
  readonly observer: ConnectionObserver
  /** What all connections together may hold for requests being assembled. */
  readonly budget: MemoryBudget
  /** The opened/closed lines, rate-limited under churn. */
  readonly connectionLog: ConnectionLog
  /** Broker addresses to try, in order, for this listener (bootstrap: every bootstrap server; node: that node). */
  upstreamCandidates(listener: ConnectionInfo['listener']): Promise<readonly HostPort[]>
  /** The filter chain for a new connection, from the configuration current at accept time. */
  createChain(connection: ConnectionState): FilterChain
  onClosed(conn: ClientConnection): void
  /** Counts a failure once per cause for logs and metrics. */
  reportError(code: string, err: unknown, conn: ClientConnection): void
}

/**
 * The exchange's runtime for one connection, written out field by field rather than spread: the exchange reads these
 * fields on every frame, and objects built by spreading `runtime.exchange` did not share one hidden class, which made
 * those reads V8's megamorphic property loads (seen with --log-ic on bench/request-cost.ts).
 */
export function exchangeRuntime(runtime: ConnectionRuntime): ExchangeRuntime {
  const shared = runtime.exchange
  return {
    observer: shared.observer,
    limits: runtime.limits,
    services: shared.services,
    maxInflightRequests: runtime.limits.maxInflightRequests,
    frameLogging: shared.frameLogging,
  }
}
