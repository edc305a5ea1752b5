import { describe, expect, it } from 'vitest'
import type { CreateTopicsRequest } from '../../../codec/messages/generated/create-topics-request.js'
import type { CreateTopicsResponse } from '../../../codec/messages/generated/create-topics-response.js'
import type { DeleteTopicsResponse } from '../../../codec/messages/generated/delete-topics-response.js'
import { ApiKey, type DecodedResponse, ErrorCode } from '../../../src/pipeline/filter-api.js'
import { request, response } from '../../support/filter-testing.js'
import { limiter } from './support.js'

const mutations = (perSecond: number) => ({
  rules: [{ match: 'default', burstSeconds: 1, limits: { controllerMutationsPerSecond: perSecond } }],
})

const createTopics = (version: number, topics: [string, number][], validateOnly = false) =>
  request(ApiKey.CreateTopics, version, {
    topics: topics.map(([name, numPartitions]) => ({ name, numPartitions, replicationFactor: 1 })),
    timeoutMs: 30_000,
    validateOnly,
  })

describe('rate-limit: controller mutation quota (KIP-599)', () => {
  it('strict versions: topics that find the budget exhausted get THROTTLING_QUOTA_EXCEEDED, the rest goes on', async () => {
    const l = await limiter(mutations(2))
    const { ctx, filter } = l.connect('admin')
    expect(filter.wantsRequest!(ApiKey.CreateTopics, 7)).toBe(true)
    // Budget 2: "a" (3 partitions) is accepted on a budget that is not exhausted and takes it to -1 (Kafka's strict
    // quota checks before it records); "b" finds it exhausted.
    const req = createTopics(7, [
      ['a', 3],
      ['b', 1],
    ])
    const verdict = filter.onRequest!(req, ctx)
    expect(verdict).toMatchObject({ kind: 'replace' })
    // The exchange puts the replaced body on the request; the response refers back to it.
    req.body = (verdict as { body: CreateTopicsRequest }).body
    expect(req.body.topics.map((t) => t.name)).toEqual(['a'])
    // Owed 1 at 2/s: 500 ms until the budget is back.
    expect(ctx.mutes).toEqual([500])
    // The broker answers for "a"; the client gets both, "b" refused, with the throttle time.
    const res = response(
      ApiKey.CreateTopics,
      7,
      { throttleTimeMs: 0, topics: [{ name: 'a', errorCode: 0, errorMessage: null }] },
      req,
    ) as DecodedResponse
    const out = await filter.onResponse!(res, ctx)
    expect(out).toMatchObject({ kind: 'replace' })
    const body = res.body as CreateTopicsResponse
    expect(body.throttleTimeMs).toBe(500)
    expect(body.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['a', 0],
      ['b', ErrorCode.THROTTLING_QUOTA_EXCEEDED],
    ])
    expect(body.topics[1]!.errorMessage).toMatch(/controller mutations over 2\/s for this client .* retry after 500 ms/)
    expect(l.metric('controller_mutations_rejected_total', { client_id: 'admin', principal: '' })).toBe(1)
  })

  it('strict versions: a request whose every topic is refused is answered without the broker', async () => {
    const l = await limiter(mutations(1))
    const { ctx, filter } = l.connect('admin')
    filter.onRequest!(createTopics(7, [['a', 2]]), ctx)
    expect(ctx.mutes).toEqual([1000])
    l.clock.advance(100)
    const verdict = filter.onRequest!(createTopics(7, [['b', 1]]), ctx)
    expect(verdict).toMatchObject({ kind: 'respond' })
    const body = (verdict as { body: CreateTopicsResponse }).body
    expect(body.topics.map((t) => [t.name, t.errorCode])).toEqual([['b', ErrorCode.THROTTLING_QUOTA_EXCEEDED]])
    // 0.9 still owed at 1/s: the answer says when the client may try again.
    expect(body.throttleTimeMs).toBe(900)
  })

  it('DeleteTopics v6 by topic id and CreatePartitions v3 are judged the same way', async () => {
    const l = await limiter(mutations(0.5))
    const { ctx, filter } = l.connect('admin')
    const del = request(ApiKey.DeleteTopics, 6, {
      topics: [
        { name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' },
        { name: 'x', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' },
      ],
      timeoutMs: 1000,
    })
    expect(filter.onRequest!(del, ctx)).toMatchObject({ kind: 'replace' })
    const res = response(
      ApiKey.DeleteTopics,
      6,
      { throttleTimeMs: 0, responses: [{ name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', errorCode: 0 }] },
      del,
    ) as DecodedResponse
    await filter.onResponse!(res, ctx)
    expect((res.body as DeleteTopicsResponse).responses.map((r) => [r.name, r.errorCode])).toEqual([
      [null, 0],
      ['x', ErrorCode.THROTTLING_QUOTA_EXCEEDED],
    ])
    const partitions = request(ApiKey.CreatePartitions, 3, {
      topics: [{ name: 'y', count: 4, assignments: null }],
      timeoutMs: 1000,
      validateOnly: false,
    })
    expect(filter.onRequest!(partitions, ctx)).toMatchObject({ kind: 'respond' })
  })

  it('permissive versions accept every topic and throttle afterwards (Kafka below the strict versions)', async () => {
    const l = await limiter(mutations(1))
    const { ctx, filter } = l.connect('old-admin')
    const req = createTopics(5, [
      ['a', 2],
      ['b', 2],
    ])
    expect(filter.onRequest!(req, ctx)).toBeUndefined()
    // 4 partitions against 1 held at 1/s: 3 s owed.
    expect(ctx.mutes).toEqual([3000])
    const res = response(ApiKey.CreateTopics, 5, { throttleTimeMs: 0, topics: [] }, req)
    expect(await filter.onResponse!(res as DecodedResponse, ctx)).toMatchObject({ body: { throttleTimeMs: 3000 } })
  })

  it('validateOnly changes nothing and is not counted', async () => {
    const l = await limiter(mutations(1))
    const { ctx, filter } = l.connect('admin')
    for (let i = 0; i < 5; i++) expect(filter.onRequest!(createTopics(7, [['a', 10]], true), ctx)).toBeUndefined()
    expect(ctx.mutes).toEqual([])
  })
})
