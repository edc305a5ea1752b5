import { describe, expect, it } from 'vitest'
import type { FetchRequest } from '../../../codec/messages/generated/fetch-request.js'
import type { ProduceResponse } from '../../../codec/messages/generated/produce-response.js'
import { ApiKey, type DecodedResponse } from '../../../src/pipeline/filter-api.js'
import { request, response } from '../../support/filter-testing.js'
import { body, facts, limiter } from './support.js'

const produceLimit = (bytesPerSecond: number, extra: Record<string, unknown> = {}) => ({
  rules: [{ match: 'default', limits: { produceBytesPerSecond: bytesPerSecond }, ...extra }],
})

const produceResponse = (version: number, throttleTimeMs = 0) =>
  response(ApiKey.Produce, version, { throttleTimeMs, responses: [] }) as DecodedResponse

describe('rate-limit on a connection: produce bytes', () => {
  it('mutes the client for its debt and the next response carries what is left of it (KIP-219)', async () => {
    const l = await limiter(produceLimit(1000))
    const { ctx, filter } = l.connect('orders')
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 600), ctx)
    expect(ctx.mutes).toEqual([])
    // 1200 bytes against a full 1 s burst of 1000 at 1000 B/s: 200 bytes owed, 200 ms.
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 600), ctx)
    expect(ctx.mutes).toEqual([200])
    l.clock.advance(50)
    expect(filter.needsResponse!(ApiKey.Produce, 9, body(40))).toBe(true)
    const verdict = await filter.onResponse!(produceResponse(9), ctx)
    expect(verdict).toMatchObject({ kind: 'replace' })
    expect((verdict as { body: ProduceResponse }).body.throttleTimeMs).toBe(150)
    // One mute is reported once: the next response passes undecoded.
    expect(filter.needsResponse!(ApiKey.Produce, 9, body(40))).toBe(false)
  })

  it('wants responses only while a mute is unreported, and says so each time that changes (wantsChanged)', async () => {
    const l = await limiter(produceLimit(1000))
    const { ctx, filter } = l.connect('orders')
    // Never throttled: the response path does not come here at all, and only Fetch bytes are counted.
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 600), ctx)
    expect(filter.wantsResponse!(ApiKey.Produce, 9)).toBe(false)
    expect(filter.wantsResponse!(ApiKey.Metadata, 12)).toBe(false)
    expect(filter.countsResponseBytes!(ApiKey.Produce, 9)).toBe(false)
    expect(filter.countsResponseBytes!(ApiKey.Fetch, 12)).toBe(true)
    expect(ctx.wantsChanges).toBe(0)
    // Throttled: every response is wanted until one has carried the mute.
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 600), ctx)
    expect(ctx.mutes).toEqual([200])
    expect(ctx.wantsChanges).toBe(1)
    expect(filter.wantsResponse!(ApiKey.Produce, 9)).toBe(true)
    expect(filter.wantsResponse!(ApiKey.Metadata, 12)).toBe(true)
    // A longer mute before it was reported changes nothing about what is wanted.
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 100), ctx)
    expect(ctx.wantsChanges).toBe(1)
    await filter.onResponse!(produceResponse(9), ctx)
    expect(ctx.wantsChanges).toBe(2)
    expect(filter.wantsResponse!(ApiKey.Produce, 9)).toBe(false)
  })

  it('a mute that ended before any response could carry it stops the wanting too', async () => {
    const l = await limiter(produceLimit(1000))
    const { ctx, filter } = l.connect('orders')
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 1200), ctx)
    expect(ctx.mutes).toEqual([200])
    l.clock.advance(300)
    expect(filter.needsResponse!(ApiKey.Produce, 9, body(40))).toBe(false)
    expect(ctx.wantsChanges).toBe(2)
    expect(filter.wantsResponse!(ApiKey.Produce, 9)).toBe(false)
  })

  it("keeps the broker's throttle when it is the longer one", async () => {
    const l = await limiter(produceLimit(1000, { burstSeconds: 0.1 }))
    const { ctx, filter } = l.connect('orders')
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 300), ctx)
    expect(ctx.mutes).toEqual([200])
    const res = produceResponse(9, 5000)
    expect(await filter.onResponse!(res, ctx)).toBeUndefined()
    expect((res.body as ProduceResponse).throttleTimeMs).toBe(5000)
  })

  it('holds the response itself for versions whose clients do not wait by themselves (Produce below v6)', async () => {
    const l = await limiter(produceLimit(1000, { burstSeconds: 0.1 }))
    const { ctx, filter } = l.connect('legacy')
    filter.onRequestBytes!(facts(ApiKey.Produce, 5, 600), ctx)
    expect(ctx.mutes).toEqual([500])
    let settled: unknown = 'pending'
    const held = filter.onResponse!(produceResponse(5), ctx) as Promise<unknown>
    void held.then((v) => {
      settled = v
    })
    l.clock.advance(499)
    await Promise.resolve()
    expect(settled).toBe('pending')
    l.clock.advance(1)
    await held
    expect(settled).toMatchObject({ kind: 'replace', body: { throttleTimeMs: 500 } })
    expect(l.metric('held_responses_total', { client_id: 'legacy', principal: '' })).toBe(1)
  })

  it('one client id has one budget across its connections; another client id has its own', async () => {
    const l = await limiter({
      rules: [{ match: { clientId: { regex: '.*' } }, limits: { produceBytesPerSecond: 1000 } }],
    })
    const a1 = l.connect('a')
    const a2 = l.connect('a')
    const b = l.connect('b')
    a1.filter.onRequestBytes!(facts(ApiKey.Produce, 9, 800), a1.ctx)
    a2.filter.onRequestBytes!(facts(ApiKey.Produce, 9, 800), a2.ctx)
    b.filter.onRequestBytes!(facts(ApiKey.Produce, 9, 800), b.ctx)
    expect(a1.ctx.mutes).toEqual([])
    expect(a2.ctx.mutes).toEqual([600])
    expect(b.ctx.mutes).toEqual([])
  })

  it('never holds a client back longer than maxThrottleMs for one request; the rest stays owed', async () => {
    const l = await limiter({ ...produceLimit(1000, { burstSeconds: 0.1 }), maxThrottleMs: 1000 })
    const { ctx, filter } = l.connect('big')
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 5100), ctx)
    expect(ctx.mutes).toEqual([1000])
    l.clock.advance(1000)
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 1), ctx)
    expect(ctx.mutes).toEqual([1000, 1000])
  })

  it('reports what it held back: metrics, the statistics and one log line per client and limit', async () => {
    const l = await limiter(produceLimit(1000, { burstSeconds: 0.1 }))
    const { ctx, filter } = l.connect('orders')
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 300), ctx)
    l.clock.advance(100)
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 100), ctx)
    const labels = { client_id: 'orders', principal: '', limit: 'produceBytes' }
    expect(l.metric('throttled_requests_total', labels)).toBe(2)
    expect(l.metric('throttled_bytes_total', labels)).toBe(400)
    // 200 ms, then 100 ms more: the second mute extended the first by 100 ms (it had 100 ms left).
    expect(l.metric('throttle_seconds_total', labels)).toBeCloseTo(0.3)
    expect(l.statistics.sidecar.map((s) => [s.apiKey, s.ms, s.bytes])).toEqual([
      [ApiKey.Produce, 200, 300],
      [ApiKey.Produce, 100, 100],
    ])
    expect(l.statistics.sidecar[0]!.conn).toBe(ctx)
    const lines = l.logs.filter((line) => String(line.msg).startsWith('rate-limit: client over its produce limit'))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ clientId: 'orders', limit: 'produceBytes' })
  })

  it('clients no rule matches are not limited, and responses of unlimited clients are not decoded', async () => {
    const l = await limiter({ rules: [{ match: { clientId: 'limited' }, limits: { produceBytesPerSecond: 1 } }] })
    const { ctx, filter } = l.connect('free')
    for (let i = 0; i < 10; i++) filter.onRequestBytes!(facts(ApiKey.Produce, 9, 1_000_000), ctx)
    expect(ctx.mutes).toEqual([])
    expect(filter.needsResponse!(ApiKey.Produce, 9, body(40))).toBe(false)
    expect(filter.wantsResponse!(ApiKey.Fetch, 12)).toBe(false)
    expect(filter.wantsRequest!(ApiKey.Fetch, 12)).toBe(false)
  })
})

describe('rate-limit on a connection: requests', () => {
  it('counts requests of every API but ApiVersions and SASL, and per API where a limit names it', async () => {
    const l = await limiter({
      rules: [
        { match: 'default', burstSeconds: 1, limits: { requestsPerSecond: 10, apiRequestsPerSecond: { Metadata: 2 } } },
      ],
    })
    const { ctx, filter } = l.connect('chatty')
    for (let i = 0; i < 5; i++) filter.onRequestBytes!(facts(ApiKey.ApiVersions, 3, 50), ctx)
    filter.onRequestBytes!(facts(ApiKey.SaslHandshake, 1, 50), ctx)
    expect(ctx.mutes).toEqual([])
    filter.onRequestBytes!(facts(ApiKey.Metadata, 12, 50), ctx)
    filter.onRequestBytes!(facts(ApiKey.Metadata, 12, 50), ctx)
    expect(ctx.mutes).toEqual([])
    // A third Metadata in the same second owes one: 500 ms at 2/s.
    filter.onRequestBytes!(facts(ApiKey.Metadata, 12, 50), ctx)
    expect(ctx.mutes).toEqual([500])
    expect(
      l.metric('throttled_requests_total', { client_id: 'chatty', principal: '', limit: 'requests:Metadata' }),
    ).toBe(1)
    l.clock.advance(500)
    // The request budget is full again (10); ten requests of any API spend it, the eleventh owes 100 ms.
    for (let i = 0; i < 10; i++) filter.onRequestBytes!(facts(ApiKey.Heartbeat, 4, 50), ctx)
    expect(ctx.mutes).toEqual([500])
    filter.onRequestBytes!(facts(ApiKey.Heartbeat, 4, 50), ctx)
    expect(ctx.mutes).toEqual([500, 100])
  })
})

describe('rate-limit on a connection: fetch bytes', () => {
  const fetchLimit = {
    rules: [{ match: 'default', limits: { fetchBytesPerSecond: 1000 } }],
    throttleTimeInFetchResponses: true,
  }
  const fetchRequest = () =>
    request(ApiKey.Fetch, 12, {
      maxBytes: 52_428_800,
      minBytes: 1,
      topics: [{ topic: 't', partitions: [{ partition: 0, partitionMaxBytes: 1_048_576 }] }],
    })

  it('caps a Fetch to what the budget holds instead of refusing it (never an error)', async () => {
    const l = await limiter(fetchLimit)
    const { ctx, filter } = l.connect('consumer')
    expect(filter.wantsRequest!(ApiKey.Fetch, 12)).toBe(true)
    expect(filter.wantsResponse!(ApiKey.Fetch, 12)).toBe(true)
    const req = fetchRequest()
    const verdict = filter.onRequest!(req, ctx)
    expect(verdict).toMatchObject({ kind: 'replace' })
    const b = req.body as FetchRequest
    expect(b.maxBytes).toBe(1000)
    expect(b.minBytes).toBe(1)
    // Per-partition limits belong to the fetch session (KIP-227): untouched.
    expect(b.topics[0]!.partitions[0]!.partitionMaxBytes).toBe(1_048_576)
    expect(l.metric('fetch_max_bytes_lowered_total', { client_id: 'consumer', principal: '' })).toBe(1)
  })

  it('a Fetch response that overdraws the budget carries the throttle itself, and is charged once', async () => {
    const l = await limiter(fetchLimit)
    const { ctx, filter } = l.connect('consumer')
    // 1400 bytes against 1000 held: 400 owed.
    expect(filter.needsResponse!(ApiKey.Fetch, 12, body(1392))).toBe(true)
    const res = { ...response(ApiKey.Fetch, 12, { throttleTimeMs: 0, responses: [] }), size: 1400 } as DecodedResponse
    const verdict = await filter.onResponse!(res, ctx)
    expect(ctx.mutes).toEqual([400])
    expect(verdict).toMatchObject({ kind: 'replace', body: { throttleTimeMs: 400 } })
    filter.onResponseBytes!(
      { apiKey: ApiKey.Fetch, apiVersion: 12, correlationId: res.header.correlationId, size: 1400 },
      ctx,
    )
    expect(ctx.mutes).toEqual([400])
    // Once the debt is paid and enough is held again, a response is not decoded.
    l.clock.advance(1000)
    expect(filter.needsResponse!(ApiKey.Fetch, 12, body(100))).toBe(false)
  })

  it('by default Fetch responses stream through undecoded: the budget is enforced by not reading the client', async () => {
    const l = await limiter({ rules: [{ match: 'default', limits: { fetchBytesPerSecond: 1000 } }] })
    const { ctx, filter } = l.connect('consumer')
    expect(filter.wantsRequest!(ApiKey.Fetch, 12)).toBe(true)
    expect(filter.wantsResponse!(ApiKey.Fetch, 12)).toBe(false)
    filter.onResponseBytes!({ apiKey: ApiKey.Fetch, apiVersion: 12, correlationId: 5, size: 3000 }, ctx)
    expect(ctx.mutes).toEqual([2000])
  })

  it('a Fetch response that streamed past undecoded is charged as it reaches the client', async () => {
    const l = await limiter(fetchLimit)
    const { ctx, filter } = l.connect('consumer')
    filter.onResponseBytes!({ apiKey: ApiKey.Fetch, apiVersion: 12, correlationId: 77, size: 1500 }, ctx)
    expect(ctx.mutes).toEqual([500])
  })
})

describe('rate-limit on a connection: hot reload', () => {
  it('new limits reach open connections at once; what a client owes carries over', async () => {
    const l = await limiter(produceLimit(1000, { burstSeconds: 0.1 }))
    const { ctx, filter } = l.connect('orders')
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 150), ctx)
    expect(ctx.mutes).toEqual([50])
    await l.reload(produceLimit(10_000, { burstSeconds: 0.1 }))
    // From the reload on the budget refills at 10 000/s: 50 ms later the 50 owed are paid and 450 held.
    l.clock.advance(50)
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 1000), ctx)
    expect(ctx.mutes).toEqual([50, 55])
    // A new connection of the same client spends the same budget.
    const again = l.connect('orders')
    again.filter.onRequestBytes!(facts(ApiKey.Produce, 9, 100), again.ctx)
    expect(again.ctx.mutes).toEqual([65])
    // Lowered to 100 B/s: the 650 still owed and 100 more take 7.4 s to pay, held back at most maxThrottleMs.
    await l.reload(produceLimit(100, { burstSeconds: 0.1 }))
    l.clock.advance(65)
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 100), ctx)
    expect(ctx.mutes).toEqual([50, 55, 5000])
  })

  it('a reload that is never put in force changes nothing', async () => {
    const l = await limiter(produceLimit(1000))
    const { ctx, filter } = l.connect('orders')
    const plugin = (await import('../../../filters/rate-limit/index.js')).rateLimitPlugin
    // The sidecar configures the new instance, then rejects the reload (another filter failed): no close, no use.
    await plugin.configure(plugin.parseConfig(produceLimit(1)), {} as never, l.configured)
    filter.onRequestBytes!(facts(ApiKey.Produce, 9, 1000), ctx)
    expect(ctx.mutes).toEqual([])
  })
})
