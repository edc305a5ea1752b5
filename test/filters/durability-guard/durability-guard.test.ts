import { describe, expect, it } from 'vitest'
import { durabilityGuardPlugin } from '../../../filters/durability-guard/index.js'
import { ApiKey, ErrorCode, type RequestVerdict } from '../../../src/pipeline/filter-api.js'
import {
  FakeClock,
  fakeContext,
  request,
  ScriptedUpstream,
  type SentRequest,
  setupContext,
} from '../../support/filter-testing.js'

/** A broker that knows min.insync.replicas per topic (unknown topics: UNKNOWN_TOPIC_OR_PARTITION). */
function configsBroker(minIsr: Record<string, number>) {
  return (req: SentRequest) => {
    const topic = (req.body as { resources: { resourceName: string }[] }).resources[0]!.resourceName
    const value = minIsr[topic]
    return {
      throttleTimeMs: 0,
      results: [
        {
          errorCode: value === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : 0,
          errorMessage: null,
          resourceType: 2,
          resourceName: topic,
          configs:
            value === undefined
              ? []
              : [
                  {
                    name: 'min.insync.replicas',
                    value: String(value),
                    readOnly: false,
                    configSource: 1,
                    isSensitive: false,
                    synonyms: [],
                  },
                ],
        },
      ],
    }
  }
}

async function guard(minIsr: Record<string, number>, clock = new FakeClock()) {
  const upstream = new ScriptedUpstream().answerAlways(ApiKey.DescribeConfigs, configsBroker(minIsr))
  const setup = setupContext({ clock })
  const configured = await durabilityGuardPlugin.configure(durabilityGuardPlugin.parseConfig({ cacheMs: 1000 }), setup)
  const ctx = fakeContext({ upstream, clock, clientId: 'orders-service' })
  return { filter: configured.forConnection(ctx), ctx, upstream, setup, clock }
}

const produce = (acks: number, topics: Record<string, number[]>, version = 9) =>
  request(ApiKey.Produce, version, {
    acks,
    topicData: Object.entries(topics).map(([name, partitions]) => ({
      name,
      partitionData: partitions.map((index) => ({ index })),
    })),
  })

describe('durability-guard', () => {
  it('lets acks=all through without asking anything', async () => {
    const { filter, upstream } = await guard({ payments: 2 })
    expect(filter.onRequest!(produce(-1, { payments: [0] }), fakeContext())).toBeUndefined()
    expect(upstream.sent).toEqual([])
  })

  it('rejects acks=1 partitions of a topic with min.insync.replicas >= 2, lets the rest through, and caches', async () => {
    const { filter, ctx, upstream, setup } = await guard({ payments: 2, clicks: 1 })
    const verdict = (await filter.onRequest!(produce(1, { payments: [0, 1], clicks: [0] }), ctx)) as RequestVerdict
    expect(verdict).toEqual({
      kind: 'reject-partitions',
      rejections: [0, 1].map((partition) => ({
        topic: 'payments',
        partition,
        errorCode: ErrorCode.INVALID_REQUIRED_ACKS,
        message: 'topic payments requires acks=all (min.insync.replicas=2); this producer uses acks=1',
      })),
    })
    expect(
      upstream.sent.map((s) => (s.body as { resources: { resourceName: string }[] }).resources[0]!.resourceName),
    ).toEqual(['payments', 'clicks'])
    // Known now: the next request is judged synchronously, without asking again.
    const again = filter.onRequest!(produce(1, { clicks: [0] }), ctx)
    expect(again).toBeUndefined()
    expect(upstream.sent).toHaveLength(2)
    expect(setup.metrics.values.get('rejected_partitions_total{client_id="orders-service",topic="payments"}')).toBe(2)
  })

  it('asks again once the cached value is older than cacheMs', async () => {
    const { filter, ctx, upstream, clock } = await guard({ payments: 2 })
    await filter.onRequest!(produce(1, { payments: [0] }), ctx)
    clock.advance(1001)
    await filter.onRequest!(produce(1, { payments: [0] }), ctx)
    expect(upstream.sent).toHaveLength(2)
  })

  it('names topics Produce v13 carries by id, and rejects by id', async () => {
    const { filter } = await guard({ payments: 3 })
    const id = 'AAAAAAAAAAAAAAAAAAAAAQ'
    const ctx = fakeContext({
      upstream: new ScriptedUpstream().answerAlways(ApiKey.DescribeConfigs, configsBroker({ payments: 3 })),
      topics: new Map([[id, 'payments']]),
    })
    const req = request(ApiKey.Produce, 13, { acks: 0, topicData: [{ topicId: id, partitionData: [{ index: 4 }] }] })
    const verdict = (await filter.onRequest!(req, ctx)) as { kind: string; rejections: { topic: string }[] }
    expect(verdict.kind).toBe('reject-partitions')
    expect(verdict.rejections.map((r) => r.topic)).toEqual([id])
  })

  it('lets produce through when the configuration cannot be read (no permission, broker trouble)', async () => {
    const upstream = new ScriptedUpstream() // no answer scripted: every lookup fails
    const configured = await durabilityGuardPlugin.configure(durabilityGuardPlugin.parseConfig({}), setupContext())
    const ctx = fakeContext({ upstream })
    const filter = configured.forConnection(ctx)
    expect(await filter.onRequest!(produce(1, { payments: [0] }), ctx)).toBeUndefined()
  })

  it('refuses a bad configuration with the key and what to do', () => {
    expect(() => durabilityGuardPlugin.parseConfig({ minInsyncReplicas: 0 })).toThrow(
      /minInsyncReplicas: expected an integer of at least 1/,
    )
    expect(() => durabilityGuardPlugin.parseConfig({ minIsr: 2 })).toThrow(
      /minIsr: unknown key; known: minInsyncReplicas, cacheMs/,
    )
    expect(() => durabilityGuardPlugin.parseConfig('yes')).toThrow(/expected a mapping/)
  })
})
