import { describe, expect, it } from 'vitest'
import { TopicRewriteConfigError } from '../../../filters/topic-rewrite/config.js'
import { deriveReverse, NameMapper } from '../../../filters/topic-rewrite/name-mapper.js'

describe('NameMapper', () => {
  it('exact: orders <-> orders-canary, the real orders hidden, other names themselves', () => {
    const m = new NameMapper([{ kind: 'exact', from: 'orders', to: 'orders-canary' }])
    expect(m.toReal('orders')).toBe('orders-canary')
    expect(m.toReal('payments')).toBe('payments')
    expect(m.toClient('orders-canary')).toBe('orders')
    expect(m.toClient('orders')).toBeUndefined()
    expect(m.toClient('payments')).toBe('payments')
  })

  it('prefix, including the empty prefix that maps every name', () => {
    const m = new NameMapper([{ kind: 'prefix', from: 'shop.', to: 'canary.shop.' }])
    expect(m.toReal('shop.orders')).toBe('canary.shop.orders')
    expect(m.toClient('canary.shop.orders')).toBe('shop.orders')
    expect(m.toClient('shop.orders')).toBeUndefined()
    expect(m.toClient('other')).toBe('other')
    const all = new NameMapper([{ kind: 'prefix', from: '', to: 'canary-' }])
    expect(all.toReal('g1')).toBe('canary-g1')
    expect(all.toClient('canary-g1')).toBe('g1')
    // Every real name that does not start with the prefix is some client name's source: hidden.
    expect(all.toClient('g1')).toBeUndefined()
  })

  it('regex with captures, the way back derived from the pattern and checked forward', () => {
    const m = new NameMapper([{ kind: 'regex', from: '(.*)', to: 'canary.$1' }])
    expect(m.toReal('orders')).toBe('canary.orders')
    expect(m.toClient('canary.orders')).toBe('orders')
    expect(m.toClient('canary.canary.x')).toBe('canary.x')
    expect(m.toClient('orders')).toBeUndefined()
    const named = new NameMapper([{ kind: 'regex', from: '(?<app>[a-z]+)\\.events', to: '$<app>-canary.events' }])
    expect(named.toReal('shop.events')).toBe('shop-canary.events')
    expect(named.toClient('shop-canary.events')).toBe('shop.events')
    expect(named.toReal('Shop.events')).toBe('Shop.events')
    // The derived way back proposes "Shop", which does not map forward to this name: not taken.
    expect(named.toClient('Shop-canary.events')).toBe('Shop-canary.events')
  })

  it('the whole name must match a regex rule', () => {
    const m = new NameMapper([{ kind: 'regex', from: 'orders', to: 'orders-canary' }])
    expect(m.toReal('orders-eu')).toBe('orders-eu')
    expect(m.toReal('orders')).toBe('orders-canary')
  })

  it('an explicit reverse is used, and still checked by mapping forward', () => {
    const m = new NameMapper([
      { kind: 'regex', from: '[a-z]+', to: 'lower-$&', reverse: { regex: 'lower-(.*)', to: '$1' } },
    ])
    expect(m.toReal('abc')).toBe('lower-abc')
    expect(m.toClient('lower-abc')).toBe('abc')
    // lower-ABC reverses to ABC, which the rule does not map: so lower-ABC is itself.
    expect(m.toClient('lower-ABC')).toBe('lower-ABC')
  })

  it('refuses a regex rule whose way back cannot be derived, naming the key', () => {
    expect(() => new NameMapper([{ kind: 'regex', from: '.*-(.*)', to: 'c-$1' }], 'rules[0].topics')).toThrow(
      TopicRewriteConfigError,
    )
    expect(() => new NameMapper([{ kind: 'regex', from: '(a)(b)', to: '$1' }], 'k')).toThrow(/rules|k\b|reverse/)
  })

  it('the first matching rule wins both ways', () => {
    const m = new NameMapper([
      { kind: 'exact', from: 'orders', to: 'orders-v2' },
      { kind: 'prefix', from: '', to: 'canary-' },
    ])
    expect(m.toReal('orders')).toBe('orders-v2')
    expect(m.toReal('payments')).toBe('canary-payments')
    expect(m.toClient('orders-v2')).toBe('orders')
    expect(m.toClient('canary-payments')).toBe('payments')
    // canary-orders would be the prefix rule's image of orders, but orders maps elsewhere: hidden.
    expect(m.toClient('canary-orders')).toBeUndefined()
  })

  it('names kept by the keep predicate are never mapped', () => {
    const m = new NameMapper([{ kind: 'regex', from: '(.*)', to: 'canary.$1' }], 'k', (n) => n.startsWith('__'))
    expect(m.toReal('__consumer_offsets')).toBe('__consumer_offsets')
    expect(m.toClient('__consumer_offsets')).toBe('__consumer_offsets')
  })
})

describe('deriveReverse', () => {
  it('reads literal text and groups; undefined for classes or wildcards outside groups', () => {
    expect(deriveReverse('orders-(.*)', 'canary-$1')?.('canary-eu')).toBe('orders-eu')
    expect(deriveReverse('^a\\.(b+)$', 'x.$1')?.('x.bbb')).toBe('a.bbb')
    expect(deriveReverse('(.*)\\.(.*)', '$2.$1')?.('b.a')).toBe('a.b')
    expect(deriveReverse('a.(.*)', '$1')).toBeUndefined()
    expect(deriveReverse('(?:a)(.*)', '$1')).toBeUndefined()
    expect(deriveReverse('(.*)', '$1$1')).toBeUndefined()
    expect(deriveReverse('(.*)', 'x-$&')).toBeUndefined()
  })
})
