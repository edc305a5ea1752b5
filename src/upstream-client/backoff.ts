/**
 * Exponential backoff with jitter, as the Java client's ExponentialBackoff (KIP-580, KIP-601): attempt n waits
 * initial * 2^n, capped at max, then multiplied by a random factor in [1 - jitter, 1 + jitter]. The jitter keeps
 * many sidecars that lost the cluster at the same moment from reconnecting in lockstep. Kafka's defaults:
 * reconnect.backoff.ms 50 / reconnect.backoff.max.ms 1000, retry.backoff.ms 100 / retry.backoff.max.ms 1000,
 * jitter 0.2 (CommonClientConfigs.RETRY_BACKOFF_JITTER and the RECONNECT_BACKOFF_MAX_MS doc, kafka-clients 4.3.1).
 */
export class ExponentialBackoff {
  constructor(
    readonly initialMs: number,
    readonly maxMs: number,
    readonly jitter = 0.2,
    private readonly random: () => number = Math.random,
  ) {}

  /** Milliseconds to wait before attempt `attempts` + 1, after `attempts` consecutive failures (0: none). */
  delay(attempts: number): number {
    if (attempts <= 0) return 0
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(attempts - 1, 30))
    const factor = 1 - this.jitter + 2 * this.jitter * this.random()
    return Math.round(base * factor)
  }
}

/** Resolves after `ms` without keeping the process alive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
