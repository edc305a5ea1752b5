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

  it('connections hold their footprints up to half the budget, and requests get what is left', () => {
    const budget = new MemoryBudget(100)
    expect(budget.connectionsLimit).toBe(50)
    expect(budget.holdConnection(30)).toBe(true)
    expect(budget.holdConnection(20)).toBe(true)
    // The connections' half is full: one more is refused, whatever requests hold.
    expect(budget.holdConnection(1)).toBe(false)
    expect(budget.heldByConnections).toBe(50)
    // Requests get the other half, not more.
    expect(budget.tryReserve(51)).toBe(false)
    expect(budget.tryReserve(50)).toBe(true)
    budget.release(50)
    const granted: string[] = []
    budget.tryReserve(40)
    budget.reserveWhenFree(30, () => granted.push('waiting'))
    expect(granted).toEqual([])
    // A connection closing frees its footprint for the request waiting, as a request released would.
    budget.releaseConnection(20)
    expect(granted).toEqual(['waiting'])
    expect(budget.heldByConnections).toBe(30)
    expect(budget.holdConnection(20)).toBe(true)
  })
})
