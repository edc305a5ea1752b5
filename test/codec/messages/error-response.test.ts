import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ErrorCode, KAFKA_ERRORS } from '../../../codec/messages/error-codes.js'
import { errorResponse } from '../../../codec/messages/error-response.js'
import { decodeResponse, encodeResponse } from '../../../codec/messages/frames.js'
import { ApiKey } from '../../../codec/messages/generated/apis.js'
import { STRUCT_SCHEMAS } from '../../../codec/messages/generated/schema.js'
import { defaultRequest } from '../../../codec/messages/message-defaults.js'
import { type FieldSchema, inRange, type TypeSchema } from '../../../codec/messages/schema-types.js'
import { structArbitrary } from './arbitrary-message.js'
import { apiVersionCases } from './message-cases.js'

/**
 * For every API and version: the error response to a random request encodes at that version (a whole frame
 * through encodeResponse, read back unchanged), every error code field in it is the code, every error message
 * field the message, and every topic, partition, resource, group and member the request names inside its
 * lists appears in it. Kafka's own getErrorResponse is compared in java-interop.test.ts.
 */

const RUNS = Number(process.env.KSC_PROPERTY_RUNS ?? 25)

const isErrorCode = (f: FieldSchema) => f.type === 'int16' && /(^e|E)rrorCode$/.test(f.prop)
const isErrorMessage = (f: FieldSchema) => f.type === 'string' && /(^e|E)rrorMessage$/.test(f.prop)

/** Calls fn for every regular field of every struct in a decoded message, with the struct holding it. */
function walk(
  name: string,
  value: unknown,
  version: number,
  fn: (f: FieldSchema, holder: Record<string, unknown>) => void,
) {
  if (value === null || typeof value !== 'object') return
  const holder = value as Record<string, unknown>
  for (const f of STRUCT_SCHEMAS[name]!.fields) {
    if (!inRange(f.versions, version)) continue
    fn(f, holder)
    const inner = structIn(f.type)
    if (inner === undefined) continue
    const v = holder[f.prop]
    for (const x of Array.isArray(v) ? v : [v]) walk(inner, x, version, fn)
  }
}

function structIn(t: TypeSchema): string | undefined {
  if (typeof t === 'string') return undefined
  return 'struct' in t ? t.struct : structIn(t.array)
}

/**
 * What the request names inside its lists: topic names and ids, partition indexes, group and transactional ids,
 * resource names, member ids, coordinator keys; with the path they were found at.
 */
function requestKeys(
  name: string,
  value: unknown,
  version: number,
  path: string,
  inList: boolean,
  out: [string, unknown][],
) {
  if (value === null || typeof value !== 'object') return
  const holder = value as Record<string, unknown>
  for (const f of STRUCT_SCHEMAS[name]!.fields) {
    if (!inRange(f.versions, version)) continue
    const v = holder[f.prop]
    const p = `${path}${f.prop}`
    const keyLike =
      ['topicName', 'groupId', 'transactionalId'].includes(f.entityType ?? '') ||
      (f.type === 'uuid' && f.prop === 'topicId') ||
      (f.type === 'int32' && ['partitionIndex', 'partition', 'index', 'partitionId'].includes(f.prop)) ||
      (typeof f.type === 'object' && 'array' in f.type && f.type.array === 'int32' && /^partition/.test(f.prop)) ||
      ['resourceName', 'memberId', 'coordinatorKeys'].includes(f.prop)
    if (keyLike && (inList || (typeof f.type === 'object' && 'array' in f.type))) {
      for (const x of Array.isArray(v) ? v : [v]) if (x !== null && x !== undefined) out.push([p, x])
    }
    const inner = structIn(f.type)
    if (inner === undefined) continue
    const list = typeof f.type === 'object' && 'array' in f.type
    for (const x of Array.isArray(v) ? v : [v])
      requestKeys(inner, x, version, `${p}${list ? '[]' : ''}.`, inList || list, out)
  }
}

/**
 * Request lists a rejection does not answer item by item, by API: what the request says about the client's own
 * state or about things the response is not organised by.
 */
const UNANSWERED: Partial<Record<number, RegExp>> = {
  [ApiKey.Fetch]: /^forgottenTopicsData/, // topics leaving the fetch session
  [ApiKey.ShareFetch]: /^forgottenTopicsData/,
  [ApiKey.CreateTopics]: /^topics\[\]\.assignments/, // replica placement of a topic to create
  [ApiKey.DescribeLogDirs]: /^topics/, // answered per log dir, which the request does not name
  [ApiKey.ConsumerGroupHeartbeat]: /^(subscribedTopicNames|topicPartitions)/, // the member's own state
  [ApiKey.ShareGroupHeartbeat]: /^subscribedTopicNames/,
  [ApiKey.StreamsGroupHeartbeat]: /./,
  [ApiKey.StreamsGroupTopologyDescriptionUpdate]: /./,
  [ApiKey.SyncGroup]: /^assignments/, // the leader's plan for the other members
  [ApiKey.CreateAcls]: /^creations/, // results carry no key: one per creation, in order
  [ApiKey.OffsetFetch]: /^groups\[\]\.memberId/, // who asks, not what is asked about
}

function responseValues(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const x of value) responseValues(x, out)
  else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value))
    for (const x of Object.values(value)) responseValues(x, out)
  else out.add(`${typeof value}:${String(value)}`)
  return out
}

const codes = KAFKA_ERRORS.filter((e) => e.code !== 0).map((e) => e.code)
const cases = apiVersionCases().map((c) => [`${c.api.name} v${c.version}`, c] as const)

describe('errorResponse', () => {
  it.each(cases)('%s', (_name, { api, version }) => {
    fc.assert(
      fc.property(
        structArbitrary(api.request.name, version),
        fc.constantFrom(...codes),
        fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
        (request, code, message) => {
          const res = errorResponse(api.apiKey as ApiKey, version, request as never, code, message)
          const frame = encodeResponse(api.apiKey, version, { correlationId: 7 }, res)
          expect(decodeResponse(frame, api.apiKey, version, 4).body).toEqual(res)

          let errorFields = 0
          walk(api.response.name, res, version, (f, holder) => {
            if (isErrorCode(f)) {
              errorFields++
              expect(holder[f.prop], f.prop).toBe(code)
            }
            if (isErrorMessage(f))
              expect(holder[f.prop], f.prop).toBe(message ?? (inRange(f.nullable, version) ? null : ''))
            if (f.prop === 'throttleTimeMs') expect(holder[f.prop]).toBe(0)
          })

          const keys: [string, unknown][] = []
          requestKeys(api.request.name, request, version, '', false, keys)
          const answered = keys.filter(([path]) => !UNANSWERED[api.apiKey]?.test(path))
          const values = responseValues(res)
          for (const [path, key] of answered) {
            expect(values.has(`${typeof key}:${String(key)}`), `${path} = ${String(key)} is not in the response`).toBe(
              true,
            )
          }
          // A top-level error field is set where the version has one.
          const topLevel = STRUCT_SCHEMAS[api.response.name]!.fields.some(
            (f) => isErrorCode(f) && inRange(f.versions, version),
          )
          if (topLevel) expect(errorFields).toBeGreaterThan(0)
        },
      ),
      { numRuns: RUNS },
    )
  })
})

describe('errorResponse, by example', () => {
  it('answers every partition of a Produce request, with the message from v8', () => {
    const request = defaultRequest(ApiKey.Produce, 9, {
      acks: -1,
      topicData: [
        { name: 'a', partitionData: [{ index: 0 }, { index: 2 }] },
        { name: 'b', partitionData: [{ index: 1 }] },
      ],
    })
    const res = errorResponse(ApiKey.Produce, 9, request, ErrorCode.INVALID_RECORD, 'not valid JSON')
    expect(res.responses.map((t) => [t.name, t.partitionResponses.map((p) => p.index)])).toEqual([
      ['a', [0, 2]],
      ['b', [1]],
    ])
    expect(res.responses[0]!.partitionResponses[0]).toEqual({
      index: 0,
      errorCode: 87,
      baseOffset: -1n,
      logAppendTimeMs: -1n,
      logStartOffset: -1n,
      recordErrors: [],
      errorMessage: 'not valid JSON',
    })
    const v7 = errorResponse(ApiKey.Produce, 7, defaultRequest(ApiKey.Produce, 7, request), ErrorCode.INVALID_RECORD)
    expect(v7.responses[1]!.partitionResponses[0]).toEqual({
      index: 1,
      errorCode: 87,
      baseOffset: -1n,
      logAppendTimeMs: -1n,
      logStartOffset: -1n,
    })
  })

  it('answers Produce v13 by topic id', () => {
    const topicId = 'AAAAAAAAAAAAAAAAAAAAAQ'
    const request = defaultRequest(ApiKey.Produce, 13, { topicData: [{ topicId, partitionData: [{ index: 5 }] }] })
    const res = errorResponse(ApiKey.Produce, 13, request, ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    expect(res.responses).toEqual([
      {
        topicId,
        partitionResponses: [expect.objectContaining({ index: 5, errorCode: 29, errorMessage: null })],
      },
    ])
  })

  it('sets top-level and nested errors together, and mirrors plain lists of names', () => {
    const fetch = errorResponse(
      ApiKey.Fetch,
      12,
      defaultRequest(ApiKey.Fetch, 12, {
        sessionId: 42,
        topics: [{ topic: 't', partitions: [{ partition: 3 }] }],
        forgottenTopicsData: [{ topic: 'gone', partitions: [1] }],
      }),
      ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    )
    expect(fetch).toMatchObject({ errorCode: 29, sessionId: 42, throttleTimeMs: 0 })
    expect(fetch.responses).toEqual([
      {
        topic: 't',
        partitions: [
          expect.objectContaining({ partitionIndex: 3, errorCode: 29, highWatermark: -1n, records: Buffer.alloc(0) }),
        ],
      },
    ])
    const groups = errorResponse(
      ApiKey.DescribeGroups,
      5,
      defaultRequest(ApiKey.DescribeGroups, 5, { groups: ['g1', 'g2'] }),
      ErrorCode.GROUP_AUTHORIZATION_FAILED,
    )
    expect(groups.groups.map((g) => [g.groupId, g.errorCode])).toEqual([
      ['g1', 30],
      ['g2', 30],
    ])
  })

  it('answers resources by type and name (DescribeConfigs)', () => {
    const res = errorResponse(
      ApiKey.DescribeConfigs,
      4,
      defaultRequest(ApiKey.DescribeConfigs, 4, {
        resources: [
          { resourceType: 2, resourceName: 'orders' },
          { resourceType: 4, resourceName: '1' },
        ],
      }),
      ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      'no',
    )
    expect(res.results).toEqual([
      { errorCode: 31, errorMessage: 'no', resourceType: 2, resourceName: 'orders', configs: [] },
      { errorCode: 31, errorMessage: 'no', resourceType: 4, resourceName: '1', configs: [] },
    ])
  })

  it('answers Metadata for all topics with no topics (nothing was named) and the top-level error from v13', () => {
    const res = errorResponse(ApiKey.Metadata, 13, defaultRequest(ApiKey.Metadata, 13, { topics: null }), 29)
    expect(res.topics).toEqual([])
    expect(res.errorCode).toBe(29)
  })
})
