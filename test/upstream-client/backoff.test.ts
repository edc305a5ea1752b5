import { describe, expect, it } from 'vitest'
import { ExponentialBackoff } from '../../src/upstream-client/backoff.js'

describe('ExponentialBackoff', () => {
  it('doubles from the initial delay up to the maximum, within 20% jitter either side', () => {
    const low = new ExponentialBackoff(50, 1000, 0.2, () => 0)
    const high = new ExponentialBackoff(50, 1000, 0.2, () => 1)
    expect([0, 1, 2, 3, 4, 5, 6, 20].map((n) => low.delay(n))).toEqual([0, 40, 80, 160, 320, 640, 800, 800])
    expect([1, 2, 5, 6, 20].map((n) => high.delay(n))).toEqual([60, 120, 960, 1200, 1200])
  })

  it('spreads the delays of clients that failed at the same moment', () => {
    const b = new ExponentialBackoff(100, 1000)
    const delays = new Set(Array.from({ length: 50 }, () => b.delay(3)))
    expect(delays.size).toBeGreaterThan(10)
    for (const d of delays) expect(d >= 320 && d <= 480).toBe(true)
  })
})
