/**
 * What statistics cost per frame: the observer hooks every frame pays (request + response accounting, no decode),
 * and, with stats.topics on, decoding Produce requests and Fetch responses plus the stats filter's work on them
 * (batch headers only, no decompression), next to the header peek a frame costs when nothing wants it decoded.
 * Prints a table.
 *
 *   npm run build && node dist/bench/stats-filter.js [--time-ms=1000]
 */
import { peekRequestHeader } from '../codec/header.js'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../codec/messages/frames.js'
import { ApiKey } from '../codec/messages/generated/apis.js'
import type { FetchRequest } from '../codec/messages/generated/fetch-request.js'
import type { FetchResponse } from '../codec/messages/generated/fetch-response.js'
import type { ProduceRequest } from '../codec/messages/generated/produce-request.js'
import { encodeRecordBatch } from '../codec/records/index.js'
import { createStatsFilter } from '../filters/stats/index.js'
import type { ObservedConnection } from '../src/pipeline/connection-observer.js'
import type { DecodedRequest, DecodedResponse, FilterContext } from '../src/pipeline/filter-api.js'
import { bestRate, timeMsArg } from './lib/micro.js'
import { benchStatistics } from './lib/socketless-exchange.js'

const TIME_MS = timeMsArg()

const rate = (fn: () => void): number => bestRate(fn, TIME_MS)

const batch = (records: number, valueSize: number, baseOffset = 0n) =>
  encodeRecordBatch(
    Array.from({ length: records }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.alloc(valueSize, 'x') })),
    { baseOffset },
  )

const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ'

function produceFrame(version: number, partitions: number, records: Buffer): Buffer {
  const body: ProduceRequest = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [
      {
        ...(version >= 13 ? { topicId: TOPIC_ID } : { name: 'bench-topic' }),
        partitionData: Array.from({ length: partitions }, (_, index) => ({ index, records })),
      },
    ],
  }
  return encodeRequest(
    { requestApiKey: ApiKey.Produce, requestApiVersion: version, correlationId: 7, clientId: 'bench' },
    body,
  )
}

function fetchFrames(version: number, partitions: number, records: Buffer): { request: Buffer; response: Buffer } {
  const topic = version >= 13 ? { topicId: TOPIC_ID } : { topic: 'bench-topic' }
  const request: FetchRequest = {
    replicaId: -1,
    maxWaitMs: 500,
    minBytes: 1,
    maxBytes: 50 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        ...topic,
        partitions: Array.from({ length: partitions }, (_, partition) => ({
          partition,
          currentLeaderEpoch: -1,
          fetchOffset: 0n,
          lastFetchedEpoch: -1,
          logStartOffset: -1n,
          partitionMaxBytes: 1 << 20,
        })),
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  }
  const response: FetchResponse = {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        ...topic,
        partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({
          partitionIndex,
          errorCode: 0,
          highWatermark: 1000n,
          lastStableOffset: 1000n,
          logStartOffset: 0n,
          abortedTransactions: null,
          preferredReadReplica: -1,
          records,
        })),
      },
    ],
  }
  return {
    request: encodeRequest(
      { requestApiKey: ApiKey.Fetch, requestApiVersion: version, correlationId: 9, clientId: 'bench' },
      request,
    ),
    response: encodeResponse(ApiKey.Fetch, version, { correlationId: 9 }, response),
  }
}

const stats = benchStatistics()
stats.topicIdSeen(TOPIC_ID, 'bench-topic')
const conn = {
  connectionId: 1,
  peer: { address: '127.0.0.1', port: 1 },
  listener: { kind: 'bootstrap', port: 9092 },
  principal: undefined,
  tls: false,
  clientId: 'bench',
  clientSoftware: undefined,
  openedAt: Date.now(),
} as unknown as ObservedConnection & FilterContext
Object.assign(conn, { connection: conn })
stats.opened(conn)
stats.identified(conn)
const filter = createStatsFilter({ sink: stats, topics: true }).forConnection(conn)

interface Row {
  case: string
  frameBytes: number
  peekUs: number
  statsUs: number
}
const rows: Row[] = []
const us = (perSecond: number) => 1e6 / perSecond

// The observer: every frame, decoded or not.
rows.push({
  case: 'observer: request + response hooks',
  frameBytes: 0,
  peekUs: 0,
  statsUs: us(
    rate(() => {
      stats.request(conn, ApiKey.Produce, 9, 1000)
      stats.response(conn, ApiKey.Produce, 9, 100, 1.2, 1.1)
    }),
  ),
})

for (const [version, partitions, records, size] of [
  [9, 1, 16, 1000],
  [9, 10, 16, 1000],
  [13, 10, 16, 1000],
] as const) {
  const frame = produceFrame(version, partitions, batch(records, size))
  rows.push({
    case: `Produce v${version} request, ${partitions} partition(s) x ${records} x ${size} B`,
    frameBytes: frame.length,
    peekUs: us(rate(() => peekRequestHeader(frame, 4))),
    statsUs: us(
      rate(() => {
        const d = decodeRequest(frame, 4)
        filter.onRequest!(
          { apiKey: d.apiKey, apiVersion: d.apiVersion, header: d.header, body: d.body } as DecodedRequest,
          conn,
        )
      }),
    ),
  })
}

for (const [version, partitions, records, size] of [
  [11, 1, 16, 1000],
  [12, 10, 64, 1000],
  [17, 10, 64, 1000],
] as const) {
  const { request, response } = fetchFrames(version, partitions, batch(records, size))
  const decodedRequest = decodeRequest(request, 4)
  const req = {
    apiKey: decodedRequest.apiKey,
    apiVersion: decodedRequest.apiVersion,
    header: decodedRequest.header,
    body: decodedRequest.body,
  } as DecodedRequest
  rows.push({
    case: `Fetch v${version} response, ${partitions} partition(s) x ${records} x ${size} B`,
    frameBytes: response.length,
    peekUs: us(rate(() => response.readInt32BE(4))),
    statsUs: us(
      rate(() => {
        const d = decodeResponse(response, ApiKey.Fetch, version, 4)
        filter.onResponse!(
          {
            apiKey: d.apiKey,
            apiVersion: d.apiVersion,
            header: d.header,
            body: d.body,
            request: req,
          } as DecodedResponse,
          conn,
        )
      }),
    ),
  })
}
stats.close()

const pad = (s: string, n: number) => s.padEnd(n)
console.log(
  `${pad('frame', 52)} ${'bytes'.padStart(9)} ${'peek us'.padStart(9)} ${'stats us'.padStart(9)} ${'stats MB/s'.padStart(11)}`,
)
for (const r of rows) {
  const mbs = r.frameBytes === 0 ? '' : (((r.frameBytes / r.statsUs) * 1e6) / 1e6).toFixed(0)
  console.log(
    `${pad(r.case, 52)} ${String(r.frameBytes || '').padStart(9)} ${(r.peekUs ? r.peekUs.toFixed(2) : '').padStart(9)} ${r.statsUs.toFixed(2).padStart(9)} ${mbs.padStart(11)}`,
  )
}
