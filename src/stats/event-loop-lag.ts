import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks'

/**
 * The process's event-loop delay over fixed windows, for /stats: a sidecar whose loop lags delays every
 * connection's requests by as much, whatever the filters or the broker do. The figures are those of the last full
 * window, so a reader sees a settled value rather than one that restarts at zero.
 */

const WINDOW_MS = 5000

export interface EventLoopLag {
  readonly mean: number
  readonly p99: number
  readonly max: number
}

export class EventLoopLagSampler {
  private readonly loop: IntervalHistogram
  private readonly timer: NodeJS.Timeout
  /** Event-loop delay of the last full window, ms. */
  latest: EventLoopLag = { mean: 0, p99: 0, max: 0 }

  constructor() {
    this.loop = monitorEventLoopDelay({ resolution: 10 })
    this.loop.enable()
    this.timer = setInterval(() => this.sample(), WINDOW_MS)
    this.timer.unref()
  }

  close(): void {
    clearInterval(this.timer)
    this.loop.disable()
  }

  private sample(): void {
    const h = this.loop
    // The histogram is in nanoseconds; an empty window (no samples yet) reports NaN/huge values.
    if (h.count > 0) {
      this.latest = { mean: h.mean / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 }
    }
    h.reset()
  }
}
