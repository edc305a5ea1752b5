import { afterEach, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../codec/messages/error-codes.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { DEFAULTS } from '../../src/config/schema.js'
import type { ObservedConnection } from '../../src/pipeline/connection-observer.js'
import type { FilterContext } from '../../src/pipeline/filter-api.js'
import { EXPECTED_ERRORS, isExpectedError } from '../../src/stats/expected-errors.js'
import { createMetricsRegistry } from '../../src/stats/prometheus.js'
import { Statistics } from '../../src/stats/statistics.js'
import { renderTop } from '../../src/stats/top-table.js'
import { metricValue } from '../support/prometheus-text.js'
import { topErrors } from '../support/top-text.js'

describe('isExpectedError', () => {
  it.each([
    ['the first JoinGroup answer (KIP-394)', ApiKey.JoinGroup, ErrorCode.MEMBER_ID_REQUIRED],
    ['a Heartbeat during a rebalance', ApiKey.Heartbeat, ErrorCode.REBALANCE_IN_PROGRESS],
    ['a SyncGroup overtaken by a rebalance', ApiKey.SyncGroup, ErrorCode.REBALANCE_IN_PROGRESS],
    ['an OffsetCommit during a rebalance', ApiKey.OffsetCommit, ErrorCode.REBALANCE_IN_PROGRESS],
    ['a moved coordinator', ApiKey.Heartbeat, ErrorCode.NOT_COORDINATOR],
    ['a loading coordinator', ApiKey.OffsetFetch, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS],
    [
      'a KIP-848 heartbeat to a coordinator not yet there',
      ApiKey.ConsumerGroupHeartbeat,
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ],
    ['a topic being auto-created', ApiKey.Metadata, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ['a topic without its leader yet', ApiKey.Metadata, ErrorCode.LEADER_NOT_AVAILABLE],
    ['a fetch after the leader moved (KIP-951)', ApiKey.Fetch, ErrorCode.NOT_LEADER_OR_FOLLOWER],
    ['a stale leader epoch (KIP-320)', ApiKey.Fetch, ErrorCode.FENCED_LEADER_EPOCH],
    ['a new leader without a high watermark (KIP-207)', ApiKey.ListOffsets, ErrorCode.OFFSET_NOT_AVAILABLE],
    ['a produce after the leader moved (KIP-951)', ApiKey.Produce, ErrorCode.NOT_LEADER_OR_FOLLOWER],
    ['offsets of an open transaction (KIP-447)', ApiKey.OffsetFetch, ErrorCode.UNSTABLE_OFFSET_COMMIT],
  ])('expected: %s', (_name, api, code) => {
    expect(isExpectedError(api, code)).toBe(true)
  })

  it.each([
    ['MEMBER_ID_REQUIRED outside JoinGroup', ApiKey.SyncGroup, ErrorCode.MEMBER_ID_REQUIRED],
    ['a member the group forgot', ApiKey.Heartbeat, ErrorCode.UNKNOWN_MEMBER_ID],
    ['a producing to a topic that does not exist', ApiKey.Produce, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ['a rejected record', ApiKey.Produce, ErrorCode.INVALID_RECORD],
    ['an unauthorized topic', ApiKey.Metadata, ErrorCode.TOPIC_AUTHORIZATION_FAILED],
    ['an offset out of range', ApiKey.Fetch, ErrorCode.OFFSET_OUT_OF_RANGE],
    ['a failing disk', ApiKey.Fetch, ErrorCode.KAFKA_STORAGE_ERROR],
    ['an unknown server error', ApiKey.Produce, ErrorCode.UNKNOWN_SERVER_ERROR],
    ['a rebalance answer to LeaveGroup', ApiKey.LeaveGroup, ErrorCode.REBALANCE_IN_PROGRESS],
  ])('a client error: %s', (_name, api, code) => {
    expect(isExpectedError(api, code)).toBe(false)
  })

  it('lists each (API, code) pair once', () => {
    const pairs = EXPECTED_ERRORS.flatMap((e) => e.codes.map((code) => `${e.api}/${code}`))
    expect(new Set(pairs).size).toBe(pairs.length)
  })
})

describe('statistics count expected errors apart', () => {
  const open: Statistics[] = []
  afterEach(() => {
    for (const s of open.splice(0)) s.close()
  })

  it('in /stats, /metrics and top: the error column and the error metric count client errors only', async () => {
    const s = new Statistics(DEFAULTS.stats)
    open.push(s)
    const conn = {
      connectionId: 1,
      peer: { address: '127.0.0.1', port: 40001 },
      listener: { kind: 'bootstrap', port: 9092 },
      principal: undefined,
      tls: false,
      clientId: 'rdkafka',
      clientSoftware: undefined,
      openedAt: Date.now(),
    } as unknown as ObservedConnection & FilterContext
    s.opened(conn)
    s.identified(conn)
    s.kafkaError(conn, ApiKey.JoinGroup, ErrorCode.MEMBER_ID_REQUIRED)
    s.kafkaError(conn, ApiKey.Metadata, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    s.kafkaError(conn, ApiKey.Metadata, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    s.kafkaError(conn, ApiKey.Produce, ErrorCode.INVALID_RECORD)

    const snapshot = s.snapshot()
    const client = snapshot.clients.find((c) => c.clientId === 'rdkafka')!
    expect(client.errors).toBe(1)
    expect(client.expectedErrors).toBe(3)
    expect(client.apis.JoinGroup!.errors).toEqual({})
    expect(client.apis.JoinGroup!.expectedErrors).toEqual({ MEMBER_ID_REQUIRED: 1 })
    expect(client.apis.Metadata!.expectedErrors).toEqual({ UNKNOWN_TOPIC_OR_PARTITION: 2 })
    expect(client.apis.Produce!.errors).toEqual({ INVALID_RECORD: 1 })

    const text = await createMetricsRegistry(s).metrics()
    const labels = { client_id: 'rdkafka', api: 'JoinGroup', error: 'MEMBER_ID_REQUIRED' }
    expect(metricValue(text, 'kafka_sidecar_response_errors_total', labels)).toBeUndefined()
    expect(metricValue(text, 'kafka_sidecar_response_expected_errors_total', labels)).toBe(1)
    expect(metricValue(text, 'kafka_sidecar_response_errors_total', { api: 'Produce', error: 'INVALID_RECORD' })).toBe(
      1,
    )

    expect(
      topErrors(renderTop(snapshot, undefined, { sort: 'bytes', width: 200, height: 20, source: 'test' }), 'rdkafka'),
    ).toBe('1')
  })
})
