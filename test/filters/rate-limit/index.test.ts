import { describe, expect, it } from 'vitest'
import { rateLimitPlugin } from '../../../filters/rate-limit/index.js'
import { FILTER_PLUGINS } from '../../../src/filter-plugins.js'
import { ApiKey } from '../../../src/pipeline/filter-api.js'
import { facts, limiter } from './support.js'

const info = (connectionId: number, principal?: string) => ({
  connectionId,
  peer: { address: '127.0.0.1', port: 40000 + connectionId },
  listener: { kind: 'bootstrap' as const, port: 9092 },
  principal,
  tls: principal !== undefined,
})

describe('rate-limit plugin', () => {
  it('is registered under filters: rate-limit, its implementation loaded when first configured', () => {
    const registered = FILTER_PLUGINS.find((p) => p.name === 'rate-limit')
    expect(registered).toBeDefined()
    expect(registered!.parseConfig).toBe(rateLimitPlugin.parseConfig)
    expect(rateLimitPlugin.name).toBe('rate-limit')
  })

  it('refuses a connection over maxConnections of its client id before its first request goes on', async () => {
    const l = await limiter({ rules: [{ match: { clientId: 'app' }, limits: { maxConnections: 2 } }] })
    const a = l.connect('app')
    const b = l.connect('app')
    // The same client id seen again on a connection is not counted twice.
    expect(a.filter.onClientId!('app', a.ctx)).toBeUndefined()
    const third = l.connect('other')
    expect(third.filter.onClientId!('app', third.ctx)).toEqual({
      kind: 'close',
      reason: 'rate-limit: maxConnections 2 reached (2 open)',
    })
    expect(l.metric('connections_refused_total', { client_id: 'app', principal: '', reason: 'maxConnections' })).toBe(1)
    const warned = l.logs.filter((line) => String(line.msg).startsWith('rate-limit refused a connection'))
    expect(warned).toHaveLength(1)
    expect(warned[0]).toMatchObject({
      clientId: 'app',
      rule: 'clientId=app',
      reason: 'maxConnections 2 reached (2 open)',
    })
    // A closed connection frees its place.
    b.filter.onClose!()
    const c = l.connect('app')
    expect(c.filter.onClientId!('app', c.ctx)).toBeUndefined()
  })

  it('refuses at admission, before anything is read, when a rule on principals decides it', async () => {
    const l = await limiter({
      rules: [
        { match: { principal: 'CN=batch' }, burstSeconds: 1, limits: { connectionsPerSecond: 2, maxConnections: 5 } },
      ],
    })
    expect(l.configured.admit(info(1, 'CN=batch'))).toBeUndefined()
    l.configured.forConnection({ ...info(1, 'CN=batch'), clientId: null, clientSoftware: undefined, openedAt: 0 })
    expect(l.configured.admit(info(2, 'CN=batch'))).toBeUndefined()
    expect(l.configured.admit(info(3, 'CN=batch'))).toEqual({ reason: 'connectionsPerSecond 2 exceeded' })
    // Other principals (no rule) are not limited.
    expect(l.configured.admit(info(4, 'CN=web'))).toBeUndefined()
    expect(
      l.metric('connections_refused_total', { client_id: '', principal: 'CN=batch', reason: 'connectionsPerSecond' }),
    ).toBe(1)
    l.clock.advance(500)
    expect(l.configured.admit(info(5, 'CN=batch'))).toBeUndefined()
  })

  it('a new-connection rate on client ids is judged at the first request', async () => {
    const l = await limiter({ rules: [{ match: 'default', per: 'clientId', limits: { connectionsPerSecond: 1 } }] })
    expect(l.connect('x').filter).toBeDefined()
    const second = l.connect('y')
    expect(second.filter.onClientId!('x', second.ctx)).toMatchObject({ kind: 'close' })
  })

  it('retires when the filter leaves the configuration: budgets keep working for connections still open', async () => {
    const l = await limiter({ rules: [{ match: 'default', limits: { produceBytesPerSecond: 100 } }] })
    const { ctx, filter } = l.connect('p')
    await l.configured.close()
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 300), ctx)
    expect(ctx.mutes).toEqual([2000])
    expect(l.configured.health()).toEqual({ ready: true })
  })
})
