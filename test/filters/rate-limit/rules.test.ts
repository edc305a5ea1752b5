import { describe, expect, it } from 'vitest'
import { parseRateLimitConfig } from '../../../filters/rate-limit/config.js'
import { entityKey, RuleSet } from '../../../filters/rate-limit/rules.js'

const limits = { requestsPerSecond: 1 }
const rules = (raw: unknown[]) => new RuleSet(parseRateLimitConfig({ rules: raw }).rules)

describe('rate-limit rules', () => {
  it('the first matching rule wins; exact, regex, principal, both, default', () => {
    const set = rules([
      { match: { clientId: 'orders' }, limits },
      { match: { clientId: { regex: '^orders-' } }, limits },
      { match: { principal: 'CN=reporting', clientId: 'dash' }, limits },
      { match: { principal: { regex: '^spiffe://example.org/' } }, limits },
      { match: 'default', limits },
    ])
    expect(set.choose('orders', undefined)?.rule.index).toBe(0)
    expect(set.choose('orders-eu', 'CN=x')?.rule.index).toBe(1)
    expect(set.choose('dash', 'CN=reporting')?.rule.index).toBe(2)
    expect(set.choose('dash', 'CN=other')?.rule.index).toBe(4)
    expect(set.choose('x', 'spiffe://example.org/ns/a/sa/b')?.rule.index).toBe(3)
    expect(set.choose(null, undefined)?.rule.index).toBe(4)
  })

  it('clients no rule matches are not limited', () => {
    expect(rules([{ match: { clientId: 'a' }, limits }]).choose('b', undefined)).toBeUndefined()
    expect(rules([]).empty).toBe(true)
  })

  it("gives each client id (and principal) its own budget, by the rule's scope", () => {
    const set = rules([
      { match: { clientId: { regex: '.*' } }, limits },
      { match: { principal: 'P' }, limits },
    ])
    expect(set.choose('a', 'P')?.entity).toBe(entityKey('clientId', 'a', ''))
    expect(set.choose('a', 'P')?.entity).not.toBe(set.choose('b', 'P')?.entity)
    const byPrincipal = rules([{ match: { principal: 'P' }, limits }])
    // Every client id of the principal shares one budget (like Kafka's user quotas).
    expect(byPrincipal.choose('a', 'P')?.entity).toBe(byPrincipal.choose('b', 'P')?.entity)
    const byDefault = rules([{ match: 'default', limits }])
    expect(byDefault.choose('a', 'P')?.entity).not.toBe(byDefault.choose('a', 'Q')?.entity)
    expect(entityKey('clientId', 'x', '')).not.toBe(entityKey('principal', '', 'x'))
  })

  it('decides at admission only when no rule on client ids comes first and the budget is per principal', () => {
    const set = rules([
      { match: { principal: 'P' }, limits: { maxConnections: 1 } },
      { match: { clientId: 'c' }, limits },
      { match: { principal: 'Q' }, limits },
    ])
    expect(set.chooseBeforeClientId('P')?.rule.index).toBe(0)
    // A rule on client ids might still match: undecided until the first request.
    expect(set.chooseBeforeClientId('Q')).toBeUndefined()
    expect(set.chooseBeforeClientId('R')).toBeUndefined()
    expect(rules([{ match: 'default', limits }]).chooseBeforeClientId('P')).toBeUndefined()
  })
})
