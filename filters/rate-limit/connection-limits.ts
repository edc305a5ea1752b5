import type { Limits } from './config.js'
import { TokenBucket } from './token-bucket.js'

/**
 * Connection limits per entity, in this sidecar: connections open at once (maxConnections) and new connections per
 * second (connectionsPerSecond). Unlike the byte and request budgets these refuse rather than delay: a connection
 * over the limit is closed before anything is forwarded, as Kafka's broker closes connections over
 * max.connections.per.ip (SocketServer's ConnectionQuotas), and the client reconnects after its backoff
 * (reconnect.backoff.ms). They are counted per sidecar, not through Redis: a connection is a local resource.
 */
export class ConnectionLimits {
  private readonly open = new Map<string, number>()
  private readonly arrivals = new Map<string, TokenBucket>()

  /**
   * Whether one more connection of `entity` is allowed now: undefined when it is (a new-connection token is then
   * spent), else why not.
   */
  admit(entity: string, limits: Limits, burstSeconds: number, now: number): string | undefined {
    const max = limits.maxConnections
    if (max !== undefined) {
      const n = this.open.get(entity) ?? 0
      if (n >= max) return `maxConnections ${max} reached (${n} open)`
    }
    const rate = limits.connectionsPerSecond
    if (rate !== undefined) {
      const burst = Math.max(1, rate * burstSeconds)
      let bucket = this.arrivals.get(entity)
      if (bucket === undefined) {
        bucket = new TokenBucket(rate, burst, now)
        this.arrivals.set(entity, bucket)
      } else if (bucket.rate !== rate || bucket.burst !== burst) {
        bucket.setLimit(rate, burst, now)
      }
      if (!bucket.tryTake(1, now)) return `connectionsPerSecond ${rate} exceeded`
    }
    return undefined
  }

  opened(entity: string): void {
    this.open.set(entity, (this.open.get(entity) ?? 0) + 1)
  }

  closed(entity: string): void {
    const n = (this.open.get(entity) ?? 1) - 1
    if (n <= 0) this.open.delete(entity)
    else this.open.set(entity, n)
  }

  openCount(entity: string): number {
    return this.open.get(entity) ?? 0
  }

  /** Forgets new-connection buckets that are full again and idle. */
  sweep(now: number): void {
    for (const [entity, b] of this.arrivals) {
      if (now - b.lastUsed > 60_000 && b.available(now) >= b.burst) this.arrivals.delete(entity)
    }
  }
}
