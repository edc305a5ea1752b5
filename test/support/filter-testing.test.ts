import { describe, expect, it } from 'vitest'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { FakeClock, fakeContext, request, response, ScriptedUpstream } from './filter-testing.js'

describe('filter test support', () => {
  it('builds requests and responses of any API and version from their defaults', () => {
    const req = request(ApiKey.Produce, 9, { acks: 1, topicData: [{ name: 'orders', partitionData: [{ index: 2 }] }] })
    expect(req.body.acks).toBe(1)
    expect(req.body.topicData[0]!.partitionData[0]!.index).toBe(2)
    expect(req.size).toBeGreaterThan(20)
    const res = response(ApiKey.Metadata, 13, { topics: [{ name: 'orders' }] }, request(ApiKey.Metadata, 13))
    expect(res.body.topics[0]!.name).toBe('orders')
    expect(res.body.errorCode).toBe(0)
    expect(res.request?.apiKey).toBe(ApiKey.Metadata)
  })

  it('a fake clock fires timers in order as time passes', () => {
    const clock = new FakeClock()
    const fired: string[] = []
    clock.setTimer(200, () => fired.push('b'))
    const cancel = clock.setTimer(150, () => fired.push('never'))
    clock.setTimer(100, () => fired.push('a'))
    cancel()
    clock.advance(150)
    expect(fired).toEqual(['a'])
    clock.advance(50)
    expect(fired).toEqual(['a', 'b'])
    expect(clock.monotonic()).toBe(200)
  })

  it('a scripted upstream answers a filter own requests and records them; an unscripted one rejects', async () => {
    const upstream = new ScriptedUpstream().answerOnce(ApiKey.Metadata, {
      throttleTimeMs: 0,
      brokers: [],
      topics: [],
    } as never)
    const ctx = fakeContext({ upstream, clientId: 'app' })
    const res = await ctx.sendRequest(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false })
    expect(res.body.brokers).toEqual([])
    expect(upstream.sent.map((s) => s.apiKey)).toEqual([ApiKey.Metadata])
    await expect(ctx.sendRequest(ApiKey.Metadata, 12, { topics: null })).rejects.toThrow(/no scripted answer/)
    ctx.muteClient(30)
    expect(ctx.mutes).toEqual([30])
    expect(ctx.connection.clientId).toBe('app')
  })
})
