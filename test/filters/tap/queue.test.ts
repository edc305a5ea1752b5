import { describe, expect, it } from 'vitest'
import { TapBudget } from '../../../filters/tap/queue.js'

describe('tap budget', () => {
  it('takes what fits in bytes and records, refuses the rest, and frees on release', () => {
    const seen: [number, number][] = []
    const b = new TapBudget(100, 10, (bytes, records) => seen.push([bytes, records]))
    expect(b.take(60, 5)).toBe(true)
    expect(b.take(50, 1)).toBe(false) // bytes
    expect(b.take(10, 6)).toBe(false) // records
    expect(b.take(40, 5)).toBe(true)
    expect([b.bytes, b.records]).toEqual([100, 10])
    b.release(60, 5)
    expect(b.take(50, 1)).toBe(true)
    expect(seen.at(-1)).toEqual([90, 6])
  })

  it('force takes memory already in use past the limits; a resize applies to what comes next', () => {
    const b = new TapBudget(100, 10)
    b.force(150, 0)
    expect(b.take(1, 1)).toBe(false)
    b.release(150, 0)
    b.resize(10, 1)
    expect(b.take(11, 1)).toBe(false)
    expect(b.take(10, 1)).toBe(true)
    b.release(1000, 1000)
    expect([b.bytes, b.records]).toEqual([0, 0])
  })
})
