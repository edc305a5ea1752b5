import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../codec/messages/error-codes.js'
import { errorResponse, topicPartitionLayout } from '../../../codec/messages/error-response.js'
import { decodeResponse, encodeRequest, encodeResponse } from '../../../codec/messages/frames.js'
import { API_DEFINITIONS, ApiKey } from '../../../codec/messages/generated/apis.js'
import type { ProduceResponse } from '../../../codec/messages/generated/produce-response.js'
import { defaultRequest, defaultResponse } from '../../../codec/messages/message-defaults.js'
import {
  canSplitByPartition,
  PARTITION_SPLIT_APIS,
  type PartitionError,
  requestPartitions,
  splitByPartition,
} from '../../../codec/messages/partition-split.js'
import { structArbitrary } from './arbitrary-message.js'

const RUNS = Number(process.env.KSC_PROPERTY_RUNS ?? 25)
type Body = Record<string, unknown>

function produceRequest(version: number) {
  return defaultRequest(ApiKey.Produce, version, {
    acks: -1,
    topicData: [
      { name: 'a', partitionData: [{ index: 0 }, { index: 1 }, { index: 2 }] },
      { name: 'b', partitionData: [{ index: 0 }] },
      { name: 'c', partitionData: [{ index: 5 }, { index: 6 }] },
    ],
  })
}

/** What a broker answers for the partitions it was sent: offsets, in its own order (reversed here). */
function brokerAnswer(version: number, forward: ReturnType<typeof produceRequest>): ProduceResponse {
  const res = errorResponse(ApiKey.Produce, version, forward, ErrorCode.NONE)
  let offset = 100n
  for (const t of res.responses) for (const p of t.partitionResponses) p.baseOffset = offset++
  res.responses.reverse()
  for (const t of res.responses) t.partitionResponses.reverse()
  res.throttleTimeMs = 250
  return res
}

const order = (res: ProduceResponse) => res.responses.map((t) => [t.name, t.partitionResponses.map((p) => p.index)])

describe('splitByPartition, Produce', () => {
  it('forwards the partitions that pass and merges the answer in the client order, local errors put back', () => {
    const rejectA1: PartitionError = {
      errorCode: ErrorCode.INVALID_RECORD,
      message: 'record 3 is not valid JSON',
      recordErrors: [{ batchIndex: 3, message: 'not valid JSON' }],
    }
    const split = splitByPartition(ApiKey.Produce, 9, produceRequest(9), (topic, partition) => {
      if (topic === 'a' && partition === 1) return rejectA1
      if (topic === 'b') return { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED }
      return undefined
    })
    expect(split.rejected.map((r) => [r.topic, r.partition, r.error.errorCode])).toEqual([
      ['a', 1, 87],
      ['b', 0, 29],
    ])
    expect(split.forward!.topicData.map((t) => [t.name, t.partitionData.map((p) => p.index)])).toEqual([
      ['a', [0, 2]],
      ['c', [5, 6]],
    ])
    expect(split.forward!.acks).toBe(-1)
    encodeRequest({ requestApiKey: 0, requestApiVersion: 9, correlationId: 1, clientId: 'x' }, split.forward)

    const merged = split.merge(brokerAnswer(9, split.forward!))
    expect(order(merged)).toEqual([
      ['a', [0, 1, 2]],
      ['b', [0]],
      ['c', [5, 6]],
    ])
    expect(merged.throttleTimeMs).toBe(250)
    const [a, b, c] = merged.responses
    expect(a!.partitionResponses.map((p) => [p.errorCode, p.baseOffset])).toEqual([
      [0, 100n],
      [87, -1n],
      [0, 101n],
    ])
    expect(a!.partitionResponses[1]).toMatchObject({
      errorMessage: 'record 3 is not valid JSON',
      recordErrors: [{ batchIndex: 3, batchIndexErrorMessage: 'not valid JSON' }],
      logAppendTimeMs: -1n,
    })
    expect(b!.partitionResponses[0]).toMatchObject({ errorCode: 29, errorMessage: null, recordErrors: [] })
    expect(c!.partitionResponses.map((p) => p.baseOffset)).toEqual([102n, 103n])
    const frame = encodeResponse(ApiKey.Produce, 9, { correlationId: 1 }, merged)
    expect(decodeResponse(frame, ApiKey.Produce, 9, 4).body).toEqual(merged)
  })

  it('answers locally when every partition is rejected: the same as the whole-request error response', () => {
    const request = produceRequest(7)
    const split = splitByPartition(ApiKey.Produce, 7, request, () => ({
      errorCode: ErrorCode.INVALID_RECORD,
      message: 'x',
    }))
    expect(split.forward).toBeUndefined()
    expect(split.rejected).toHaveLength(6)
    const merged = split.merge(undefined)
    expect(merged).toEqual(errorResponse(ApiKey.Produce, 7, request, ErrorCode.INVALID_RECORD, 'x'))
    expect(() => encodeResponse(ApiKey.Produce, 7, { correlationId: 1 }, merged)).not.toThrow()
  })

  it('passes the request and the answer through untouched when nothing is rejected', () => {
    const request = produceRequest(9)
    const split = splitByPartition(ApiKey.Produce, 9, request, () => undefined)
    expect(split.forward).toBe(request)
    expect(split.rejected).toEqual([])
    const answer = brokerAnswer(9, request)
    expect(split.merge(answer)).toBe(answer)
    expect(() => split.merge(undefined)).toThrow(/needs the broker response/)
  })

  it('decides and merges by topic id where the version carries ids (v13)', () => {
    const A = 'AAAAAAAAAAAAAAAAAAAAAQ'
    const B = 'AAAAAAAAAAAAAAAAAAAAAg'
    const request = defaultRequest(ApiKey.Produce, 13, {
      acks: 1,
      topicData: [
        { topicId: A, partitionData: [{ index: 0 }, { index: 1 }] },
        { topicId: B, partitionData: [{ index: 0 }] },
      ],
    })
    const seen: string[] = []
    const split = splitByPartition(ApiKey.Produce, 13, request, (topic, partition) => {
      seen.push(`${topic}/${partition}`)
      return topic === A && partition === 1 ? { errorCode: ErrorCode.INVALID_RECORD, message: 'bad' } : undefined
    })
    expect(seen).toEqual([`${A}/0`, `${A}/1`, `${B}/0`])
    expect(requestPartitions(ApiKey.Produce, 13, request)).toEqual([
      { topic: A, partition: 0 },
      { topic: A, partition: 1 },
      { topic: B, partition: 0 },
    ])
    const answer = errorResponse(ApiKey.Produce, 13, split.forward!, ErrorCode.NONE)
    answer.responses.reverse()
    const merged = split.merge(answer)
    expect(merged.responses.map((t) => [t.topicId, t.partitionResponses.map((p) => [p.index, p.errorCode])])).toEqual([
      [
        A,
        [
          [0, 0],
          [1, 87],
        ],
      ],
      [B, [[0, 0]]],
    ])
    expect(merged.responses[0]!.partitionResponses[1]!.errorMessage).toBe('bad')
  })

  it('answers a partition the broker left out instead of losing it', () => {
    const split = splitByPartition(ApiKey.Produce, 9, produceRequest(9), (t) =>
      t === 'b' ? { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED } : undefined,
    )
    const answer = brokerAnswer(9, split.forward!)
    answer.responses = answer.responses.filter((t) => t.name !== 'c')
    const merged = split.merge(answer)
    expect(merged.responses[2]!.partitionResponses.map((p) => p.errorCode)).toEqual([-1, -1])
  })
})

describe('splitByPartition, every API and version it supports', () => {
  const cases: [string, number, number][] = []
  for (const apiKey of PARTITION_SPLIT_APIS) {
    const api = API_DEFINITIONS[apiKey]!
    for (let v = api.request.minVersion; v <= api.request.maxVersion; v++) {
      if (canSplitByPartition(apiKey, v)) cases.push([`${api.name} v${v}`, apiKey, v])
    }
  }

  it('covers the APIs that address partitions (AddPartitionsToTxn up to v3)', () => {
    const names = new Set(cases.map(([n]) => n.split(' ')[0]))
    expect([...names].sort()).toEqual([
      'AddPartitionsToTxn',
      'DeleteRecords',
      'ListOffsets',
      'OffsetCommit',
      'OffsetForLeaderEpoch',
      'Produce',
      'TxnOffsetCommit',
    ])
    expect(canSplitByPartition(ApiKey.AddPartitionsToTxn, 3)).toBe(true)
    expect(canSplitByPartition(ApiKey.AddPartitionsToTxn, 4)).toBe(false)
    expect(canSplitByPartition(ApiKey.Fetch, 12)).toBe(false)
    expect(() => splitByPartition(ApiKey.Fetch, 12, defaultRequest(ApiKey.Fetch, 12), () => undefined)).toThrow(
      /cannot be answered partition by partition/,
    )
  })

  it.each(cases)('%s: merged answers keep the client order, carry each decision, and encode', (_n, apiKey, version) => {
    const api = API_DEFINITIONS[apiKey]!
    const layout = topicPartitionLayout(apiKey, version)!
    fc.assert(
      fc.property(
        structArbitrary(api.request.name, version),
        fc.func(
          fc.option(fc.constantFrom(ErrorCode.INVALID_RECORD, ErrorCode.TOPIC_AUTHORIZATION_FAILED), {
            nil: undefined,
          }),
        ),
        (request, pick) => {
          const decide = (topic: string, partition: number) => {
            const code = pick(topic, partition)
            return code === undefined ? undefined : { errorCode: code, message: `no ${partition}` }
          }
          const split = splitByPartition(apiKey as ApiKey, version, request as never, decide)
          const asked = requestPartitions(apiKey as ApiKey, version, request as never)
          expect(split.rejected.map((r) => [r.topic, r.partition])).toEqual(
            asked.filter((p) => decide(p.topic, p.partition) !== undefined).map((p) => [p.topic, p.partition]),
          )
          let broker: Body | undefined
          if (split.forward !== undefined) {
            const forwarded = requestPartitions(apiKey as ApiKey, version, split.forward)
            expect(forwarded).toEqual(asked.filter((p) => decide(p.topic, p.partition) === undefined))
            // A broker that accepts everything, answering in its own order.
            broker = errorResponse(apiKey as ApiKey, version, split.forward, ErrorCode.NONE) as unknown as Body
            ;(broker[layout.responseTopics] as Body[]).reverse()
          }
          const merged = split.merge(broker as never) as unknown as Body
          if (split.rejected.length === 0) {
            // Nothing to put back: the broker's answer passes as it is, in the broker's order.
            expect(merged).toBe(broker)
            return
          }
          const answered = (merged[layout.responseTopics] as Body[]).flatMap((t) =>
            (t[layout.responsePartitions] as Body[]).map((p) => ({
              topic: t[layout.topicKey[0]],
              partition: p[layout.responsePartitionKey],
              code: p.errorCode ?? p.partitionErrorCode,
            })),
          )
          expect(answered).toEqual(
            asked.map((p) => ({ ...p, code: decide(p.topic, p.partition)?.errorCode ?? ErrorCode.NONE })),
          )
          const frame = encodeResponse(apiKey, version, { correlationId: 1 }, merged)
          expect(decodeResponse(frame, apiKey, version, 4).body).toEqual(merged)
        },
      ),
      { numRuns: RUNS },
    )
  })

  it('builds the all-rejected answer on the response defaults (throttle 0)', () => {
    const request = defaultRequest(ApiKey.ListOffsets, 9, {
      topics: [{ name: 't', partitions: [{ partitionIndex: 4 }] }],
    })
    const merged = splitByPartition(ApiKey.ListOffsets, 9, request, () => ({ errorCode: 29 })).merge(undefined)
    expect(merged).toEqual({
      ...defaultResponse(ApiKey.ListOffsets, 9),
      topics: [
        { name: 't', partitions: [{ partitionIndex: 4, errorCode: 29, timestamp: -1n, offset: -1n, leaderEpoch: -1 }] },
      ],
    })
  })
})
