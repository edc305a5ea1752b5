import { describe, expect, it } from 'vitest'
import { TokenBucket } from '../../../filters/rate-limit/token-bucket.js'

describe('TokenBucket', () => {
  it('starts full, refills at its rate and never holds more than its burst', () => {
    const b = new TokenBucket(1000, 500, 0)
    expect(b.available(0)).toBe(500)
    b.take(500, 0)
    expect(b.available(0)).toBe(0)
    expect(b.available(250)).toBe(250)
    expect(b.available(10_000)).toBe(500)
  })

  it('goes into debt instead of refusing, and the debt is paid back in debt / rate', () => {
    const b = new TokenBucket(1_048_576, 1_048_576 / 5, 0)
    b.take(1_048_576, 0)
    // 1 MiB against a 0.2 s burst at 1 MiB/s: 0.8 MiB owed, 800 ms.
    expect(b.available(0)).toBeCloseTo(-1_048_576 * 0.8)
    expect(b.debtMs(0)).toBeCloseTo(800)
    expect(b.debtMs(300)).toBeCloseTo(500)
    expect(b.debtMs(800)).toBe(0)
    expect(b.available(800)).toBeCloseTo(0)
  })

  it("throttles as long as Kafka's ClientQuotaManager would for the same excess: (O - T) / T * W", () => {
    // Kafka: observed rate O over a window W against quota T -> X = (O - T) / T * W.
    // 3 MB in a 1 s window at 1 MB/s: X = (3 - 1) / 1 * 1 s = 2 s. A bucket with no burst charged the same
    // 3 MB over the same second owes 3 MB less the 1 MB it refilled: 2 s at 1 MB/s.
    const T = 1e6
    const W = 1
    const O = 3e6
    const kafka = ((O - T) / T) * W * 1000
    const b = new TokenBucket(T, 0, 0, 0)
    for (const at of [0, 500, 1000]) b.take(O / 3, at)
    expect(b.debtMs(1000)).toBeCloseTo(kafka)
  })

  it('keeps what it holds or owes across new limits, capped at the new burst', () => {
    const b = new TokenBucket(100, 100, 0)
    b.take(300, 0) // owes 200: 2 s at 100/s
    b.setLimit(400, 400, 0)
    expect(b.available(0)).toBe(-200)
    expect(b.debtMs(0)).toBeCloseTo(500)
    const full = new TokenBucket(100, 100, 0)
    full.setLimit(10, 10, 0)
    expect(full.available(0)).toBe(10)
  })

  it('tryTake takes only what it holds', () => {
    const b = new TokenBucket(1, 2, 0)
    expect(b.tryTake(1, 0)).toBe(true)
    expect(b.tryTake(1, 0)).toBe(true)
    expect(b.tryTake(1, 0)).toBe(false)
    expect(b.available(0)).toBe(0)
    expect(b.tryTake(1, 1000)).toBe(true)
  })
})
