import { spawn } from 'node:child_process'
import { delimiter } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { javaCommand, resolveMavenJar, slf4jApiJar } from '../../../codec/generator/maven.js'
import { ErrorCode, kafkaError } from '../../../codec/messages/error-codes.js'
import { errorResponse } from '../../../codec/messages/error-response.js'
import { ApiKey, KAFKA_SPEC_VERSION } from '../../../codec/messages/generated/apis.js'
import type { ApiDefinition } from '../../../codec/messages/message-codec.js'
import { type DeepPartial, defaultRequest, defaultResponse } from '../../../codec/messages/message-defaults.js'
import { encodeRecordBatch } from '../../../codec/records/index.js'
import { apiVersionCases, decodeBody, encodeBody } from './message-cases.js'

/**
 * Against Kafka's own Java classes (kafka-clients of the release the codec is generated from, run by
 * java/ErrorResponseInterop.java):
 * - defaultRequest/defaultResponse write the same bytes as Java's default-constructed messages, every API
 *   and version;
 * - errorResponse answers like AbstractRequest.getErrorResponse for the APIs filters reject most, every
 *   version, except where this codec deliberately says more (DELIBERATE below).
 */

const JAVA_SOURCE = fileURLToPath(new URL('./java/ErrorResponseInterop.java', import.meta.url))

function runJava(queries: string[]): Promise<string[]> {
  const classpath = [resolveMavenJar('org.apache.kafka', 'kafka-clients', KAFKA_SPEC_VERSION), slf4jApiJar()].join(
    delimiter,
  )
  return new Promise((resolve, reject) => {
    const child = spawn(javaCommand(), ['-cp', classpath, JAVA_SOURCE], { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`java exited with ${code}: ${Buffer.concat(err).toString().slice(-2000)}`))
      else resolve(Buffer.concat(out).toString('utf8').split('\n').slice(0, queries.length))
    })
    child.stdin.end(`${queries.join('\n')}\n`)
  })
}

type Body = Record<string, unknown>

// ---------------------------------------------------------------- the requests

const BATCH = encodeRecordBatch([{ value: Buffer.from('v') }], { timestamp: 1_700_000_000_000n })
const TOPIC_A = 'AAAAAAAAAAAAAAAAAAAAAQ'
const TOPIC_B = 'AAAAAAAAAAAAAAAAAAAAAg'

/** A request naming two topics with three partitions in all (or groups, resources), for each version. */
const REQUESTS: Partial<Record<ApiKey, (v: number) => DeepPartial<Body>>> = {
  [ApiKey.Produce]: (v) => ({
    acks: -1,
    timeoutMs: 1000,
    topicData: [
      {
        ...(v >= 13 ? { topicId: TOPIC_A } : { name: 'orders' }),
        partitionData: [
          { index: 0, records: BATCH },
          { index: 2, records: BATCH },
        ],
      },
      { ...(v >= 13 ? { topicId: TOPIC_B } : { name: 'audit' }), partitionData: [{ index: 1, records: BATCH }] },
    ],
  }),
  [ApiKey.Fetch]: (v) => ({
    ...(v >= 7 ? { sessionId: 12 } : {}),
    topics: [
      { ...(v >= 13 ? { topicId: TOPIC_A } : { topic: 'orders' }), partitions: [{ partition: 0 }, { partition: 2 }] },
      { ...(v >= 13 ? { topicId: TOPIC_B } : { topic: 'audit' }), partitions: [{ partition: 1 }] },
    ],
  }),
  [ApiKey.ListOffsets]: () => ({
    topics: [
      { name: 'orders', partitions: [{ partitionIndex: 0, timestamp: -1n }, { partitionIndex: 2 }] },
      { name: 'audit', partitions: [{ partitionIndex: 1, timestamp: -2n }] },
    ],
  }),
  [ApiKey.Metadata]: (v) => ({
    topics: [{ name: 'orders' }, { name: 'audit', ...(v >= 10 ? { topicId: TOPIC_B } : {}) }],
  }),
  [ApiKey.OffsetCommit]: (v) => ({
    groupId: 'g',
    memberId: 'm',
    topics: [
      {
        ...(v >= 10 ? { topicId: TOPIC_A } : { name: 'orders' }),
        partitions: [{ partitionIndex: 0, committedOffset: 5n }, { partitionIndex: 2 }],
      },
      { ...(v >= 10 ? { topicId: TOPIC_B } : { name: 'audit' }), partitions: [{ partitionIndex: 1 }] },
    ],
  }),
  [ApiKey.OffsetFetch]: (v) =>
    v < 8
      ? {
          groupId: 'g',
          topics: [
            { name: 'orders', partitionIndexes: [0, 2] },
            { name: 'audit', partitionIndexes: [1] },
          ],
        }
      : {
          groups: [
            {
              groupId: 'g',
              topics: [{ ...(v >= 10 ? { topicId: TOPIC_A } : { name: 'orders' }), partitionIndexes: [0, 2] }],
            },
            {
              groupId: 'h',
              topics: [{ ...(v >= 10 ? { topicId: TOPIC_B } : { name: 'audit' }), partitionIndexes: [1] }],
            },
          ],
        },
  [ApiKey.CreateTopics]: () => ({
    topics: [
      { name: 'orders', numPartitions: 3, replicationFactor: 1 },
      {
        name: 'audit',
        numPartitions: -1,
        replicationFactor: -1,
        configs: [{ name: 'cleanup.policy', value: 'compact' }],
      },
    ],
    timeoutMs: 1000,
  }),
  [ApiKey.JoinGroup]: () => ({
    groupId: 'g',
    sessionTimeoutMs: 10_000,
    memberId: 'm-1',
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from([0, 1]) }],
  }),
  [ApiKey.DescribeConfigs]: () => ({
    resources: [
      { resourceType: 2, resourceName: 'orders', configurationKeys: null },
      { resourceType: 4, resourceName: '1', configurationKeys: ['log.dirs'] },
    ],
  }),
}

// ---------------------------------------------------------------- what differs on purpose

/**
 * Where this codec answers with more than Kafka's getErrorResponse, by API: Kafka answers only at the top level
 * (Fetch v13+, OffsetFetch v2+) while we also answer every topic and partition the client asked about, so a
 * client that reads the parts finds them. Each removes the extra from our answer after checking it is there.
 */
const DELIBERATE: Partial<Record<ApiKey, (ours: Body, version: number) => void>> = {
  [ApiKey.Fetch]: (ours, v) => {
    if (v < 13) return
    expect((ours.responses as Body[]).length).toBe(2)
    ours.responses = []
  },
  [ApiKey.OffsetFetch]: (ours, v) => {
    if (v >= 2 && v < 8) {
      expect((ours.topics as Body[]).length).toBe(2)
      ours.topics = []
    }
    if (v >= 8) {
      for (const g of ours.groups as Body[]) {
        expect((g.topics as Body[]).length).toBe(1)
        g.topics = []
      }
    }
  },
}

/** Kafka's DescribeConfigs answer always carries the error's default message (Errors.message()), not the given one. */
function kafkaMessage(apiKey: number, code: number, message: string | undefined): string | null {
  return apiKey === ApiKey.DescribeConfigs ? kafkaError(code)!.message : (message ?? null)
}

/** Kafka groups Produce answers in a hash map by topic and partition: compare them in a fixed order. */
function sortProduce(body: Body): void {
  const topics = body.responses as Body[]
  const key = (t: Body) => String(t.name ?? t.topicId)
  topics.sort((a, b) => key(a).localeCompare(key(b)))
  for (const t of topics) (t.partitionResponses as Body[]).sort((a, b) => (a.index as number) - (b.index as number))
}

// ---------------------------------------------------------------- queries

interface ErrorCase {
  api: ApiDefinition
  version: number
  code: number
  message: string | undefined
  request: Body
}

const errorCases: ErrorCase[] = []
for (const { api, version } of apiVersionCases()) {
  const build = REQUESTS[api.apiKey as ApiKey]
  if (!build) continue
  const request = defaultRequest(api.apiKey as ApiKey, version, build(version) as never) as unknown as Body
  const code = api.apiKey === ApiKey.Produce ? ErrorCode.INVALID_RECORD : ErrorCode.TOPIC_AUTHORIZATION_FAILED
  for (const message of [undefined, 'rejected by the sidecar'])
    errorCases.push({ api, version, code, message, request })
}
const defaultCases = apiVersionCases().flatMap(({ api, version }) =>
  (['request', 'response'] as const).map((side) => ({ api, version, side })),
)

const answers = new Map<string, string>()

beforeAll(async () => {
  const queries = [
    ...defaultCases.map((c) => `default ${c.side} ${c.api.apiKey} ${c.version}`),
    ...errorCases.map(
      (c) =>
        `error ${c.api.apiKey} ${c.version} ${c.code} ${c.message === undefined ? '-' : Buffer.from(c.message).toString('hex')} ${encodeBody(c.api.request, c.request, c.version).toString('hex')}`,
    ),
  ]
  const lines = await runJava(queries)
  for (const [i, q] of queries.entries()) answers.set(q.split(' ').slice(0, 5).join(' '), lines[i] ?? 'fail no answer')
}, 180_000)

describe('default messages, against Java default-constructed ones', () => {
  it.each(defaultCases.map((c) => [`${c.api.name} ${c.side} v${c.version}`, c] as const))('%s', (_n, c) => {
    const java = answers.get(`default ${c.side} ${c.api.apiKey} ${c.version}`)
    const ours =
      c.side === 'request'
        ? encodeBody(c.api.request, defaultRequest(c.api.apiKey as ApiKey, c.version), c.version)
        : encodeBody(c.api.response, defaultResponse(c.api.apiKey as ApiKey, c.version), c.version)
    expect(ours.toString('hex')).toBe(java)
  })
})

describe("errorResponse, against Kafka's getErrorResponse", () => {
  it.each(
    errorCases.map(
      (c) => [`${c.api.name} v${c.version} ${c.message === undefined ? 'without' : 'with'} a message`, c] as const,
    ),
  )('%s', (_n, c) => {
    const java = answers.get(
      `error ${c.api.apiKey} ${c.version} ${c.code} ${c.message === undefined ? '-' : Buffer.from(c.message).toString('hex')}`,
    )
    expect(java).toMatch(/^[0-9a-f]+$/)
    const kafka = decodeBody(c.api.response, Buffer.from(java!, 'hex'), c.version) as Body
    const ours = errorResponse(
      c.api.apiKey as ApiKey,
      c.version,
      c.request as never,
      c.code,
      c.message,
    ) as unknown as Body
    // The given message goes into the error message fields only: check those, then everything as Kafka has it.
    const expected = kafkaMessage(c.api.apiKey, c.code, c.message)
    for (const m of errorMessages(kafka)) expect(m).toBe(expected)
    const normalised = withErrorMessages(ours, expected) as Body
    DELIBERATE[c.api.apiKey as ApiKey]?.(normalised, c.version)
    if (c.api.apiKey === ApiKey.Produce) {
      sortProduce(kafka)
      sortProduce(normalised)
    }
    expect(normalised).toEqual(kafka)
  })
})

const MESSAGE_FIELD = /(^e|E)rrorMessage$/

function errorMessages(value: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const x of value) errorMessages(x, out)
  else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (MESSAGE_FIELD.test(k)) {
        if (v !== undefined) out.push(v) // decoded messages hold undefined for fields of other versions
      } else errorMessages(v, out)
    }
  }
  return out
}

/** A deep copy with every error message field set to `message`. */
function withErrorMessages(value: unknown, message: string | null): unknown {
  if (Array.isArray(value)) return value.map((x) => withErrorMessages(x, message))
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      MESSAGE_FIELD.test(k) && v !== undefined ? message : withErrorMessages(v, message),
    ]),
  )
}
