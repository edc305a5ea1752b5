/**
 * Message codec throughput: decode and encode of whole Produce request and Fetch response frames carrying about
 * 1 KiB, 16 KiB and 1 MiB of records, at the versions kafkajs (Produce v7 / Fetch v11) and the Java client
 * (Produce v13 / Fetch v18) use, and the cost of the header peek alone (what every frame pays). Prints a table.
 *
 *   npm run build && node dist/bench/codec-messages.js [--time-ms=1000]
 *
 * Records are carried as views (zero-copy) on decode; encode copies them once into the output frame.
 * MB/s counts whole frames, 1 MB = 10^6 bytes.
 */
import { peekRequestHeader } from '../codec/header.js'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../codec/messages/frames.js'
import { ApiKey } from '../codec/messages/generated/apis.js'
import type { FetchResponse } from '../codec/messages/generated/fetch-response.js'
import type { ProduceRequest } from '../codec/messages/generated/produce-request.js'
import { encodeRecordBatch } from '../codec/records/index.js'
import { bestRate, ROUNDS, timeMsArg } from './lib/micro.js'

const TIME_MS = timeMsArg()

const rate = (fn: () => void): number => bestRate(fn, TIME_MS)

function batchOf(totalBytes: number): Buffer {
  const valueSize = Math.min(1000, totalBytes)
  const n = Math.max(1, Math.round(totalBytes / valueSize))
  const value = Buffer.alloc(valueSize, 'x')
  return encodeRecordBatch(Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`k${i}`), value })))
}

const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ'

function produce(version: number, records: Buffer): Buffer {
  const body: ProduceRequest = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [
      { ...(version >= 13 ? { topicId: TOPIC_ID } : { name: 'bench-topic' }), partitionData: [{ index: 0, records }] },
    ],
  }
  return encodeRequest(
    { requestApiKey: ApiKey.Produce, requestApiVersion: version, correlationId: 7, clientId: 'bench' },
    body,
  )
}

function fetchResponse(version: number, records: Buffer): Buffer {
  const body: FetchResponse = {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        ...(version >= 13 ? { topicId: TOPIC_ID } : { topic: 'bench-topic' }),
        partitions: [
          {
            partitionIndex: 0,
            errorCode: 0,
            highWatermark: 1000n,
            lastStableOffset: 1000n,
            logStartOffset: 0n,
            abortedTransactions: null,
            preferredReadReplica: -1,
            records,
          },
        ],
      },
    ],
  }
  return encodeResponse(ApiKey.Fetch, version, { correlationId: 7 }, body)
}

interface Row {
  frame: string
  size: number
  decodeMBs: number
  decodeFps: number
  encodeMBs: number
  encodeFps: number
}

const rows: Row[] = []
for (const [label, bytes] of [
  ['1 KiB', 1024],
  ['16 KiB', 16 * 1024],
  ['1 MiB', 1024 * 1024],
] as const) {
  const records = batchOf(bytes)
  for (const v of [7, 13]) {
    const frame = produce(v, records)
    const decoded = decodeRequest(frame, 4)
    const d = rate(() => decodeRequest(frame, 4))
    const e = rate(() => encodeRequest(decoded.header, decoded.body))
    rows.push({
      frame: `Produce v${v} request, ${label}`,
      size: frame.length,
      decodeMBs: (d * frame.length) / 1e6,
      decodeFps: d,
      encodeMBs: (e * frame.length) / 1e6,
      encodeFps: e,
    })
  }
  for (const v of [11, 18]) {
    const frame = fetchResponse(v, records)
    const decoded = decodeResponse(frame, ApiKey.Fetch, v, 4)
    const d = rate(() => decodeResponse(frame, ApiKey.Fetch, v, 4))
    const e = rate(() => encodeResponse(ApiKey.Fetch, v, decoded.header, decoded.body))
    rows.push({
      frame: `Fetch v${v} response, ${label}`,
      size: frame.length,
      decodeMBs: (d * frame.length) / 1e6,
      decodeFps: d,
      encodeMBs: (e * frame.length) / 1e6,
      encodeFps: e,
    })
  }
}

const peekFrame = produce(13, batchOf(1024))
const peek = rate(() => peekRequestHeader(peekFrame, 4))

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1))
const fps = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0)
console.log(`Node ${process.version}, best of ${ROUNDS} rounds over ${TIME_MS} ms each measurement\n`)
console.log('| frame | bytes | decode MB/s | decode frames/s | encode MB/s | encode frames/s |')
console.log('|---|---:|---:|---:|---:|---:|')
for (const r of rows) {
  console.log(
    `| ${r.frame} | ${r.size} | ${fmt(r.decodeMBs)} | ${fps(r.decodeFps)} | ${fmt(r.encodeMBs)} | ${fps(r.encodeFps)} |`,
  )
}
console.log(
  `\nheader peek (api key, version, correlation id): ${fps(peek)} frames/s, ${(1e9 / peek).toFixed(0)} ns per frame`,
)
