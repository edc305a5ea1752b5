import type { ConnectionObserver, ObservedConnection } from '../../src/pipeline/connection-observer.js'

/**
 * A ConnectionObserver that counts failures by code and keeps the connections it was told about, for tests that
 * assert "each rejected, each counted" and what the statistics see (principal, client id) without waiting for the
 * metrics module.
 */
export interface CountingObserver extends ConnectionObserver {
  readonly errors: Map<string, number>
  /** Every connection opened, in order (the principal and the rest of ConnectionInfo, as statistics get them). */
  readonly connections: ObservedConnection[]
  count(code: string): number
}

export function countingObserver(): CountingObserver {
  const errors = new Map<string, number>()
  const connections: ObservedConnection[] = []
  return {
    errors,
    connections,
    count: (code) => errors.get(code) ?? 0,
    opened(conn) {
      connections.push(conn)
    },
    identified() {},
    request() {},
    response() {},
    error(code) {
      errors.set(code, (errors.get(code) ?? 0) + 1)
    },
    passedThrough() {},
    closed() {},
  }
}
