/**
 * A fixed-bucket latency histogram kept as plain numbers, so that recording one response costs a short scan and
 * two additions (prom-client's labelled observe hashes the labels on every call: ~0.5 us measured, twice per
 * response). The Prometheus exposition is built from these counts at scrape time (prometheus.ts).
 */

/** Upper bounds in seconds: sidecar time is tens of microseconds, upstream time up to long-poll Fetch and JoinGroup. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]
const BOUNDS_MS = LATENCY_BUCKETS_SECONDS.map((s) => s * 1000)

export class LatencyHistogram {
  /** Per bucket (not cumulative); the last slot is +Inf. */
  readonly counts = new Float64Array(BOUNDS_MS.length + 1)
  count = 0
  /** Milliseconds. */
  sumMs = 0

  observe(ms: number): void {
    if (!(ms >= 0)) ms = 0
    let i = 0
    while (i < BOUNDS_MS.length && ms > BOUNDS_MS[i]!) i++
    this.counts[i]!++
    this.count++
    this.sumMs += ms
  }

  /** Upper bound (ms) of the bucket holding quantile q: an upper estimate; null when empty. */
  quantileMs(q: number): number | null {
    if (this.count === 0) return null
    const rank = q * this.count
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!
      if (seen >= rank) return i < BOUNDS_MS.length ? BOUNDS_MS[i]! : Number.POSITIVE_INFINITY
    }
    return Number.POSITIVE_INFINITY
  }

  meanMs(): number | null {
    return this.count === 0 ? null : this.sumMs / this.count
  }
}
