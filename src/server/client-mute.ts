import type { ExchangePort } from '../pipeline/exchange.js'

/**
 * A connection's throttling mute (FilterContext.muteClient): the client is not read until a deadline, the way a
 * broker delays a throttled client's channel. Mutes that overlap extend the deadline, never shorten it. The mute
 * is one PauseReason of the connection's: reading resumes at its end only if no other reason holds.
 */
export class ClientMute {
  private timer: NodeJS.Timeout | undefined
  /** performance.now() at which the mute ends; 0 when not muted. */
  private until = 0

  constructor(private readonly port: Pick<ExchangePort, 'pauseClient' | 'resumeClient'>) {}

  /** Mutes the client for `ms` from now, unless a mute already in force lasts at least as long. */
  extend(ms: number): void {
    const until = performance.now() + ms
    if (until <= this.until) return
    this.until = until
    clearTimeout(this.timer)
    this.port.pauseClient('throttle')
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.until = 0
      this.port.resumeClient('throttle')
    }, ms)
    this.timer.unref()
  }

  /** The connection closed: no timer is left behind. */
  cancel(): void {
    clearTimeout(this.timer)
  }
}
