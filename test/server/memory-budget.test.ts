import { describe, expect, it } from 'vitest'
import { MemoryBudget } from '../../src/server/memory-budget.js'

describe('MemoryBudget', () => {
  it('grants what fits, queues the rest first come first served, and grants it as memory is released', () => {
    const budget = new MemoryBudget(100)
    expect(budget.tryReserve(60)).toBe(true)
    expect(budget.tryReserve(50)).toBe(false)
    const granted: string[] = []
    budget.reserveWhenFree(50, () => granted.push('a'))
    budget.reserveWhenFree(10, () => granted.push('b'))
    // Nobody jumps the queue, even when it would fit.
    expect(budget.tryReserve(10)).toBe(false)
    expect(granted).toEqual([])
    budget.release(60)
    expect(granted).toEqual(['a', 'b'])
    expect(budget.reserved).toBe(60)
  })

  it('a withdrawn wait (its connection closed) is never granted and lets the next one through', () => {
    const budget = new MemoryBudget(100)
    budget.tryReserve(90)
    const granted: string[] = []
    const withdraw = budget.reserveWhenFree(80, () => granted.push('big'))
    budget.reserveWhenFree(5, () => granted.push('small'))
    withdraw()
    expect(granted).toEqual(['small'])
    expect(budget.queued).toBe(0)
  })
})
