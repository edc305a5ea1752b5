import { describe, expect, it } from 'vitest'
import { decodeRequest, encodeResponse } from '../../../codec/messages/frames.js'
import type { ProduceRequest } from '../../../codec/messages/generated/produce-request.js'
import type { ProduceResponse } from '../../../codec/messages/generated/produce-response.js'
import { defaultResponse } from '../../../codec/messages/message-defaults.js'
import { carrierPlan, kindMask } from '../../../filters/topic-rewrite/carrier-walker.js'
import { topicRewritePlugin } from '../../../filters/topic-rewrite/index.js'
import { ApiKey, type Filter } from '../../../src/pipeline/filter-api.js'
import { Frame } from '../../../src/pipeline/frame.js'
import {
  decodeRequestFrame,
  decodeResponseFrame,
  reencodeRequest,
  reencodeResponse,
} from '../../../src/pipeline/message-decoding.js'
import { renameWholeRequest } from '../../../src/pipeline/topic-renaming.js'
import { prng, split } from '../../support/fetch-responses.js'
import { type FakeContext, fakeContext, setupContext } from '../../support/filter-testing.js'
import { produceFrameOf, produceRequest } from '../../support/produce-requests.js'

const TOPICS = [
  { exact: 'orders', to: 'orders-canary' },
  { exact: 'payments', to: 'pay' },
]
const RULES = [
  { name: 'canary', clients: { ids: ['orders-v2'] }, topics: TOPICS, groups: [{ prefix: '', to: 'canary-' }] },
]

async function canary(rules: unknown[] = RULES) {
  const setup = setupContext()
  const configured = await topicRewritePlugin.configure(topicRewritePlugin.parseConfig({ rules }), setup)
  const ctx = fakeContext({ clientId: 'orders-v2' })
  const filter = configured.forConnection(ctx)
  filter.onRequestBytes?.({ apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 0, size: 30 }, ctx)
  return { filter, ctx, setup }
}

// The client names orders, audit and payments; the broker answers in the names it was sent.
const CLIENT_TOPICS = ['orders', 'audit', 'payments']

/** The broker's answer to a Produce request naming `real`, with an error message naming orders' canary (v8+). */
function produceAnswer(version: number, real: readonly string[]): Buffer {
  const body = defaultResponse(ApiKey.Produce, version, {
    responses: real.map((name) => ({
      name,
      partitionResponses: [
        {
          index: 0,
          errorCode: name === 'orders-canary' ? 3 : 0,
          ...(version >= 8 ? { errorMessage: name === 'orders-canary' ? 'orders-canary is not there' : null } : {}),
        },
      ],
    })),
  }) as ProduceResponse
  return encodeResponse(ApiKey.Produce, version, { correlationId: 77 }, body)
}

/** The response through the filter's onResponse, encoded again (or as it came). */
function mappedBack(
  filter: Filter,
  ctx: FakeContext,
  version: number,
  request: ReturnType<typeof decodeRequestFrame> | undefined,
) {
  const frame = produceAnswer(version, ['orders-canary', 'audit', 'pay'])
  const res = decodeResponseFrame(Frame.of(frame), ApiKey.Produce, version, false, request)
  const verdict = filter.onResponse!(res, ctx) as { kind: string } | undefined
  expect(verdict?.kind).toBe('replace')
  return Buffer.concat(reencodeResponse(res, false).pieces())
}

describe('topic-rewrite: Produce requests by name are renamed as they stream', () => {
  it('a Produce request by name carries no other name than its topics and its transactional id', () => {
    const all = kindMask(['topic', 'group', 'txn'])
    for (let v = 3; v <= 12; v++) {
      const plan = carrierPlan('ProduceRequest', v, all)!
      expect(plan.names).toEqual([{ prop: 'transactionalId', kind: 'txn' }])
      expect([plan.lists, plan.messages, plan.resource]).toEqual([[], [], undefined])
      expect(plan.children.map((c) => c.prop)).toEqual(['topicData'])
      const topic = plan.children[0]!.plan
      expect(topic.names).toEqual([{ prop: 'name', kind: 'topic' }])
      expect([topic.lists, topic.messages, topic.children]).toEqual([[], [], []])
    }
  })

  for (let v = 3; v <= 12; v++) {
    it(`v${v}: equals byte for byte what onRequest and re-encoding give, and the response maps back the same`, async () => {
      const frame = produceFrameOf(v, produceRequest(v, CLIENT_TOPICS, 3, 'txn-a'), 'orders-v2')
      const random = prng(v)
      for (let round = 0; round < 5; round++) {
        const pieces = split(frame, random, 1 + Math.floor(random() * 30))
        // The held way: decoded from the pieces, onRequest, encoded again.
        const held = await canary()
        const heldReq = decodeRequestFrame(Frame.fromPieces(pieces, frame.length), false)
        expect(held.filter.wantsRequest!(ApiKey.Produce, v)).toBe(true)
        const verdict = held.filter.onRequest!(heldReq, held.ctx) as { kind: string }
        expect(verdict.kind).toBe('replace')
        const expected = Buffer.concat(reencodeRequest(heldReq, false).pieces())
        // The streamed way.
        const streamed = await canary()
        const rename = streamed.filter.renameRequestTopics!(
          { apiKey: ApiKey.Produce, apiVersion: v, correlationId: 77, expectsResponse: true },
          streamed.ctx,
        )!
        const out = renameWholeRequest(Frame.fromPieces(pieces, frame.length), ApiKey.Produce, v, rename)
        expect(Buffer.concat(out.pieces())).toEqual(expected)
        const names = (decodeRequest(expected, 4).body as ProduceRequest).topicData.map((t) => t.name)
        expect(names).toEqual(['orders-canary', 'audit', 'pay'])
        // Counted as one rewritten request, as onRequest counts it.
        const key = 'rewritten_messages_total{api="Produce",direction="request",rule="canary"}'
        expect(streamed.setup.metrics.values.get(key)).toBe(1)
        expect(held.setup.metrics.values.get(key)).toBe(1)
        // The response: the held way finds what its request named by the request object, the streamed way by its
        // correlation id (the runtime hands no request object for it).
        const heldBack = mappedBack(held.filter, held.ctx, v, heldReq)
        expect(mappedBack(streamed.filter, streamed.ctx, v, undefined)).toEqual(heldBack)
      }
    })
  }

  it('names what the request named in the response even where the rule’s way back would not', async () => {
    // The client names the canary topic itself: the rule's way back would say `orders`.
    const v = 9
    const { filter, ctx } = await canary()
    const rename = filter.renameRequestTopics!(
      { apiKey: ApiKey.Produce, apiVersion: v, correlationId: 77, expectsResponse: true },
      ctx,
    )!
    expect(rename('orders-canary')).toBe('orders-canary')
    const frame = produceAnswer(v, ['orders-canary'])
    const res = decodeResponseFrame(Frame.of(frame), ApiKey.Produce, v, false, undefined)
    filter.onResponse!(res, ctx)
    expect((res.body as ProduceResponse).responses.map((t) => t.name)).toEqual(['orders-canary'])
    // Taken once: a later response with the same correlation id takes the rule's way back.
    const again = decodeResponseFrame(Frame.of(frame), ApiKey.Produce, v, false, undefined)
    filter.onResponse!(again, ctx)
    expect((again.body as ProduceResponse).responses.map((t) => t.name)).toEqual(['orders'])
  })

  it('offers no rename where onRequest would do more: transactional ids mapped, shadow mode, other APIs, no rule', async () => {
    const produce = { apiKey: ApiKey.Produce, apiVersion: 7, correlationId: 1, expectsResponse: true }
    const txn = await canary([{ ...RULES[0], transactionalIds: [{ prefix: '', to: 'canary-' }] }])
    expect(txn.filter.renameRequestTopics!(produce, txn.ctx)).toBeUndefined()
    const shadow = await canary([{ name: 'canary', mode: 'shadow', clients: { ids: ['orders-v2'] }, topics: TOPICS }])
    expect(shadow.filter.observesOnly).toBe(true)
    expect(shadow.filter.renameRequestTopics!(produce, shadow.ctx)).toBeUndefined()
    const { filter, ctx } = await canary()
    expect(filter.renameRequestTopics!({ ...produce, apiKey: ApiKey.Fetch, apiVersion: 11 }, ctx)).toBeUndefined()
    const setup = setupContext()
    const configured = await topicRewritePlugin.configure(topicRewritePlugin.parseConfig({ rules: RULES }), setup)
    const other = fakeContext({ clientId: 'orders-v1' })
    const plain = configured.forConnection(other)
    plain.onRequestBytes?.({ apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 0, size: 30 }, other)
    expect(plain.renameRequestTopics!(produce, other)).toBeUndefined()
  })
})
