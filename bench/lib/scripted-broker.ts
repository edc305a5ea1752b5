/**
 * A scripted Kafka broker and client for measuring the sidecar alone: no JVM whose JIT, GC and log writes make
 * every figure drift. The broker answers ApiVersions, Metadata, Produce and Fetch from responses encoded once
 * (only the correlation id is patched per request), so it costs almost nothing; the client sends requests encoded
 * once, the way Kafka's clients pipeline them (Produce: several in flight; Fetch: one at a time per broker). What
 * remains to measure is the proxy in between.
 */
import net from 'node:net'
import { FrameDecoder } from '../../codec/frame-decoder.js'
import { peekRequestHeader } from '../../codec/header.js'
import { decodeResponse, encodeRequest, encodeResponse } from '../../codec/messages/frames.js'
import { API_DEFINITIONS, ApiKey } from '../../codec/messages/generated/apis.js'
import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import { encodeRecordBatch } from '../../codec/records/index.js'

export const TOPIC = 'bench'
const PRODUCE_VERSION = 9
const FETCH_VERSION = 12
const METADATA_VERSION = 12
const API_VERSIONS_VERSION = 3

export interface Workload {
  partitions: number
  recordBytes: number
  /** Record bytes per partition in one Produce request (one batch) and in one Fetch response. */
  produceBatchBytes: number
  fetchPartitionBytes: number
}

export const DEFAULT_WORKLOAD: Workload = {
  partitions: 8,
  recordBytes: 1024,
  // kafka-producer-perf-test with batch.size=65536; a consumer's max.partition.fetch.bytes is 1 MiB, but the broker
  // answers with what is there, so a caught-up consumer gets smaller responses: 128 KiB per partition.
  produceBatchBytes: 64 * 1024,
  fetchPartitionBytes: 128 * 1024,
}

function batchOf(bytes: number, recordBytes: number, baseOffset: bigint): Buffer {
  const n = Math.max(1, Math.floor(bytes / recordBytes))
  const value = Buffer.alloc(recordBytes, 0x61)
  return encodeRecordBatch(
    Array.from({ length: n }, () => ({ value })),
    { baseOffset, timestamp: 1_700_000_000_000n },
  )
}

/** Record-value bytes one request or response of the workload carries (what MB/s counts). */
export function valueBytes(w: Workload, perPartition: number): number {
  return w.partitions * Math.max(1, Math.floor(perPartition / w.recordBytes)) * w.recordBytes
}

/** A copy of an encoded frame with another correlation id: at byte 4 of a response, byte 8 of a request. */
function patchCorrelationId(template: Buffer, correlationId: number, at: 4 | 8 = 4): Buffer {
  const out = Buffer.from(template)
  out.writeInt32BE(correlationId, at)
  return out
}

export interface ScriptedBroker {
  readonly port: number
  close(): Promise<void>
}

/** Starts the scripted broker on 127.0.0.1 (node id 1, advertising its own address). */
export async function startScriptedBroker(w: Workload = DEFAULT_WORKLOAD): Promise<ScriptedBroker> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  const apiKeys = Object.values(API_DEFINITIONS)
    .filter((a): a is NonNullable<typeof a> => a?.listeners.includes('broker') === true)
    .map((a) => ({ apiKey: a.apiKey, minVersion: a.request.minVersion, maxVersion: a.request.maxVersion }))
  const partitions = Array.from({ length: w.partitions }, (_, i) => i)
  const metadata: MetadataResponse = {
    throttleTimeMs: 0,
    brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: null }],
    clusterId: 'scripted',
    controllerId: 1,
    topics: [
      {
        errorCode: 0,
        name: TOPIC,
        topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
        isInternal: false,
        partitions: partitions.map((p) => ({
          errorCode: 0,
          partitionIndex: p,
          leaderId: 1,
          leaderEpoch: 0,
          replicaNodes: [1],
          isrNodes: [1],
          offlineReplicas: [],
        })),
        topicAuthorizedOperations: -2147483648,
      },
    ],
  }
  const produceResponse = encodeResponse(
    ApiKey.Produce,
    PRODUCE_VERSION,
    { correlationId: 0 },
    {
      throttleTimeMs: 0,
      responses: [
        {
          name: TOPIC,
          partitionResponses: partitions.map((index) => ({
            index,
            errorCode: 0,
            baseOffset: 0n,
            logAppendTimeMs: -1n,
            logStartOffset: 0n,
            recordErrors: [],
            errorMessage: null,
          })),
        },
      ],
    },
  )
  const records = batchOf(w.fetchPartitionBytes, w.recordBytes, 0n)
  const fetchResponse = encodeResponse(
    ApiKey.Fetch,
    FETCH_VERSION,
    { correlationId: 0 },
    {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topic: TOPIC,
          partitions: partitions.map((partitionIndex) => ({
            partitionIndex,
            errorCode: 0,
            highWatermark: 1_000_000n,
            lastStableOffset: 1_000_000n,
            logStartOffset: 0n,
            abortedTransactions: null,
            preferredReadReplica: -1,
            records,
          })),
        },
      ],
    },
  )
  const answer = (apiKey: number, version: number, correlationId: number): Buffer | undefined => {
    switch (apiKey) {
      case ApiKey.ApiVersions:
        return encodeResponse(
          ApiKey.ApiVersions,
          Math.min(version, API_VERSIONS_VERSION),
          { correlationId },
          {
            errorCode: 0,
            apiKeys,
            throttleTimeMs: 0,
          },
        )
      case ApiKey.Metadata:
        return encodeResponse(ApiKey.Metadata, version, { correlationId }, metadata)
      case ApiKey.Produce:
        return version === PRODUCE_VERSION ? patchCorrelationId(produceResponse, correlationId) : undefined
      case ApiKey.Fetch:
        return version === FETCH_VERSION ? patchCorrelationId(fetchResponse, correlationId) : undefined
      default:
        return undefined
    }
  }
  server.on('connection', (socket) => {
    socket.setNoDelay(true)
    const frames = new FrameDecoder()
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => {
      try {
        frames.pushPieces(chunk, (first, rest, length) => {
          // The header is in the first 8 bytes after the size prefix; a frame may be split before that.
          const head = first.length >= 12 || rest === undefined ? first : Buffer.concat([first, ...rest], length)
          const { apiKey, apiVersion, correlationId } = peekRequestHeader(head, 4)
          // acks=0 is not scripted: every Produce the client sends expects an answer.
          const out = answer(apiKey, apiVersion, correlationId)
          if (out === undefined) throw new Error(`scripted broker: no answer for api ${apiKey} v${apiVersion}`)
          socket.write(out)
        })
      } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`)
        socket.destroy()
      }
    })
  })
  return {
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/** A client connection that sends encoded frames and counts the answers. */
class ScriptedConnection {
  private readonly frames = new FrameDecoder(200 * 1024 * 1024)
  private waiting: ((frame: Buffer) => void)[] = []
  private nextCorrelationId = 1

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) =>
      this.frames.pushPieces(chunk, (first, rest, length) => {
        const frame = rest === undefined ? first : Buffer.concat([first, ...rest], length)
        this.waiting.shift()?.(frame)
      }),
    )
  }

  static connect(host: string, port: number): Promise<ScriptedConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => resolve(new ScriptedConnection(socket)))
      socket.once('error', reject)
    })
  }

  /** Sends a frame (its correlation id patched) and resolves with the response frame. */
  send(template: Buffer): Promise<Buffer> {
    const frame = patchCorrelationId(template, this.nextCorrelationId++, 8)
    return new Promise((resolve) => {
      this.waiting.push(resolve)
      this.socket.write(frame)
    })
  }

  close(): void {
    this.socket.destroy()
  }
}

function requestFrame(apiKey: number, version: number, body: unknown): Buffer {
  return encodeRequest(
    { requestApiKey: apiKey, requestApiVersion: version, correlationId: 0, clientId: 'scripted-client' },
    body,
  )
}

/**
 * Connects as a client would: ApiVersions and Metadata on the bootstrap address, then a connection to the leader
 * (node 1) at the address Metadata gave, ApiVersions again there. `stayOnBootstrap`: the leader connection goes to the
 * bootstrap address instead, for a byte relay in front of the one scripted broker (it cannot rewrite the address the
 * broker advertises).
 */
export async function connectClient(bootstrap: string, stayOnBootstrap = false): Promise<ScriptedConnection> {
  const i = bootstrap.lastIndexOf(':')
  const boot = await ScriptedConnection.connect(bootstrap.slice(0, i), Number(bootstrap.slice(i + 1)))
  const apiVersions = requestFrame(ApiKey.ApiVersions, API_VERSIONS_VERSION, {
    clientSoftwareName: 'scripted',
    clientSoftwareVersion: '1',
  })
  await boot.send(apiVersions)
  const md = decodeResponse(
    await boot.send(
      requestFrame(ApiKey.Metadata, METADATA_VERSION, {
        topics: [{ name: TOPIC, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }],
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      }),
    ),
    ApiKey.Metadata,
    METADATA_VERSION,
    4,
  ).body as MetadataResponse
  boot.close()
  const leader = md.brokers.find((b) => b.nodeId === 1)
  if (leader === undefined) throw new Error('scripted client: node 1 is not in the Metadata response')
  const conn = stayOnBootstrap
    ? await ScriptedConnection.connect(bootstrap.slice(0, i), Number(bootstrap.slice(i + 1)))
    : await ScriptedConnection.connect(leader.host, leader.port)
  await conn.send(apiVersions)
  return conn
}

/** Produces `totalBytes` of record values with `inflight` requests in flight; returns record-value MB/s. */
export async function runProduce(
  conn: ScriptedConnection,
  w: Workload,
  totalBytes: number,
  inflight = 5,
): Promise<number> {
  const batch = batchOf(w.produceBatchBytes, w.recordBytes, 0n)
  const frame = requestFrame(ApiKey.Produce, PRODUCE_VERSION, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 30_000,
    topicData: [
      { name: TOPIC, partitionData: Array.from({ length: w.partitions }, (_, index) => ({ index, records: batch })) },
    ],
  })
  const perRequest = valueBytes(w, w.produceBatchBytes)
  const requests = Math.ceil(totalBytes / perRequest)
  const start = performance.now()
  let sent = 0
  const lane = async (): Promise<void> => {
    while (sent < requests) {
      sent++
      await conn.send(frame)
    }
  }
  await Promise.all(Array.from({ length: inflight }, lane))
  return (requests * perRequest) / 1e6 / ((performance.now() - start) / 1000)
}

/** Fetches until `totalBytes` of record values arrived, one Fetch at a time; returns record-value MB/s. */
export async function runFetch(conn: ScriptedConnection, w: Workload, totalBytes: number): Promise<number> {
  const frame = requestFrame(ApiKey.Fetch, FETCH_VERSION, {
    replicaId: -1,
    maxWaitMs: 500,
    minBytes: 1,
    maxBytes: 52_428_800,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: TOPIC,
        partitions: Array.from({ length: w.partitions }, (_, partition) => ({
          partition,
          currentLeaderEpoch: 0,
          fetchOffset: 0n,
          lastFetchedEpoch: -1,
          logStartOffset: -1n,
          partitionMaxBytes: 1_048_576,
        })),
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  })
  const perResponse = valueBytes(w, w.fetchPartitionBytes)
  const responses = Math.ceil(totalBytes / perResponse)
  const start = performance.now()
  for (let i = 0; i < responses; i++) await conn.send(frame)
  return (responses * perResponse) / 1e6 / ((performance.now() - start) / 1000)
}
