/**
 * What tapping every produced record costs, without sockets: an Exchange (src/pipeline/exchange.ts) with the built-in
 * filters and a configuration's filters (default bench/configs/tap.yaml: every produced record tapped) is fed
 * Produce requests shaped as kafka-producer-perf-test sends them through a sidecar (acks=1, one batch of 16 records of
 * 1 KiB per partition, 8 partitions) and their responses, one request at a time with the event loop turning in
 * between, so that the tap's worker runs as it would. The tap produces through the sidecar's own producer
 * (src/upstream-client/producer.ts) over a connection stand-in that encodes each Produce request (as the connection
 * would before writing it) and answers it at once: everything but the socket writes.
 *
 * Prints, per round, process CPU time per produced record and per GB of produced values, the garbage collector's
 * time (PerformanceObserver 'gc' entries), and the tap's counts (tapped, dropped, failed), which must show every
 * record tapped for the figures to mean what they say. `--config=none` gives the plain sidecar's figures;
 * `--decode` hides the producer's batch entry point, so the tap takes its decoding path (records as objects).
 *
 *   npm run build && node --single-threaded-gc --max-semi-space-size=2 dist/bench/tap-cost.js [--requests=1500]
 *     [--config=bench/configs/tap.yaml|none] [--decode] [--rounds=3]
 */
import { PerformanceObserver } from 'node:perf_hooks'
import pino from 'pino'
import { encodeRequest, encodeRequestPieces, encodeResponse } from '../codec/messages/frames.js'
import { ApiKey } from '../codec/messages/generated/apis.js'
import type { ProduceRequest } from '../codec/messages/generated/produce-request.js'
import type { ProduceResponse } from '../codec/messages/generated/produce-response.js'
import { encodeRecordBatch } from '../codec/records/index.js'
import type { FilterCounter, UpstreamClientService } from '../src/pipeline/filter-api.js'
import { Frame } from '../src/pipeline/frame.js'
import { ExponentialBackoff } from '../src/upstream-client/backoff.js'
import type { BrokerConnection } from '../src/upstream-client/connection.js'
import { benchConnection, benchSetup, benchStatistics, configureFilters } from './lib/socketless-exchange.js'

/** BrokerConnection's send options (declared here too, so that this bench also builds on commits without them). */
interface SendOptions {
  readonly referenceRecords?: boolean
}

import type { ClusterMetadata, TopicView } from '../src/upstream-client/metadata.js'
import { DEFAULT_PRODUCER } from '../src/upstream-client/options.js'
import { Producer } from '../src/upstream-client/producer.js'

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const REQUESTS = Number(arg('requests') ?? 1500)
const CONFIG_ARG = arg('config') ?? 'bench/configs/tap.yaml'
const CONFIG_FILE = CONFIG_ARG === 'none' ? undefined : CONFIG_ARG
const DECODE = process.argv.includes('--decode')
const PARTITIONS = 8
const RECORDS_PER_BATCH = 16
const VALUE_BYTES = 1024
const ROUNDS = Number(arg('rounds') ?? 3)

const log = pino({ level: 'silent' })

// ------------------------------------------------------------------ the tap's producer, without sockets

/** Topics of the stand-in cluster: any name, 8 partitions led by node 1. */
const topics = new Map<string, TopicView>()
const topicView = (name: string): TopicView => {
  let t = topics.get(name)
  if (t === undefined) {
    t = {
      name,
      partitions: Array.from({ length: PARTITIONS }, (_, i) => ({ partition: i, leader: 1 })),
    } as unknown as TopicView
    topics.set(name, t)
  }
  return t
}
const metadata = {
  topic: (name: string) => topics.get(name),
  track() {},
  refreshTracked: async () => {},
} as unknown as ClusterMetadata
const logEnds = new Map<string, bigint>()
/** Encodes the request as the connection does before writing it (BrokerConnection.sendRaw). */
function encodeAsConnection(apiKey: number, version: number, body: ProduceRequest, options?: SendOptions): void {
  const header = { requestApiKey: apiKey, requestApiVersion: version, correlationId: 1, clientId: 'ksc' }
  if (options?.referenceRecords) encodeRequestPieces(header, body, 1024)
  else encodeRequest(header, body)
}
/** The connection stand-in: encodes the request and answers it at once. */
const connection = {
  target: { host: 'bench', port: 0 },
  negotiatedVersion: () => 9,
  supports: () => true,
  async request(
    apiKey: number,
    version: number,
    body: ProduceRequest,
    options?: SendOptions,
  ): Promise<ProduceResponse> {
    encodeAsConnection(apiKey, version, body, options)
    return {
      throttleTimeMs: 0,
      responses: body.topicData.map((t) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((p) => {
          const key = `${t.name}:${p.index}`
          const base = logEnds.get(key) ?? 0n
          logEnds.set(key, base + BigInt(p.records!.readInt32BE(57)))
          return {
            index: p.index,
            errorCode: 0,
            baseOffset: base,
            logAppendTimeMs: -1n,
            logStartOffset: 0n,
            recordErrors: [],
            errorMessage: null,
          }
        }),
      })),
    } as ProduceResponse
  },
  async sendWithoutResponse(apiKey: number, version: number, body: ProduceRequest, options?: SendOptions) {
    encodeAsConnection(apiKey, version, body, options)
  },
} as unknown as BrokerConnection
const producer = new Producer(
  { metadata, topic: async (name) => topicView(name), connection: async () => connection, log },
  {
    acks: DEFAULT_PRODUCER.acks,
    compression: DEFAULT_PRODUCER.compression,
    lingerMs: DEFAULT_PRODUCER.lingerMs,
    batchBytes: DEFAULT_PRODUCER.batchBytes,
    maxRequestBytes: DEFAULT_PRODUCER.maxRequestBytes,
    deliveryTimeoutMs: DEFAULT_PRODUCER.deliveryTimeoutMs,
    requestTimeoutMs: 30_000,
    maxInFlightPerNode: DEFAULT_PRODUCER.maxInFlightPerNode,
    bufferBytes: DEFAULT_PRODUCER.bufferBytes,
    retryBackoff: new ExponentialBackoff(DEFAULT_PRODUCER.retryBackoffMs, DEFAULT_PRODUCER.retryBackoffMaxMs),
  },
)
type BatchEntry = (
  topic: string,
  partition: number | undefined,
  batch: Buffer,
  options?: object,
) => Promise<{ partition: number; baseOffset: bigint }>
const produceBatch = (producer as unknown as { produceBatch?: BatchEntry }).produceBatch?.bind(producer)
const upstream: UpstreamClientService = {
  send: async (_target, apiKey, apiVersion, body) => {
    if (apiKey !== ApiKey.CreateTopics) throw new Error(`the bench's cluster answers CreateTopics only, not ${apiKey}`)
    const names = (body as { topics: { name: string }[] }).topics.map((t) => t.name)
    for (const n of names) topicView(n)
    return {
      apiKey,
      apiVersion: apiVersion === 'max' ? 5 : apiVersion,
      body: { throttleTimeMs: 0, topics: names.map((name) => ({ name, errorCode: 0, errorMessage: null })) },
    } as never
  },
  produce: (topic, records, options) => producer.produce(topic, records, options),
  ...(produceBatch !== undefined &&
    !DECODE && {
      produceRecordBatch: (topic: string, partition: number | undefined, batch: Buffer, options?: object) =>
        produceBatch(topic, partition, batch, options),
      partitionCount: (topic: string) => metadata.topic(topic)?.partitions.length,
    }),
  health: () => ({ connected: true }),
}

// ------------------------------------------------------------------ the sidecar's message path

/** The tap's counters, summed by outcome. */
const counted = new Map<string, number>()
const counter = (name: string): FilterCounter => ({
  inc(labels, value = 1) {
    const key = `${name}:${labels?.outcome ?? ''}`
    counted.set(key, (counted.get(key) ?? 0) + value)
  },
})
const stats = benchStatistics()
const configured = await configureFilters(benchSetup(log, stats, CONFIG_FILE, { counter, upstream }), CONFIG_FILE)
const { state, exchange } = benchConnection(1, configured, stats, log)

// ------------------------------------------------------------------ perf-test's requests

/** Values as perf-test makes them: random printable bytes. */
const value = () => Buffer.from(Array.from({ length: VALUE_BYTES }, () => 65 + Math.floor(Math.random() * 26)))
const partitionData = Array.from({ length: PARTITIONS }, (_, index) => ({
  index,
  records: encodeRecordBatch(
    Array.from({ length: RECORDS_PER_BATCH }, () => ({ key: null, value: value() })),
    { timestamp: BigInt(Date.now()) },
  ),
}))
const request = encodeRequest(
  { requestApiKey: ApiKey.Produce, requestApiVersion: 9, correlationId: 0, clientId: 'perf-producer-client' },
  { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: 'bench', partitionData }] },
)
const recordsPerRequest = PARTITIONS * RECORDS_PER_BATCH
const response = encodeResponse(
  ApiKey.Produce,
  9,
  { correlationId: 0 },
  {
    throttleTimeMs: 0,
    responses: [
      {
        name: 'bench',
        partitionResponses: partitionData.map((p) => ({
          index: p.index,
          errorCode: 0,
          baseOffset: 1000n,
          logAppendTimeMs: -1n,
          logStartOffset: 0n,
          recordErrors: [],
          errorMessage: null,
        })),
      },
    ],
  },
)

let gcMs = 0
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration
}).observe({ entryTypes: ['gc'] })
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))
/** Waits until the tap has produced what it took (its worker and the producer run on the event loop). */
async function settle(): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    await turn()
    if (producer.bufferedBytes === 0 && i > 20) return
  }
}

console.log(
  `config ${CONFIG_FILE ?? 'none'}${DECODE ? ' (decoding path)' : ''}: ${REQUESTS} Produce requests of ${recordsPerRequest} records of ${VALUE_BYTES} B per round`,
)
let correlation = 0
for (let round = 0; round <= ROUNDS; round++) {
  counted.clear()
  const gcBefore = gcMs
  const before = process.cpuUsage()
  for (let i = 0; i < REQUESTS; i++) {
    correlation++
    request.writeInt32BE(correlation, 8)
    response.writeInt32BE(correlation, 4)
    state.readAt = performance.now()
    state.reading = true
    exchange.onRequest(Frame.of(request))
    state.readAt = performance.now()
    exchange.onResponse(Frame.of(response))
    state.reading = false
    await turn()
  }
  await settle()
  const cpu = process.cpuUsage(before)
  const records = REQUESTS * recordsPerRequest
  const us = cpu.user + cpu.system
  const gb = (records * VALUE_BYTES) / 1e9
  if (round === 0) continue // warm-up
  const outcome = (o: string) => counted.get(`records_total:${o}`) ?? 0
  console.log(
    `round ${round}: ${(us / records).toFixed(3)} CPU us per record, ${(us / 1e6 / gb).toFixed(2)} CPU s per GB, ` +
      `GC ${(((gcMs - gcBefore) * 1000) / records).toFixed(3)} us per record; ` +
      `tapped ${outcome('tapped')}, dropped ${outcome('dropped')}, failed ${outcome('failed')}`,
  )
}
process.exit(0)
