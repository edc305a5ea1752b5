import { describe, expect, it } from 'vitest'
import { ApiKey } from '../../../codec/messages/generated/apis.js'
import { encodeEndTxnMarkerBatch, encodeRecordBatch, summarizeRecords } from '../../../codec/records/index.js'
import { type AuditEntry, createStatsFilter, type StatsSink } from '../../../filters/stats/index.js'
import { fetchedRecords, producedFigures } from '../../../filters/stats/records.js'
import type { DecodedRequest, DecodedResponse, Filter } from '../../../src/pipeline/filter-api.js'
import { fakeContext } from '../../support/filter-testing.js'

/** A sink that records every call. */
function recordingSink() {
  const calls: [string, ...unknown[]][] = []
  const ids = new Map<string, string>()
  const sink: StatsSink = {
    topicIdSeen: (id, name) => ids.set(id, name),
    topicName: (id) => ids.get(id),
    produced: (_c, ...a) => calls.push(['produced', ...a]),
    fetched: (_c, ...a) => calls.push(['fetched', ...a]),
    logEndOffset: (...a) => calls.push(['logEnd', ...a]),
    committed: (c, ...a) => calls.push(['committed', c === undefined ? 'read' : 'commit', ...a]),
    throttled: (_c, ...a) => calls.push(['throttled', ...a]),
    kafkaError: (_c, ...a) => calls.push(['error', ...a]),
    memberSeen: (_c, ...a) => calls.push(['member', ...a]),
    memberLeft: (...a) => calls.push(['left', ...a]),
    failed: (err) => calls.push(['failed', String(err)]),
  }
  return { sink, calls }
}

const ctx = fakeContext({ connectionId: 7, clientId: 'app-1', peer: { address: '127.0.0.1', port: 5000 } })

const header = {} as DecodedRequest['header']
const req = (apiKey: number, apiVersion: number, body: unknown): DecodedRequest =>
  ({ apiKey, apiVersion, header, body }) as DecodedRequest
const res = (request: DecodedRequest, body: unknown): DecodedResponse =>
  ({ apiKey: request.apiKey, apiVersion: request.apiVersion, header: {}, body, request }) as DecodedResponse

const value = (n: number) => Buffer.alloc(n, 0x61)
const batch = (count: number, baseOffset = 0n, size = 100) =>
  encodeRecordBatch(
    Array.from({ length: count }, () => ({ value: value(size) })),
    { baseOffset },
  )

function run(f: Filter, r: DecodedRequest, body?: unknown): void {
  if (f.wantsRequest?.(r.apiKey, r.apiVersion)) f.onRequest!(r, ctx)
  if (body !== undefined && f.wantsResponse?.(r.apiKey, r.apiVersion)) f.onResponse!(res(r, body), ctx)
}

describe('record counting from batch headers', () => {
  it('counts produced records and the offsets they take', () => {
    const records = Buffer.concat([batch(3), batch(5)])
    expect(producedFigures(records)).toEqual({ records: 8, offsets: 8 })
  })

  it('skips control batches, partial tails and records below the fetch offset', () => {
    const data = Buffer.concat([
      batch(10, 100n),
      encodeEndTxnMarkerBatch({
        baseOffset: 110n,
        producerId: 1n,
        producerEpoch: 0,
        commit: true,
        coordinatorEpoch: 0,
      }),
      batch(4, 111n),
    ])
    expect(fetchedRecords(data, 100n)).toBe(14)
    expect(fetchedRecords(data, 104n)).toBe(10) // six of the first batch, then four
    expect(fetchedRecords(data, undefined)).toBe(14)
    const partial = Buffer.concat([batch(10, 100n), batch(4, 110n).subarray(0, 30)])
    expect(fetchedRecords(partial, 100n)).toBe(10)
    // The same figures from records summaries (what the runtime hands this filter, which asks for no more).
    expect(fetchedRecords(summarizeRecords(data), 104n)).toBe(10)
    expect(fetchedRecords(summarizeRecords(partial), 100n)).toBe(10)
    expect(producedFigures(summarizeRecords(Buffer.concat([batch(3), batch(5)])))).toEqual({ records: 8, offsets: 8 })
  })

  it('asks the runtime for records summaries, and counts the same from them as from bytes', () => {
    const { sink, calls } = recordingSink()
    const f = createStatsFilter({ sink, topics: true }).forConnection(ctx as never)
    expect(f.records).toBe('summary')
    const p0 = batch(3)
    const summarized = req(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [{ name: 'orders', partitionData: [{ index: 0, records: summarizeRecords(p0) }] }],
    })
    run(f, summarized, {
      throttleTimeMs: 0,
      responses: [
        { name: 'orders', partitionResponses: [{ index: 0, errorCode: 0, baseOffset: 40n, logAppendTimeMs: -1n }] },
      ],
    })
    expect(calls).toEqual([
      ['produced', 'orders', p0.length, 3],
      ['logEnd', 'orders', 0, 43],
    ])
  })
})

describe('stats filter', () => {
  it('reports produced bytes and records per topic, then the log end offset from the response', () => {
    const { sink, calls } = recordingSink()
    const f = createStatsFilter({ sink, topics: true }).forConnection(ctx as never)
    const p0 = batch(3)
    const p1 = Buffer.concat([batch(2), batch(2)])
    const produce = req(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [
        {
          name: 'orders',
          partitionData: [
            { index: 0, records: p0 },
            { index: 1, records: p1 },
          ],
        },
      ],
    })
    run(f, produce, {
      throttleTimeMs: 12,
      responses: [
        {
          name: 'orders',
          partitionResponses: [
            { index: 0, errorCode: 0, baseOffset: 40n, logAppendTimeMs: -1n },
            { index: 1, errorCode: 6, baseOffset: -1n, logAppendTimeMs: -1n },
          ],
        },
      ],
    })
    expect(calls).toEqual([
      ['produced', 'orders', p0.length + p1.length, 7],
      ['throttled', ApiKey.Produce, 12],
      ['logEnd', 'orders', 0, 43],
      ['error', ApiKey.Produce, 6],
    ])
  })

  it('resolves topic ids from Metadata v10+ for Fetch v13+, counting records at or above the fetch offset', () => {
    const { sink, calls } = recordingSink()
    const f = createStatsFilter({ sink, topics: true }).forConnection(ctx as never)
    const id = 'q1w2e3r4t5y6u7i8o9p0aa'
    run(f, req(ApiKey.Metadata, 12, { topics: null }), {
      throttleTimeMs: 0,
      brokers: [],
      topics: [
        { errorCode: 0, name: 'orders', topicId: id, partitions: [] },
        { errorCode: 3, name: 'missing', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [] },
      ],
    })
    const data = batch(10, 100n)
    run(
      f,
      req(ApiKey.Fetch, 17, {
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        topics: [{ topicId: id, partitions: [{ partition: 2, fetchOffset: 105n, partitionMaxBytes: 1 << 20 }] }],
      }),
      {
        throttleTimeMs: 0,
        errorCode: 0,
        responses: [
          {
            topicId: id,
            partitions: [
              {
                partitionIndex: 2,
                errorCode: 0,
                highWatermark: 130n,
                lastStableOffset: 130n,
                abortedTransactions: null,
                records: data,
              },
            ],
          },
        ],
      },
    )
    expect(calls).toEqual([
      ['error', ApiKey.Metadata, 3],
      ['logEnd', 'orders', 2, 130],
      ['fetched', 'orders', data.length, 5],
    ])
  })

  it('tracks group membership and committed offsets (OffsetCommit on success, OffsetFetch read back)', () => {
    const { sink, calls } = recordingSink()
    const f = createStatsFilter({ sink, topics: true }).forConnection(ctx as never)
    run(
      f,
      req(ApiKey.JoinGroup, 5, {
        groupId: 'g',
        sessionTimeoutMs: 10_000,
        memberId: '',
        protocolType: 'consumer',
        protocols: [],
      }),
      {
        throttleTimeMs: 0,
        errorCode: 0,
        generationId: 1,
        protocolName: 'range',
        leader: 'm-1',
        memberId: 'm-1',
        members: [],
      },
    )
    run(f, req(ApiKey.Heartbeat, 3, { groupId: 'g', generationId: 1, memberId: 'm-1' }), {
      throttleTimeMs: 0,
      errorCode: 27,
    })
    run(
      f,
      req(ApiKey.OffsetCommit, 5, {
        groupId: 'g',
        generationIdOrMemberEpoch: 1,
        memberId: 'm-1',
        topics: [
          {
            name: 't',
            partitions: [
              { partitionIndex: 0, committedOffset: 15n, committedMetadata: null },
              { partitionIndex: 1, committedOffset: 9n, committedMetadata: null },
            ],
          },
        ],
      }),
      {
        throttleTimeMs: 0,
        topics: [
          {
            name: 't',
            partitions: [
              { partitionIndex: 0, errorCode: 0 },
              { partitionIndex: 1, errorCode: 22 },
            ],
          },
        ],
      },
    )
    run(f, req(ApiKey.OffsetFetch, 8, { groups: [{ groupId: 'g', topics: null }] }), {
      throttleTimeMs: 0,
      groups: [
        {
          groupId: 'g',
          errorCode: 0,
          topics: [
            {
              name: 't',
              partitions: [
                { partitionIndex: 1, committedOffset: 7n, committedLeaderEpoch: -1, metadata: null, errorCode: 0 },
              ],
            },
          ],
        },
      ],
    })
    run(f, req(ApiKey.LeaveGroup, 4, { groupId: 'g', members: [{ memberId: 'm-1', groupInstanceId: null }] }), {
      throttleTimeMs: 0,
      errorCode: 0,
      members: [],
    })
    expect(calls).toEqual([
      ['member', 'g', 'm-1', 10_000],
      ['member', 'g', 'm-1', undefined],
      ['error', ApiKey.Heartbeat, 27],
      ['committed', 'commit', 'g', 't', 0, 15],
      ['error', ApiKey.OffsetCommit, 22],
      ['committed', 'read', 'g', 't', 1, 7],
      ['left', 'g', 'm-1'],
    ])
  })

  it('takes LATEST ListOffsets answers as log end offsets and follows KIP-848 heartbeats', () => {
    const { sink, calls } = recordingSink()
    const f = createStatsFilter({ sink, topics: true }).forConnection(ctx as never)
    run(
      f,
      req(ApiKey.ListOffsets, 7, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [
          {
            name: 't',
            partitions: [
              { partitionIndex: 0, timestamp: -1n },
              { partitionIndex: 1, timestamp: -2n },
            ],
          },
        ],
      }),
      {
        throttleTimeMs: 0,
        topics: [
          {
            name: 't',
            partitions: [
              { partitionIndex: 0, errorCode: 0, timestamp: -1n, offset: 77n },
              { partitionIndex: 1, errorCode: 0, timestamp: -1n, offset: 3n },
            ],
          },
        ],
      },
    )
    const heartbeat = (memberEpoch: number) =>
      req(ApiKey.ConsumerGroupHeartbeat, 0, {
        groupId: 'g2',
        memberId: 'm-9',
        memberEpoch,
        instanceId: null,
        rackId: null,
        rebalanceTimeoutMs: -1,
        subscribedTopicNames: null,
        serverAssignor: null,
        topicPartitions: null,
      })
    run(f, heartbeat(0), {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      memberId: 'm-9',
      memberEpoch: 1,
      heartbeatIntervalMs: 5000,
      assignment: null,
    })
    run(f, heartbeat(-1), {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      memberId: 'm-9',
      memberEpoch: -1,
      heartbeatIntervalMs: 5000,
      assignment: null,
    })
    expect(calls).toEqual([
      ['logEnd', 't', 0, 77],
      ['member', 'g2', 'm-9', 45_000],
      ['left', 'g2', 'm-9'],
    ])
  })

  it('writes audit lines for produce, fetches that returned data, and admin requests', () => {
    const { sink } = recordingSink()
    const lines: AuditEntry[] = []
    const f = createStatsFilter({ sink, topics: false, audit: { write: (e) => lines.push(e) } }).forConnection(
      ctx as never,
    )
    // With topics off, only what the audit needs is decoded.
    expect(f.wantsRequest?.(ApiKey.JoinGroup, 5)).toBe(false)
    expect(f.wantsResponse?.(ApiKey.Metadata, 12)).toBe(false)
    const records = batch(4, 0n, 10)
    run(
      f,
      req(ApiKey.Produce, 7, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 1000,
        topicData: [{ name: 'orders', partitionData: [{ index: 0, records }] }],
      }),
    )
    const fetch = req(ApiKey.Fetch, 11, {
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
    })
    const fetchResponse = (data: Buffer | null) => ({
      throttleTimeMs: 0,
      errorCode: 0,
      responses: [
        {
          topic: 'orders',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 4n,
              lastStableOffset: 4n,
              abortedTransactions: null,
              records: data,
            },
          ],
        },
      ],
    })
    run(f, fetch, fetchResponse(Buffer.alloc(0)))
    run(f, fetch, fetchResponse(records))
    run(
      f,
      req(ApiKey.CreateTopics, 5, {
        topics: [{ name: 'new', numPartitions: 6, replicationFactor: 3, assignments: [], configs: [] }],
        timeoutMs: 1000,
        validateOnly: false,
      }),
    )
    run(
      f,
      req(ApiKey.IncrementalAlterConfigs, 1, {
        resources: [{ resourceType: 2, resourceName: 'orders', configs: [] }],
        validateOnly: false,
      }),
    )
    const base = { connectionId: 7, clientId: 'app-1', principal: null, peer: '127.0.0.1:5000' }
    expect(lines).toEqual([
      {
        ...base,
        api: 'Produce',
        apiVersion: 7,
        acks: 1,
        topics: [{ topic: 'orders', partitions: 1, bytes: records.length, records: 4 }],
      },
      {
        ...base,
        api: 'Fetch',
        apiVersion: 11,
        topics: [{ topic: 'orders', partitions: 1, bytes: records.length, records: 4 }],
      },
      { ...base, api: 'CreateTopics', apiVersion: 5, topics: [{ topic: 'new', partitions: 6 }], validateOnly: false },
      {
        ...base,
        api: 'IncrementalAlterConfigs',
        apiVersion: 1,
        resources: [{ type: 'topic', name: 'orders' }],
        validateOnly: false,
      },
    ])
  })

  it('never fails a message: a broken body is reported to the sink and forwarded', () => {
    const { sink, calls } = recordingSink()
    const f = createStatsFilter({ sink, topics: true }).forConnection(ctx as never)
    expect(f.onRequest!(req(ApiKey.Produce, 9, { topicData: null }), ctx)).toBeUndefined()
    expect(calls[0]![0]).toBe('failed')
  })
})
