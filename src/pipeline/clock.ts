import type { Clock } from './filter-api.js'

/** The real clock filters get in the running sidecar (tests use the fake one in test/support/filter-testing.ts). */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer(ms, fn) {
    const timer = setTimeout(fn, ms)
    timer.unref()
    return () => clearTimeout(timer)
  },
}
