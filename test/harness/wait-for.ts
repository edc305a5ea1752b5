import { setTimeout as delay } from 'node:timers/promises'

export interface WaitForOptions {
  timeoutMs: number
  /** Pause between attempts; conditions here are cheap probes, so a short interval keeps waits tight. */
  intervalMs?: number
  /** Aborts the wait early, e.g. when the process being waited for has died. */
  signal?: AbortSignal
}

export class WaitTimeoutError extends Error {
  readonly lastError: unknown

  constructor(description: string, timeoutMs: number, lastError: unknown) {
    const reason = lastError instanceof Error ? `; last attempt: ${lastError.message}` : ''
    super(`Timed out after ${timeoutMs} ms waiting for ${description}${reason}`)
    this.name = 'WaitTimeoutError'
    this.lastError = lastError
  }
}

/**
 * Polls `probe` until it returns a value other than `undefined` (or `false`) and resolves with that value.
 * A probe that throws counts as "not yet"; the last error is kept for the timeout message.
 * Used instead of fixed sleeps: every wait in the harness has a condition it can check.
 */
export async function waitFor<T>(
  description: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitForOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  const interval = options.intervalMs ?? 200
  let lastError: unknown
  for (;;) {
    options.signal?.throwIfAborted()
    try {
      const value = await probe()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      lastError = err
    }
    const remaining = deadline - Date.now()
    if (remaining <= 0) throw new WaitTimeoutError(description, options.timeoutMs, lastError)
    try {
      await delay(Math.min(interval, remaining), undefined, { signal: options.signal })
    } catch {
      options.signal?.throwIfAborted()
    }
  }
}

/**
 * `promise`, or a WaitTimeoutError naming `description` once `timeoutMs` has passed: for steps that have no condition
 * to poll (a process exiting, a client's call returning), so that a test which hangs says where.
 */
export async function within<T>(description: string, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeoutError(description, timeoutMs, undefined)), timeoutMs)
  })
  try {
    return await Promise.race([promise, expired])
  } finally {
    clearTimeout(timer)
  }
}
