import { describe, expect, it } from 'vitest'
import { ClientSelector, percentBucket } from '../../../filters/topic-rewrite/client-selector.js'
import type { ClientSelectionConfig } from '../../../filters/topic-rewrite/config.js'

const select = (c: Partial<ClientSelectionConfig>) =>
  new ClientSelector({ ids: [], idPatterns: [], principals: [], principalPatterns: [], percent: 100, seed: 's', ...c })

describe('ClientSelector', () => {
  it('selects by exact client id, client id pattern (whole id), principal and principal pattern', () => {
    const s = select({
      ids: ['orders-v2'],
      idPatterns: ['canary-.*'],
      principals: ['shop/orders'],
      principalPatterns: ['ns/.+'],
    })
    expect(s.selects('orders-v2', undefined)).toBe(true)
    expect(s.selects('canary-7', undefined)).toBe(true)
    expect(s.selects('x-canary-7', undefined)).toBe(false)
    expect(s.selects('other', 'shop/orders')).toBe(true)
    expect(s.selects('other', 'ns/a')).toBe(true)
    expect(s.selects('other', 'other/a')).toBe(false)
    expect(s.selects(null, undefined)).toBe(false)
  })

  it('percent of the candidates by a stable hash of the client id', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `consumer-${i}`)
    const s = select({ percent: 25, seed: 'orders' })
    const chosen = ids.filter((id) => s.selects(id, undefined))
    // 25% of 10,000 with a binomial spread of about 43: well within +-200.
    expect(chosen.length).toBeGreaterThan(2300)
    expect(chosen.length).toBeLessThan(2700)
    // The same answer from a new selector (a restart, another sidecar) for every id.
    const again = select({ percent: 25, seed: 'orders' })
    expect(ids.filter((id) => again.selects(id, undefined))).toEqual(chosen)
    // A client inside 25% is inside every larger share: raising the percentage only adds clients.
    const more = select({ percent: 50, seed: 'orders' })
    expect(chosen.every((id) => more.selects(id, undefined))).toBe(true)
  })

  it('percent applies to the listed candidates only', () => {
    const s = select({ idPatterns: ['orders-.*'], percent: 50 })
    expect(s.selects('payments-1', undefined)).toBe(false)
    const n = Array.from({ length: 1000 }, (_, i) => `orders-${i}`).filter((id) => s.selects(id, undefined)).length
    expect(n).toBeGreaterThan(420)
    expect(n).toBeLessThan(580)
  })

  it('the bucket is fixed for a seed and id (pinned, so a change of hash would show here)', () => {
    expect(percentBucket('orders', 'consumer-1')).toBe(5608)
    expect(percentBucket('', '')).toBe(4604)
    expect(percentBucket('a', 'x')).not.toBe(percentBucket('b', 'x'))
  })
})
