import { describe, expect, it } from 'vitest'
import type { TapMatch } from '../../../filters/tap/config.js'
import { Selection } from '../../../filters/tap/selection.js'

const all = { rate: 1, by: 'records' } as const
const sel = (
  match: Partial<TapMatch>,
  sample: { rate: number; by: 'records' | 'batches' } = all,
  random?: () => number,
) => new Selection({ directions: ['produce'], ...match }, sample, random)

describe('tap selection', () => {
  it('client id exact and regex; a client without an id matches neither', () => {
    expect(sel({ clientId: 'orders' }).connectionMatches('orders', undefined)).toBe(true)
    expect(sel({ clientId: 'orders' }).connectionMatches('orders-2', undefined)).toBe(false)
    expect(sel({ clientIdRegex: '^orders-\\d+$' }).connectionMatches('orders-7', undefined)).toBe(true)
    expect(sel({ clientIdRegex: '^orders-\\d+$' }).connectionMatches('billing', undefined)).toBe(false)
    expect(sel({ clientId: 'orders' }).connectionMatches(null, undefined)).toBe(false)
    expect(sel({ clientIdRegex: '.*' }).connectionMatches(null, undefined)).toBe(false)
    expect(sel({}).connectionMatches(null, undefined)).toBe(true)
  })

  it('principal exact and regex; no principal matches no principal condition', () => {
    expect(sel({ principal: 'shop/orders' }).connectionMatches('x', 'shop/orders')).toBe(true)
    expect(sel({ principal: 'shop/orders' }).connectionMatches('x', 'shop/billing')).toBe(false)
    expect(sel({ principal: 'shop/orders' }).connectionMatches('x', undefined)).toBe(false)
    expect(sel({ principalRegex: '^shop/' }).connectionMatches('x', 'shop/billing')).toBe(true)
    expect(sel({ clientId: 'x', principal: 'p' }).connectionMatches('x', 'q')).toBe(false)
  })

  it('topics by name, prefix or regex (any of them); none given: every topic', () => {
    const s = sel({ topics: ['orders'], topicPrefixes: ['audit.'], topicRegex: '^pay-[0-9]+$' })
    expect(['orders', 'audit.x', 'pay-12'].map((t) => s.topicMatches(t))).toEqual([true, true, true])
    expect(['orders2', 'audit', 'pay-x', 'x-orders'].map((t) => s.topicMatches(t))).toEqual([
      false,
      false,
      false,
      false,
    ])
    expect(s.topicMatches('orders')).toBe(true) // from the cache, the same answer
    expect(sel({}).everyTopic).toBe(true)
    expect(sel({}).topicMatches('anything')).toBe(true)
  })

  it('direction', () => {
    expect(new Selection({ directions: ['fetch'] }, all).wants('produce')).toBe(false)
    expect(new Selection({ directions: ['produce', 'fetch'] }, all).wants('fetch')).toBe(true)
  })

  it('samples records or batches at the configured rate', () => {
    let i = 0
    const seq = () => (i++ % 10) / 10 // 0, 0.1, ... 0.9
    const records = sel({}, { rate: 0.3, by: 'records' }, seq)
    expect(Array.from({ length: 10 }, () => records.keepRecord()).filter(Boolean)).toHaveLength(3)
    expect(records.keepBatch()).toBe(true) // record sampling keeps every batch
    i = 0
    const batches = sel({}, { rate: 0.5, by: 'batches' }, seq)
    expect(Array.from({ length: 10 }, () => batches.keepBatch()).filter(Boolean)).toHaveLength(5)
    expect(batches.keepRecord()).toBe(true) // and every record of a kept batch
    expect(records.share(1000)).toBe(300)
    expect(sel({}).share(7)).toBe(7)
  })
})
