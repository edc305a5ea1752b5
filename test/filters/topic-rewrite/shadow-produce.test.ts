import { describe, expect, it } from 'vitest'
import { encodeRecordBatch } from '../../../codec/records/index.js'
import { topicRewritePlugin } from '../../../filters/topic-rewrite/index.js'
import { ApiKey, type OwnRecord, type UpstreamClientService } from '../../../src/pipeline/filter-api.js'
import { fakeContext, request, response, setupContext } from '../../support/filter-testing.js'

/** The sidecar's own client as shadow produce sees it: every produce call recorded, answered as scripted. */
class RecordingUpstream implements UpstreamClientService {
  readonly produced: { topic: string; records: readonly OwnRecord[]; acks: number | undefined }[] = []
  fail: Error | undefined
  private waiting: (() => void)[] = []
  hold = false

  async send(): Promise<never> {
    throw new Error('not scripted')
  }

  async produce(topic: string, records: readonly OwnRecord[], options?: { acks?: 0 | 1 | -1 }) {
    this.produced.push({ topic, records, acks: options?.acks })
    if (this.hold) await new Promise<void>((resolve) => this.waiting.push(resolve))
    if (this.fail) throw this.fail
    return records.map((_, i) => ({ partition: 0, offset: BigInt(i) }))
  }

  release(): void {
    for (const w of this.waiting.splice(0)) w()
  }

  health() {
    return { connected: true }
  }
}

const SHADOW = {
  name: 'shadow',
  mode: 'shadow',
  clients: { percent: 100 },
  topics: [{ exact: 'orders', to: 'orders-canary' }],
}

async function shadowConnection(shadow: Record<string, unknown> = {}) {
  const upstream = new RecordingUpstream()
  const setup = setupContext({ upstream })
  const configured = await topicRewritePlugin.configure(
    topicRewritePlugin.parseConfig({ rules: [SHADOW], shadow }),
    setup,
  )
  const ctx = fakeContext({ clientId: 'orders-app', topics: new Map([['AAAAAAAAAAAAAAAAAAAAAQ', 'orders']]) })
  const filter = configured.forConnection(ctx)
  filter.onRequestBytes?.({ apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 0, size: 30 }, ctx)
  return { filter, ctx, upstream, setup, configured }
}

const batch = (values: string[], options: { transactional?: boolean } = {}) =>
  encodeRecordBatch(
    values.map((v, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(v), timestamp: 1000n + BigInt(i) })),
    { isTransactional: options.transactional ?? false, producerId: options.transactional ? 7n : -1n },
  )

const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('topic-rewrite shadow mode', () => {
  it('observes only; copies records the broker acknowledged, never those of a failed partition', async () => {
    const { filter, ctx, upstream, setup } = await shadowConnection()
    expect(filter.observesOnly).toBe(true)
    expect(filter.records).toBe('bytes')
    expect(filter.wantsRequest!(ApiKey.Fetch, 11)).toBe(false)
    const req = request(ApiKey.Produce, 9, {
      acks: -1,
      topicData: [
        {
          name: 'orders',
          partitionData: [
            { index: 0, records: batch(['a', 'b']) },
            { index: 1, records: batch(['c']) },
          ],
        },
        { name: 'payments', partitionData: [{ index: 0, records: batch(['p']) }] },
      ],
    })
    expect(filter.onRequest!(req, ctx)).toBeUndefined()
    expect(req.body.topicData[0]!.name).toBe('orders') // untouched
    const res = response(
      ApiKey.Produce,
      9,
      {
        responses: [
          {
            name: 'orders',
            partitionResponses: [
              { index: 0, errorCode: 0 },
              { index: 1, errorCode: 6 },
            ],
          },
          { name: 'payments', partitionResponses: [{ index: 0, errorCode: 0 }] },
        ],
      },
      req,
    )
    expect(filter.onResponse!(res, ctx)).toBeUndefined()
    await tick()
    expect(upstream.produced).toHaveLength(1)
    const copy = upstream.produced[0]!
    expect(copy.topic).toBe('orders-canary')
    expect(copy.acks).toBe(-1)
    expect(copy.records.map((r) => [String(r.key), String(r.value), r.timestamp, r.partition])).toEqual([
      ['k0', 'a', 1000n, 0],
      ['k1', 'b', 1001n, 0],
    ])
    expect(setup.metrics.values.get('shadow_records_total{outcome="produced",rule="shadow"}')).toBe(2)
  })

  it('Produce v13 by topic id: the name decides, the response matches by id', async () => {
    const { filter, ctx, upstream } = await shadowConnection()
    const req = request(ApiKey.Produce, 13, {
      acks: 1,
      topicData: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitionData: [{ index: 2, records: batch(['x']) }] }],
    })
    await filter.onRequest!(req, ctx)
    const res = response(
      ApiKey.Produce,
      13,
      { responses: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitionResponses: [{ index: 2 }] }] },
      req,
    )
    await filter.onResponse!(res, ctx)
    await tick()
    expect(upstream.produced.map((p) => [p.topic, p.records[0]!.partition])).toEqual([['orders-canary', 2]])
  })

  it('a full queue drops copies and counts them; the client is never affected', async () => {
    const { filter, ctx, upstream, setup } = await shadowConnection({ maxQueuedRecords: 3 })
    upstream.hold = true
    for (let i = 0; i < 3; i++) {
      const req = request(ApiKey.Produce, 9, {
        acks: 0,
        topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batch(['1', '2']) }] }],
      })
      expect(filter.onRequest!(req, ctx)).toBeUndefined()
    }
    expect(upstream.produced).toHaveLength(1)
    expect(setup.metrics.values.get('shadow_records_total{outcome="dropped",rule="shadow"}')).toBe(4)
    expect(setup.metrics.values.get('shadow_queued_records')).toBe(2)
    upstream.release()
    await tick()
    expect(setup.metrics.values.get('shadow_queued_records')).toBe(0)
  })

  it('failures are counted, not returned', async () => {
    const { filter, ctx, upstream, setup } = await shadowConnection()
    upstream.fail = Object.assign(new Error('leader gone'), { code: 'KSC_ERR_UPSTREAM_X' })
    const req = request(ApiKey.Produce, 9, {
      acks: 0,
      topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batch(['1']) }] }],
    })
    expect(filter.onRequest!(req, ctx)).toBeUndefined()
    await tick()
    expect(setup.metrics.values.get('shadow_records_total{outcome="failed",rule="shadow"}')).toBe(1)
  })

  it('transactional records wait for EndTxn: committed ones are copied, aborted ones dropped', async () => {
    const { filter, ctx, upstream, setup } = await shadowConnection()
    const produce = (value: string) => {
      const req = request(ApiKey.Produce, 9, {
        transactionalId: 'tx',
        acks: -1,
        topicData: [
          { name: 'orders', partitionData: [{ index: 0, records: batch([value], { transactional: true }) }] },
        ],
      })
      filter.onRequest!(req, ctx)
      filter.onResponse!(
        response(ApiKey.Produce, 9, { responses: [{ name: 'orders', partitionResponses: [{ index: 0 }] }] }, req),
        ctx,
      )
    }
    const endTxn = (committed: boolean) => {
      const req = request(ApiKey.EndTxn, 4, { transactionalId: 'tx', committed })
      filter.onRequest!(req, ctx)
      filter.onResponse!(response(ApiKey.EndTxn, 4, { errorCode: 0 }, req), ctx)
    }
    produce('aborted-1')
    await tick()
    expect(upstream.produced).toHaveLength(0)
    endTxn(false)
    produce('committed-1')
    produce('committed-2')
    endTxn(true)
    await tick()
    expect(upstream.produced.flatMap((p) => p.records.map((r) => String(r.value)))).toEqual([
      'committed-1',
      'committed-2',
    ])
    expect(setup.metrics.values.get('shadow_records_total{outcome="aborted",rule="shadow"}')).toBe(1)
  })

  it('a reload keeps the queue', async () => {
    const { configured, setup } = await shadowConnection()
    const next = await topicRewritePlugin.configure(
      topicRewritePlugin.parseConfig({ rules: [SHADOW] }),
      setup,
      configured,
    )
    expect((next as unknown as { shadow: unknown }).shadow).toBe((configured as unknown as { shadow: unknown }).shadow)
  })
})
