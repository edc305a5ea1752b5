/**
 * A budget of some unit (bytes, requests, partition mutations) per second, as the rate-limit filter spends it. A
 * request is never refused for want of tokens: it is charged in full, the budget may go into debt, and the debt is
 * what the client pays back by waiting (`debtMs`). That is how Kafka's own quotas behave: the broker records a
 * request's bytes and then computes how long the client must wait (ClientQuotaManager.recordAndGetThrottleTimeMs).
 *
 * Two kinds implement it: the local TokenBucket below, and the cluster-wide SharedBudget (shared-budget.ts), whose
 * tokens are slices borrowed from a bucket in Redis.
 */
export interface Budget {
  /** Units per second. */
  readonly rate: number
  /** Units the budget may hold when unused (rate x burstSeconds). */
  readonly burst: number
  /** Monotonic ms of the last charge. */
  readonly lastUsed: number
  /** New limits (a hot reload): what is held or owed carries over, capped at the new burst. */
  setLimit(rate: number, burst: number, now: number): void
  /** Charges `amount` units; the budget may go into debt. */
  take(amount: number, now: number): void
  /** Units available now; negative while in debt. */
  available(now: number): number
  /**
   * How long until the debt is paid back at this budget's rate; 0 when there is none. For a budget waiting for
   * tokens (see settling), what is owed even if they all arrive.
   */
  debtMs(now: number): number
  /**
   * A promise while the budget is in debt and waits for tokens that may pay some of it (a cluster-wide budget
   * waiting for its slice): the caller judges again once it settles. Undefined otherwise (always, for local ones).
   */
  settling(): Promise<void> | undefined
}

/**
 * The classic token bucket: `rate` tokens a second, up to `burst` held, starting full. With debt allowed, a client
 * that sends more than its rate owes (tokens below zero) and must wait -tokens / rate seconds.
 *
 * How this relates to Kafka's ClientQuotaManager (core/src/main/scala/kafka/server/ClientQuotaManager.scala,
 * throttleTime): Kafka measures the observed rate O over a window W (11 samples of quota.window.size.seconds = 1 s)
 * and throttles for X = (O - T) / T * W, the delay that brings the average back to the quota T (O * W / (W + X) = T).
 * O * W - T * W is the excess in units over the window, so X = excess / T: excess divided by the rate, which is
 * exactly the bucket's debt divided by its rate. The difference is what counts as excess: Kafka forgives what falls
 * out of its ~10 s window, the bucket forgives `burst` units up front and remembers debt until it is paid. Kafka's
 * controller mutation quota (KIP-599) is a token bucket too, with the same throttle, -tokens / rate
 * (ControllerMutationQuotaManager.throttleTimeMs).
 */
export class TokenBucket implements Budget {
  private tokens: number
  private last: number
  lastUsed: number

  constructor(
    public rate: number,
    public burst: number,
    now: number,
    /** Units held at the start; default: a full bucket. */
    initial = burst,
  ) {
    this.tokens = Math.min(initial, burst)
    this.last = now
    this.lastUsed = now
  }

  setLimit(rate: number, burst: number, now: number): void {
    this.refill(now)
    this.rate = rate
    this.burst = burst
    if (this.tokens > burst) this.tokens = burst
  }

  take(amount: number, now: number): void {
    this.refill(now)
    this.tokens -= amount
    this.lastUsed = now
  }

  /** Takes `amount` only if that many are held (no debt): for limits that refuse instead of delaying. */
  tryTake(amount: number, now: number): boolean {
    this.refill(now)
    if (this.tokens < amount) return false
    this.tokens -= amount
    this.lastUsed = now
    return true
  }

  available(now: number): number {
    this.refill(now)
    return this.tokens
  }

  debtMs(now: number): number {
    this.refill(now)
    return this.tokens >= 0 ? 0 : (-this.tokens / this.rate) * 1000
  }

  settling(): undefined {
    return undefined
  }

  private refill(now: number): void {
    const elapsed = now - this.last
    if (elapsed <= 0) return
    this.last = now
    if (this.tokens >= this.burst) return
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000)
  }
}
