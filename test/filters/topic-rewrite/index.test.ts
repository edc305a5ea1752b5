import { describe, expect, it } from 'vitest'
import type { MetadataResponse } from '../../../codec/messages/generated/metadata-response.js'
import { assignmentTopics, subscriptionTopics } from '../../../filters/topic-rewrite/consumer-protocol.js'
import { topicRewritePlugin } from '../../../filters/topic-rewrite/index.js'
import {
  ApiKey,
  type DecodedRequest,
  type DecodedResponse,
  type Filter,
  type RequestVerdict,
} from '../../../src/pipeline/filter-api.js'
import { type FakeContext, fakeContext, request, response, setupContext } from '../../support/filter-testing.js'
import { assignmentBytes, subscriptionBytes } from './consumer-protocol-bytes.js'

const ORDERS_CANARY_ID = 'AAAAAAAAAAAAAAAAAAAAAQ'
const ORDERS_ID = 'AAAAAAAAAAAAAAAAAAAAAg'

const RULE = {
  name: 'orders-canary',
  clients: { ids: ['orders-v2'] },
  topics: [{ exact: 'orders', to: 'orders-canary' }],
  groups: [{ prefix: '', to: 'canary-' }],
}

/** The filter of one connection, past its first request (the client id is then known). */
async function connect(
  clientId: string | null,
  rules: unknown[] = [RULE],
  ctxOptions: Parameters<typeof fakeContext>[0] = {},
) {
  const setup = setupContext()
  const configured = await topicRewritePlugin.configure(topicRewritePlugin.parseConfig({ rules }), setup)
  const ctx = fakeContext({ clientId, ...ctxOptions })
  const filter = configured.forConnection(ctx)
  filter.onRequestBytes?.({ apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 0, size: 30 }, ctx)
  return { filter, ctx, setup }
}

function sendRequest(filter: Filter, req: DecodedRequest, ctx: FakeContext) {
  expect(filter.wantsRequest?.(req.apiKey, req.apiVersion)).toBe(true)
  return filter.onRequest!(req, ctx) as RequestVerdict | undefined | Promise<RequestVerdict | undefined>
}

function sendResponse(filter: Filter, res: DecodedResponse, ctx: FakeContext) {
  expect(filter.wantsResponse?.(res.apiKey, res.apiVersion)).toBe(true)
  return filter.onResponse!(res, ctx)
}

describe('topic-rewrite: which connections', () => {
  it('a client no rule selects: nothing is decoded', async () => {
    const { filter } = await connect('orders-v1')
    for (const [k, v] of [
      [ApiKey.Metadata, 12],
      [ApiKey.Produce, 9],
      [ApiKey.Fetch, 11],
      [ApiKey.JoinGroup, 9],
    ]) {
      expect(filter.wantsRequest!(k!, v!)).toBe(false)
      expect(filter.wantsResponse!(k!, v!)).toBe(false)
    }
  })

  it('before the first request is read, what any rule may want is decoded; the first request decides', async () => {
    const setup = setupContext()
    const configured = await topicRewritePlugin.configure(topicRewritePlugin.parseConfig({ rules: [RULE] }), setup)
    const ctx = fakeContext({ clientId: null })
    const filter = configured.forConnection(ctx)
    expect(filter.wantsRequest!(ApiKey.Metadata, 12)).toBe(true)
    expect(filter.wantsRequest!(ApiKey.ApiVersions, 3)).toBe(false)
    ctx.clientId = 'payments'
    const req = request(ApiKey.Metadata, 12, { topics: [{ name: 'orders' }] })
    expect(filter.onRequest!(req, ctx)).toBeUndefined()
    expect(filter.wantsRequest!(ApiKey.Metadata, 12)).toBe(false)
    expect(setup.metrics.values.get('connections_total{rule="",side="unchanged"}')).toBe(1)
  })
})

describe('topic-rewrite: a canary client', () => {
  it('Metadata: asks for orders-canary, sees it as orders with its id; the real orders is hidden', async () => {
    const { filter, ctx, setup } = await connect('orders-v2')
    const req = request(ApiKey.Metadata, 12, { topics: [{ name: 'orders' }, { name: 'payments' }] })
    expect(sendRequest(filter, req, ctx)).toEqual({ kind: 'replace', body: req.body })
    expect(req.body.topics!.map((t) => t.name)).toEqual(['orders-canary', 'payments'])
    const res = response(
      ApiKey.Metadata,
      12,
      {
        topics: [
          {
            name: 'orders-canary',
            topicId: ORDERS_CANARY_ID,
            partitions: [{ partitionIndex: 0 }, { partitionIndex: 1 }],
          },
          { name: 'payments' },
        ],
      },
      req,
    )
    expect(sendResponse(filter, res, ctx)).toEqual({ kind: 'replace', body: res.body })
    expect((res.body as MetadataResponse).topics.map((t) => [t.name, t.topicId, t.partitions.length])).toEqual([
      ['orders', ORDERS_CANARY_ID, 2],
      ['payments', 'AAAAAAAAAAAAAAAAAAAAAA', 0],
    ])
    // Every topic: the real orders is left out, so a pattern sees one orders.
    const all = request(ApiKey.Metadata, 12, { topics: null })
    expect(filter.onRequest!(all, ctx)).toBeUndefined()
    const listing = response(
      ApiKey.Metadata,
      12,
      {
        topics: [
          { name: 'orders', topicId: ORDERS_ID },
          { name: 'orders-canary', topicId: ORDERS_CANARY_ID },
        ],
      },
      all,
    )
    filter.onResponse!(listing, ctx)
    expect(listing.body.topics.map((t) => [t.name, t.topicId])).toEqual([['orders', ORDERS_CANARY_ID]])
    expect(setup.metrics.values.get('connections_total{rule="orders-canary",side="rewrite"}')).toBe(1)
  })

  it('a response echoes the names its request used, also the target named directly', async () => {
    const { filter, ctx } = await connect('orders-v2')
    const req = request(ApiKey.Metadata, 12, { topics: [{ name: 'orders-canary' }] })
    filter.onRequest!(req, ctx)
    const res = response(ApiKey.Metadata, 12, { topics: [{ name: 'orders-canary', topicId: ORDERS_CANARY_ID }] }, req)
    filter.onResponse!(res, ctx)
    expect(res.body.topics[0]!.name).toBe('orders-canary')
  })

  it('Produce by name (v9) and its answer; by id (v13) is not decoded; Fetch by name below v13 only', async () => {
    const { filter, ctx } = await connect('orders-v2')
    const req = request(ApiKey.Produce, 9, { acks: -1, topicData: [{ name: 'orders', partitionData: [{ index: 0 }] }] })
    sendRequest(filter, req, ctx)
    expect(req.body.topicData[0]!.name).toBe('orders-canary')
    const res = response(
      ApiKey.Produce,
      9,
      { responses: [{ name: 'orders-canary', partitionResponses: [{ index: 0 }] }] },
      req,
    )
    sendResponse(filter, res, ctx)
    expect(res.body.responses[0]!.name).toBe('orders')
    expect(filter.wantsRequest!(ApiKey.Produce, 13)).toBe(false)
    expect(filter.wantsResponse!(ApiKey.Produce, 13)).toBe(false)
    expect(filter.wantsRequest!(ApiKey.Fetch, 12)).toBe(true)
    // Fetch v13+ names topics by id: such responses are never held for this filter, so they stream.
    for (let v = 13; v <= 18; v++) {
      expect(filter.wantsRequest!(ApiKey.Fetch, v)).toBe(false)
      expect(filter.wantsResponse!(ApiKey.Fetch, v)).toBe(false)
    }
  })

  it('classic consumer protocol: JoinGroup subscriptions and SyncGroup assignments (v3, no protocol type) both ways', async () => {
    const { filter, ctx } = await connect('orders-v2')
    const sub = subscriptionBytes(
      { topics: ['orders'], userData: null, ownedPartitions: [], generationId: -1, rackId: null },
      3,
    )
    const join = request(ApiKey.JoinGroup, 5, {
      groupId: 'app',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: sub }],
    })
    sendRequest(filter, join, ctx)
    expect(join.body.groupId).toBe('canary-app')
    expect(subscriptionTopics(join.body.protocols[0]!.metadata)?.topics).toEqual(['orders-canary'])
    const joined = response(
      ApiKey.JoinGroup,
      5,
      { members: [{ memberId: 'm1', metadata: join.body.protocols[0]!.metadata }], protocolName: 'range' },
      join,
    )
    sendResponse(filter, joined, ctx)
    expect(subscriptionTopics(joined.body.members[0]!.metadata)?.topics).toEqual(['orders'])

    const sync = request(ApiKey.SyncGroup, 3, {
      groupId: 'app',
      assignments: [
        {
          memberId: 'm1',
          assignment: assignmentBytes(
            { assignedPartitions: [{ topic: 'orders', partitions: [0, 1] }], userData: null },
            3,
          ),
        },
      ],
    })
    sendRequest(filter, sync, ctx)
    expect(assignmentTopics(sync.body.assignments[0]!.assignment)).toEqual([
      { topic: 'orders-canary', partitions: [0, 1] },
    ])
    const synced = response(ApiKey.SyncGroup, 3, { assignment: sync.body.assignments[0]!.assignment }, sync)
    sendResponse(filter, synced, ctx)
    expect(assignmentTopics(synced.body.assignment)).toEqual([{ topic: 'orders', partitions: [0, 1] }])
  })

  it('DescribeGroups shows the consumer protocol bytes in the client names', async () => {
    const { filter, ctx } = await connect('orders-v2')
    const req = request(ApiKey.DescribeGroups, 5, { groups: ['app'] })
    sendRequest(filter, req, ctx)
    expect(req.body.groups).toEqual(['canary-app'])
    const res = response(
      ApiKey.DescribeGroups,
      5,
      {
        groups: [
          {
            groupId: 'canary-app',
            protocolType: 'consumer',
            members: [
              {
                memberId: 'm',
                memberMetadata: subscriptionBytes({ topics: ['orders-canary'], userData: null }, 0),
                memberAssignment: assignmentBytes(
                  { assignedPartitions: [{ topic: 'orders-canary', partitions: [0] }], userData: null },
                  0,
                ),
              },
            ],
          },
        ],
      },
      req,
    )
    sendResponse(filter, res, ctx)
    const g = res.body.groups[0]!
    expect(g.groupId).toBe('app')
    expect(subscriptionTopics(g.members[0]!.memberMetadata)?.topics).toEqual(['orders'])
    expect(assignmentTopics(g.members[0]!.memberAssignment)).toEqual([{ topic: 'orders', partitions: [0] }])
  })

  it('FindCoordinator finds the mapped group (v4 keys, and v3 key) and answers with the key asked', async () => {
    const { filter, ctx } = await connect('orders-v2')
    const req = request(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['app'] })
    sendRequest(filter, req, ctx)
    expect(req.body.coordinatorKeys).toEqual(['canary-app'])
    const res = response(ApiKey.FindCoordinator, 4, { coordinators: [{ key: 'canary-app', nodeId: 1 }] }, req)
    sendResponse(filter, res, ctx)
    expect(res.body.coordinators![0]!.key).toBe('app')
    const old = request(ApiKey.FindCoordinator, 3, { keyType: 0, key: 'app' })
    filter.onRequest!(old, ctx)
    expect(old.body.key).toBe('canary-app')
    // Transactional ids are not mapped by this rule: their key stays.
    const txn = request(ApiKey.FindCoordinator, 4, { keyType: 1, coordinatorKeys: ['tx'] })
    filter.onRequest!(txn, ctx)
    expect(txn.body.coordinatorKeys).toEqual(['tx'])
  })

  it('error messages say the client name', async () => {
    const { filter, ctx } = await connect('orders-v2')
    const req = request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'orders', numPartitions: 1, replicationFactor: 1 }],
    })
    sendRequest(filter, req, ctx)
    expect(req.body.topics[0]!.name).toBe('orders-canary')
    const res = response(
      ApiKey.CreateTopics,
      7,
      { topics: [{ name: 'orders-canary', errorCode: 36, errorMessage: "Topic 'orders-canary' already exists." }] },
      req,
    )
    sendResponse(filter, res, ctx)
    expect(res.body.topics[0]).toMatchObject({ name: 'orders', errorMessage: "Topic 'orders' already exists." })
  })

  it('OffsetFetch of a whole group: offsets of orders-canary under orders, the real orders left out', async () => {
    const { filter, ctx } = await connect('orders-v2')
    const req = request(ApiKey.OffsetFetch, 8, { groups: [{ groupId: 'app', topics: null }] })
    sendRequest(filter, req, ctx)
    expect(req.body.groups![0]!.groupId).toBe('canary-app')
    const res = response(
      ApiKey.OffsetFetch,
      8,
      {
        groups: [
          {
            groupId: 'canary-app',
            topics: [
              { name: 'orders-canary', partitions: [{ partitionIndex: 0, committedOffset: 5n }] },
              { name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 9n }] },
            ],
          },
        ],
      },
      req,
    )
    sendResponse(filter, res, ctx)
    expect(res.body.groups![0]!.groupId).toBe('app')
    expect(res.body.groups![0]!.topics.map((t) => [t.name, t.partitions[0]!.committedOffset])).toEqual([['orders', 5n]])
  })

  it('KIP-848 regex subscription: matched against the client names, sent as real names', async () => {
    const { filter, ctx } = await connect('orders-v2')
    ctx.upstream.answerAlways(ApiKey.Metadata, {
      throttleTimeMs: 0,
      brokers: [],
      clusterId: null,
      controllerId: 1,
      topics: ['orders', 'orders-canary', 'ordinary', 'payments'].map((name) => ({
        errorCode: 0,
        name,
        topicId: ORDERS_ID,
        isInternal: false,
        partitions: [],
        topicAuthorizedOperations: 0,
      })),
    } as MetadataResponse)
    const req = request(ApiKey.ConsumerGroupHeartbeat, 1, {
      groupId: 'app',
      memberEpoch: 0,
      subscribedTopicNames: null,
      subscribedTopicRegex: 'ord.*',
    })
    const verdict = await sendRequest(filter, req, ctx)
    expect(verdict?.kind).toBe('replace')
    expect(req.body).toMatchObject({
      groupId: 'canary-app',
      subscribedTopicRegex: null,
      subscribedTopicNames: ['orders-canary', 'ordinary'],
    })
    // A later heartbeat with nothing new sends nothing new.
    const next = request(ApiKey.ConsumerGroupHeartbeat, 1, {
      groupId: 'app',
      memberEpoch: 3,
      subscribedTopicNames: null,
      subscribedTopicRegex: null,
    })
    await filter.onRequest!(next, ctx)
    expect(next.body.subscribedTopicNames).toBeNull()
    // A regex the sidecar cannot read is refused as the broker would refuse it.
    const bad = request(ApiKey.ConsumerGroupHeartbeat, 1, {
      groupId: 'app',
      memberEpoch: 3,
      subscribedTopicNames: null,
      subscribedTopicRegex: '(',
    })
    expect(await filter.onRequest!(bad, ctx)).toMatchObject({ kind: 'error', errorCode: 128 })
  })

  it('KIP-848 regex: when the topic list cannot be read, the heartbeat gets a retriable error, never the raw regex', async () => {
    const { filter, ctx } = await connect('orders-v2')
    const req = request(ApiKey.ConsumerGroupHeartbeat, 1, {
      groupId: 'app',
      memberEpoch: 0,
      subscribedTopicNames: null,
      subscribedTopicRegex: 'ord.*',
    })
    expect(await filter.onRequest!(req, ctx)).toMatchObject({ kind: 'error', errorCode: 15 })
  })

  it('KIP-848 subscribed names map; assignments by topic id need nothing', async () => {
    const { filter, ctx } = await connect('orders-v2')
    const req = request(ApiKey.ConsumerGroupHeartbeat, 1, {
      groupId: 'app',
      memberEpoch: 0,
      subscribedTopicNames: ['orders'],
      subscribedTopicRegex: null,
    })
    await sendRequest(filter, req, ctx)
    expect(req.body.subscribedTopicNames).toEqual(['orders-canary'])
    expect(filter.wantsResponse!(ApiKey.ConsumerGroupHeartbeat, 1)).toBe(false)
  })

  it('DescribeConfigs of a topic: the canary topic under the client name', async () => {
    const { filter, ctx } = await connect('orders-v2')
    const req = request(ApiKey.DescribeConfigs, 4, {
      resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: null }],
    })
    sendRequest(filter, req, ctx)
    expect(req.body.resources[0]!.resourceName).toBe('orders-canary')
    const res = response(
      ApiKey.DescribeConfigs,
      4,
      { results: [{ resourceType: 2, resourceName: 'orders-canary' }] },
      req,
    )
    sendResponse(filter, res, ctx)
    expect(res.body.results[0]!.resourceName).toBe('orders')
  })

  it('a principal selects too, and transactional ids map when the rule says so (Produce v13 then decoded)', async () => {
    const rule = {
      clients: { principals: ['shop/orders'] },
      topics: RULE.topics,
      transactionalIds: [{ prefix: '', to: 'canary-' }],
    }
    const { filter, ctx } = await connect('any-id', [rule], { principal: 'shop/orders' })
    expect(filter.wantsRequest!(ApiKey.Produce, 13)).toBe(true)
    const req = request(ApiKey.Produce, 13, {
      transactionalId: 'tx-1',
      acks: -1,
      topicData: [{ topicId: ORDERS_CANARY_ID, partitionData: [{ index: 0 }] }],
    })
    expect(filter.onRequest!(req, ctx)).toMatchObject({ kind: 'replace' })
    expect(req.body.transactionalId).toBe('canary-tx-1')
    const init = request(ApiKey.InitProducerId, 5, { transactionalId: 'tx-1' })
    filter.onRequest!(init, ctx)
    expect(init.body.transactionalId).toBe('canary-tx-1')
  })
})
