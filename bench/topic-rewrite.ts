/**
 * What topic-rewrite costs per message for a canary client, next to what the same frame costs when no filter wants
 * it (a header peek: non-canary clients, and Produce v13 / Fetch v13+ of canary clients, which name topics by id).
 * For messages that carry names: decoding and the name walk alone (the rule maps the name to itself, as the bench
 * target's configuration does), and with a real rename, which adds encoding the message again. Prints a table.
 *
 *   npm run build && node dist/bench/topic-rewrite.js [--time-ms=1000]
 */
import { peekRequestHeader } from '../codec/header.js'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../codec/messages/frames.js'
import { ApiKey } from '../codec/messages/generated/apis.js'
import type { FetchResponse } from '../codec/messages/generated/fetch-response.js'
import type { MetadataResponse } from '../codec/messages/generated/metadata-response.js'
import type { ProduceRequest } from '../codec/messages/generated/produce-request.js'
import { encodeRecordBatch } from '../codec/records/index.js'
import { topicRewritePlugin } from '../filters/topic-rewrite/index.js'
import type { DecodedRequest, DecodedResponse, Filter } from '../src/pipeline/filter-api.js'
import { fakeContext, setupContext } from '../test/support/filter-testing.js'
import { bestRate, timeMsArg } from './lib/micro.js'

const TIME_MS = timeMsArg()
const us = (fn: () => void) => 1e6 / bestRate(fn, TIME_MS)

const batch = (records: number, valueSize: number) =>
  encodeRecordBatch(
    Array.from({ length: records }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.alloc(valueSize, 'x') })),
  )

/** Produce v9 as kafkajs-era clients send it: 8 partitions x 64 KiB batches of 1 KiB records. */
function produceFrame(topic: string): Buffer {
  const records = batch(64, 1000)
  const body: ProduceRequest = {
    transactionalId: null,
    acks: 1,
    timeoutMs: 30000,
    topicData: [{ name: topic, partitionData: Array.from({ length: 8 }, (_, index) => ({ index, records })) }],
  }
  return encodeRequest({ requestApiKey: ApiKey.Produce, requestApiVersion: 9, correlationId: 7, clientId: 'c' }, body)
}

/** Fetch v12 answered with 1 MiB: 8 partitions x 128 KiB. */
function fetchResponseFrame(topic: string): Buffer {
  const records = batch(128, 1000)
  const body: FetchResponse = {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        topic,
        partitions: Array.from({ length: 8 }, (_, partitionIndex) => ({
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
  return encodeResponse(ApiKey.Fetch, 12, { correlationId: 9 }, body)
}

/** Metadata v12 listing 200 topics of 8 partitions, one of them the canary's. */
function metadataFrame(canaryTopic: string): Buffer {
  const body: MetadataResponse = {
    throttleTimeMs: 0,
    brokers: [{ nodeId: 1, host: 'broker-1', port: 9092, rack: null }],
    clusterId: 'c',
    controllerId: 1,
    topics: Array.from({ length: 200 }, (_, i) => ({
      errorCode: 0,
      name: i === 0 ? canaryTopic : `topic-${i}`,
      topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
      isInternal: false,
      partitions: Array.from({ length: 8 }, (_, p) => ({
        errorCode: 0,
        partitionIndex: p,
        leaderId: 1,
        leaderEpoch: 0,
        replicaNodes: [1],
        isrNodes: [1],
        offlineReplicas: [],
      })),
      topicAuthorizedOperations: -2147483648,
    })),
  }
  return encodeResponse(ApiKey.Metadata, 12, { correlationId: 3 }, body)
}

async function canaryFilter(to: string): Promise<Filter> {
  const config = topicRewritePlugin.parseConfig({
    rules: [{ clients: { percent: 100 }, topics: [{ regex: '(bench-.*)', to }] }],
  })
  const configured = await topicRewritePlugin.configure(config, setupContext())
  const ctx = fakeContext({ clientId: 'bench' })
  const filter = configured.forConnection(ctx)
  filter.onRequestBytes?.({ apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 0, size: 30 }, ctx)
  return filter
}

const ctx = fakeContext({ clientId: 'bench' })

/** Decode, filter, and encode again when the filter changed it: the path a held message takes. */
function requestPath(frame: Buffer, filter: Filter): () => void {
  return () => {
    const d = decodeRequest(frame, 4)
    const req = {
      apiKey: d.header.requestApiKey,
      apiVersion: d.header.requestApiVersion,
      header: d.header,
      size: frame.length,
      body: d.body,
    } as DecodedRequest
    const verdict = filter.onRequest!(req, ctx) as { kind: string } | undefined
    if (verdict?.kind === 'replace') encodeRequest(d.header, req.body)
  }
}

function responsePath(
  frame: Buffer,
  apiKey: number,
  version: number,
  filter: Filter,
  request: DecodedRequest,
): () => void {
  return () => {
    const d = decodeResponse(frame, apiKey, version, 4)
    const res = {
      apiKey,
      apiVersion: version,
      header: d.header,
      size: frame.length,
      request,
      body: d.body,
    } as DecodedResponse
    const verdict = filter.onResponse!(res, ctx) as { kind: string } | undefined
    if (verdict?.kind === 'replace') encodeResponse(apiKey, version, d.header, res.body)
  }
}

async function main(): Promise<void> {
  const identity = await canaryFilter('$1')
  const rename = await canaryFilter('$1-canary')
  const emptyRequest = {} as DecodedRequest
  const produce = produceFrame('bench-orders')
  const fetch = fetchResponseFrame('bench-orders')
  const fetchRenamed = fetchResponseFrame('bench-orders-canary')
  const metadata = metadataFrame('bench-orders')
  const metadataRenamed = metadataFrame('bench-orders-canary')
  const rows: [string, number, number, number, number][] = []
  const row = (name: string, frame: Buffer, same: () => void, renamed: () => void) => {
    const peek = us(() => peekRequestHeader(frame, 4))
    rows.push([name, frame.length, peek, us(same), us(renamed)])
  }
  row('Produce v9 request, 8 x 64 KiB', produce, requestPath(produce, identity), requestPath(produce, rename))
  row(
    'Fetch v12 response, 8 x 128 KiB',
    fetch,
    responsePath(fetch, ApiKey.Fetch, 12, identity, emptyRequest),
    responsePath(fetchRenamed, ApiKey.Fetch, 12, rename, emptyRequest),
  )
  row(
    'Metadata v12 response, 200 topics',
    metadata,
    responsePath(metadata, ApiKey.Metadata, 12, identity, emptyRequest),
    responsePath(metadataRenamed, ApiKey.Metadata, 12, rename, emptyRequest),
  )
  console.log(`topic-rewrite, a canary connection: microseconds per message (best of 5 rounds of ${TIME_MS / 5} ms)\n`)
  console.log(
    '| message | frame bytes | header peek (not decoded) | decode + names, unchanged | decode + rename + encode | rename: CPU s per GB |',
  )
  console.log('|---|---:|---:|---:|---:|---:|')
  for (const [name, bytes, peek, same, renamed] of rows) {
    const perGB = (renamed / 1e6) * (1e9 / bytes)
    console.log(
      `| ${name} | ${bytes} | ${peek.toFixed(2)} | ${same.toFixed(1)} | ${renamed.toFixed(1)} | ${perGB.toFixed(3)} |`,
    )
  }
}

await main()
