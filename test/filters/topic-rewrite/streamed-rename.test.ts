import { describe, expect, it } from 'vitest'
import { decodeResponse } from '../../../codec/messages/frames.js'
import { STRUCT_SCHEMAS } from '../../../codec/messages/generated/schema.js'
import { carrierPlan, kindMask } from '../../../filters/topic-rewrite/carrier-walker.js'
import { topicRewritePlugin } from '../../../filters/topic-rewrite/index.js'
import { ApiKey, type DecodedResponse, type Filter } from '../../../src/pipeline/filter-api.js'
import { Frame } from '../../../src/pipeline/frame.js'
import { decodeResponseFrame, reencodeResponse } from '../../../src/pipeline/message-decoding.js'
import { renameWholeResponse } from '../../../src/pipeline/topic-renaming.js'
import { fetchResponse, frameOf, prng, split } from '../../support/fetch-responses.js'
import { type FakeContext, fakeContext, request, setupContext } from '../../support/filter-testing.js'

const RULES = [
  {
    name: 'canary',
    clients: { ids: ['orders-v2'] },
    topics: [
      { exact: 'orders', to: 'orders-canary' },
      { exact: 'payments', to: 'pay' },
    ],
    groups: [{ prefix: '', to: 'canary-' }],
  },
]

async function canary(): Promise<{ filter: Filter; ctx: FakeContext; setup: ReturnType<typeof setupContext> }> {
  const setup = setupContext()
  const configured = await topicRewritePlugin.configure(topicRewritePlugin.parseConfig({ rules: RULES }), setup)
  const ctx = fakeContext({ clientId: 'orders-v2' })
  const filter = configured.forConnection(ctx)
  filter.onRequestBytes?.({ apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 0, size: 30 }, ctx)
  return { filter, ctx, setup }
}

/** A canary's Fetch request naming `topics`, through the filter (so the filter knows what it asked for). */
function fetchRequest(filter: Filter, ctx: FakeContext, version: number, topics: readonly string[]) {
  const req = request(ApiKey.Fetch, version, {
    topics: topics.map((topic) => ({ topic, partitions: [{ partition: 0, fetchOffset: 0n }] })),
  })
  filter.onRequest!(req, ctx)
  return req
}

// The client asks for orders, audit, payments and the real name of orders' canary; the broker answers with the
// names the filter sent it on, plus orders itself (which the canary must not see: left out).
const CLIENT_TOPICS = ['orders', 'audit', 'payments']
const BROKER_TOPICS = ['orders-canary', 'audit', 'orders', 'pay']

describe('topic-rewrite: Fetch responses by name are renamed as they stream', () => {
  it('a Fetch response by name carries no other name than its topics (so the rename is all onResponse does)', () => {
    const all = kindMask(['topic', 'group', 'txn'])
    for (let v = 4; v <= 12; v++) {
      const plan = carrierPlan('FetchResponse', v, all)!
      expect(plan.names).toEqual([])
      expect(plan.lists).toEqual([])
      expect(plan.messages).toEqual([])
      expect(plan.resource).toBeUndefined()
      expect(plan.children.map((c) => c.prop)).toEqual(['responses'])
      const topic = plan.children[0]!.plan
      expect(topic.names).toEqual([{ prop: 'topic', kind: 'topic' }])
      expect([topic.lists, topic.messages, topic.children]).toEqual([[], [], []])
      expect(STRUCT_SCHEMAS.FetchResponse).toBeDefined()
    }
  })

  for (let v = 4; v <= 12; v++) {
    it(`v${v}: equals byte for byte what onResponse and re-encoding give, from pieces split anywhere`, async () => {
      const frame = frameOf(v, fetchResponse(v, BROKER_TOPICS, 3))
      const random = prng(v)
      for (let round = 0; round < 10; round++) {
        const pieces = split(frame, random, 1 + Math.floor(random() * 30))
        // The held way: decoded from the pieces, onResponse, encoded again.
        const held = await canary()
        const heldReq = fetchRequest(held.filter, held.ctx, v, CLIENT_TOPICS)
        const res = decodeResponseFrame(Frame.fromPieces(pieces, frame.length), ApiKey.Fetch, v, false, heldReq)
        expect(held.filter.wantsResponse!(ApiKey.Fetch, v)).toBe(true)
        const verdict = held.filter.onResponse!(res, held.ctx) as { kind: string }
        expect(verdict.kind).toBe('replace')
        const expected = Buffer.concat(reencodeResponse(res, false).pieces())
        // The streamed way.
        const streamed = await canary()
        const req = fetchRequest(streamed.filter, streamed.ctx, v, CLIENT_TOPICS)
        const rename = streamed.filter.renameResponseTopics!(
          { apiKey: ApiKey.Fetch, apiVersion: v, request: req },
          streamed.ctx,
        )!
        const out = renameWholeResponse(Frame.fromPieces(pieces, frame.length), v, rename)
        expect(Buffer.concat(out.pieces())).toEqual(expected)
        expect(out.length).toBe(expected.length)
        const names = (decodeResponse(expected, ApiKey.Fetch, v, 4).body as DecodedResponse<1>['body']).responses
        expect(names.map((t) => t.topic)).toEqual(['orders', 'audit', 'payments'])
        // Counted as one rewritten response, as onResponse counts it.
        const key = 'rewritten_messages_total{api="Fetch",direction="response",rule="canary"}'
        expect(streamed.setup.metrics.values.get(key)).toBe(1)
        expect(held.setup.metrics.values.get(key)).toBe(1)
      }
    })
  }

  it('offers no rename for other APIs, nor for a connection no rule selects', async () => {
    const { filter, ctx } = await canary()
    const req = request(ApiKey.Metadata, 12, { topics: [{ name: 'orders' }] })
    expect(filter.renameResponseTopics!({ apiKey: ApiKey.Metadata, apiVersion: 12, request: req }, ctx)).toBeUndefined()
    const setup = setupContext()
    const configured = await topicRewritePlugin.configure(topicRewritePlugin.parseConfig({ rules: RULES }), setup)
    const other = fakeContext({ clientId: 'orders-v1' })
    const plain = configured.forConnection(other)
    plain.onRequestBytes?.({ apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 0, size: 30 }, other)
    expect(plain.renameResponseTopics!({ apiKey: ApiKey.Fetch, apiVersion: 11, request: undefined }, other)).toBe(
      undefined,
    )
  })
})
