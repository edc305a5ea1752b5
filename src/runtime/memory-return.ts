import v8 from 'node:v8'
import vm from 'node:vm'
import type { Logger } from '../logger.js'

/**
 * Gives memory held by dead Buffers back after a burst. A Buffer's bytes live outside V8's heap (V8 calls them
 * external memory) and are freed only when a collection finds the Buffer dead. V8 collects when its heap fills or
 * when external memory grows past a limit, so once a burst is over and the process goes quiet, nothing allocates,
 * no collection comes, and whatever the burst left behind stays resident: 10 connections that each sent 90 MiB of
 * one frame and went away left 913 MB of external memory and 971 MB of RSS one minute later, the second time it
 * was done (after the first, a collection happened to come within 10 s). With this and glibc's part, RSS was back
 * at its idle figure 10 s after the clients had gone.
 *
 * So a timer looks at external memory (a counter V8 keeps, no system call) and, when it is above
 * `thresholdBytes`, runs a full collection. A collection that frees little (the memory is alive: large requests
 * in flight, many connections) doubles the wait before the next one, up to `maxIntervalMs`, so a process that
 * legitimately holds much external memory pays one full collection per `maxIntervalMs` (one that freed nothing
 * took 20-90 ms here; one that freed 913 MB, 130-270 ms, most of it giving the pages back). That the freed bytes also leave the process's RSS is glibc's part (malloc-env.ts).
 */

export interface MemoryReturnOptions {
  /** External memory above which a collection is tried. Default 64 MiB: V8's own kExternalAllocationSoftLimit
   * (v8/src/common/globals.h), past which it starts collecting while external memory grows. */
  readonly thresholdBytes?: number
  /** How often external memory is looked at. Default 5 000 ms. */
  readonly intervalMs?: number
  /** Longest wait between collections while external memory stays high but alive. Default 15 000 ms. */
  readonly maxIntervalMs?: number
  readonly log?: Logger
  /** For tests: external memory in bytes. Default V8's count. */
  readonly externalBytes?: () => number
  /** For tests: the collection. Default V8's full collection (exposeGc). */
  readonly collect?: () => void
  readonly now?: () => number
}

export const MEMORY_RETURN_DEFAULTS = {
  thresholdBytes: 64 * 1024 * 1024,
  intervalMs: 5_000,
  maxIntervalMs: 15_000,
} as const

export interface MemoryReturnCounts {
  /** Collections run. */
  readonly collections: number
  /** External bytes they freed in total. */
  readonly freedBytes: number
}

export class MemoryReturn {
  private readonly threshold: number
  private readonly interval: number
  private readonly maxInterval: number
  private readonly externalBytes: () => number
  private readonly collect: (() => void) | undefined
  private readonly now: () => number
  private wait: number
  private notBefore = 0
  private timer: NodeJS.Timeout | undefined
  private counts = { collections: 0, freedBytes: 0 }

  constructor(private readonly options: MemoryReturnOptions = {}) {
    this.threshold = options.thresholdBytes ?? MEMORY_RETURN_DEFAULTS.thresholdBytes
    this.interval = options.intervalMs ?? MEMORY_RETURN_DEFAULTS.intervalMs
    this.maxInterval = options.maxIntervalMs ?? MEMORY_RETURN_DEFAULTS.maxIntervalMs
    this.externalBytes = options.externalBytes ?? (() => v8.getHeapStatistics().external_memory)
    this.collect = options.collect ?? exposeGc()
    this.now = options.now ?? Date.now
    this.wait = this.interval
  }

  /** False when no collection function could be had (then start() does nothing). */
  get available(): boolean {
    return this.collect !== undefined
  }

  get stats(): MemoryReturnCounts {
    return { ...this.counts }
  }

  start(): this {
    if (this.collect === undefined) {
      this.options.log?.warn('memory return off: V8 would not expose its collector (--expose-gc)')
      return this
    }
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.check(), this.interval)
      this.timer.unref()
    }
    return this
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  /** One look at external memory; collects when it is high and the wait since the last collection is over. */
  check(): boolean {
    if (this.collect === undefined) return false
    const before = this.externalBytes()
    if (before < this.threshold) {
      this.wait = this.interval
      return false
    }
    const now = this.now()
    if (now < this.notBefore) return false
    const started = performance.now()
    this.collect()
    const after = this.externalBytes()
    const freed = Math.max(0, before - after)
    this.counts.collections++
    this.counts.freedBytes += freed
    // Freed little: what is there is alive. Look again later, not every interval.
    this.wait = freed < this.threshold / 2 ? Math.min(this.wait * 2, this.maxInterval) : this.interval
    // Checks come every interval (a little later, as timers do): half an interval of slack lets the one due
    // `wait` from now through.
    this.notBefore = now + this.wait - this.interval / 2
    this.options.log?.debug(
      { externalBefore: before, externalAfter: after, ms: Math.round(performance.now() - started) },
      'full collection to give memory back',
    )
    return true
  }
}

/**
 * V8's full collection as a function: `globalThis.gc` when node was started with --expose-gc, else taken from a
 * fresh context made while the flag is on (V8 installs `gc` in contexts created after --expose-gc is set; the flag
 * is switched off again so that later contexts do not get it). Undefined if V8 refuses.
 */
export function exposeGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: unknown }).gc
  if (typeof existing === 'function') return existing as () => void
  try {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as unknown
    v8.setFlagsFromString('--no-expose-gc')
    return typeof gc === 'function' ? (gc as () => void) : undefined
  } catch {
    return undefined
  }
}
