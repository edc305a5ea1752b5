/**
 * Many concurrent client connections, for how a proxy's memory and CPU grow with them. Runs in a process of
 * its own, steered by the benchmark over stdin/stdout so the benchmark reads /proc at exact phase boundaries:
 *
 *   node dist/bench/drivers/connections-driver.js '<json job>'
 *   stdout  {"event":"connected","connections":N,"ms":...}     every connection did ApiVersions + Metadata
 *   stdin   "active\n"                                          each connection produces small records, closed loop
 *   stdout  {"event":"active-done","requests":...,"seconds":...,"errors":...,"latencyUs":{...}}
 *   stdin   "close\n"                                           sockets closed, process exits
 *
 * Requests are encoded with our codec once per connection; only the correlation id changes between sends.
 * A connection holds at most one request in flight, like an idle-ish application client.
 */
import net from 'node:net'
import { createInterface } from 'node:readline'
import { FrameDecoder } from '../../codec/frame-decoder.js'
import { decodeResponse, encodeRequest } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { ProduceResponse } from '../../codec/messages/generated/produce-response.js'
import { encodeRecordBatch } from '../../codec/records/index.js'
import { splitHostPort } from '../lib/ports.js'
import { percentiles } from '../lib/stats.js'

export interface ConnectionsJob {
  bootstrap: string
  connections: number
  topic: string
  partitions: number
  recordSize: number
  activeMs: number
  /** Connection attempts in flight at once: a Java broker's accept backlog is 50, and dropped SYNs cost 1 s each. */
  connectConcurrency?: number
}

const PRODUCE_VERSION = 9
const CORRELATION_ID_OFFSET = 8 // size (4) + api key (2) + api version (2)

const job = JSON.parse(process.argv[2] ?? '{}') as ConnectionsJob
const emit = (event: object): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

class Connection {
  readonly socket: net.Socket
  readonly #decoder = new FrameDecoder()
  #waiting: { resolve: (frame: Buffer) => void; reject: (err: Error) => void } | undefined
  #correlationId = 0

  constructor(socket: net.Socket) {
    this.socket = socket
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) =>
      this.#decoder.push(chunk, (frame) => {
        const waiting = this.#waiting
        this.#waiting = undefined
        waiting?.resolve(frame)
      }),
    )
    socket.on('error', () => {})
    socket.on('close', () => this.#waiting?.reject(new Error('connection closed by the target')))
  }

  /** Sends one request frame and resolves with the response frame (one request in flight at a time). */
  roundTrip(frame: Buffer): Promise<Buffer> {
    frame.writeInt32BE(++this.#correlationId, CORRELATION_ID_OFFSET)
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject }
      this.socket.write(frame)
    })
  }
}

function connect(address: string): Promise<net.Socket> {
  const { host, port } = splitHostPort(address)
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port })
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

async function handshake(connection: Connection): Promise<void> {
  const apiVersions = encodeRequest(
    { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 3, correlationId: 0, clientId: 'ksc-bench-conn' },
    { clientSoftwareName: 'ksc-bench', clientSoftwareVersion: '0' },
  )
  await connection.roundTrip(apiVersions)
  const metadata = encodeRequest(
    { requestApiKey: ApiKey.Metadata, requestApiVersion: 12, correlationId: 0, clientId: 'ksc-bench-conn' },
    {
      topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: job.topic }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    },
  )
  await connection.roundTrip(metadata)
}

async function openAll(): Promise<Connection[]> {
  const connections: Connection[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < job.connections) {
      next++
      const connection = new Connection(await connect(job.bootstrap))
      await handshake(connection)
      connections.push(connection)
    }
  }
  await Promise.all(Array.from({ length: Math.min(job.connections, job.connectConcurrency ?? 50) }, worker))
  return connections
}

function produceFrame(partition: number): Buffer {
  const records = encodeRecordBatch([{ key: null, value: Buffer.alloc(job.recordSize, 'x') }])
  return encodeRequest(
    { requestApiKey: ApiKey.Produce, requestApiVersion: PRODUCE_VERSION, correlationId: 0, clientId: 'ksc-bench-conn' },
    {
      transactionalId: null,
      acks: 1,
      timeoutMs: 30_000,
      topicData: [{ name: job.topic, partitionData: [{ index: partition, records }] }],
    },
  )
}

async function active(connections: Connection[]): Promise<void> {
  const samples: number[] = []
  let requests = 0
  let errors = 0
  const started = process.hrtime.bigint()
  const deadline = Date.now() + job.activeMs
  await Promise.all(
    connections.map(async (connection, i) => {
      const frame = produceFrame(i % job.partitions)
      let checked = false
      while (Date.now() < deadline) {
        const t0 = process.hrtime.bigint()
        const response = await connection.roundTrip(frame)
        samples.push(Number(process.hrtime.bigint() - t0) / 1e3)
        requests++
        if (!checked) {
          // The first answer of each connection is decoded: a target that refuses the produce must not look fast.
          checked = true
          const body = decodeResponse(response, ApiKey.Produce, PRODUCE_VERSION, 4).body as ProduceResponse
          if (body.responses.some((t) => t.partitionResponses.some((p) => p.errorCode !== 0))) errors++
        }
      }
    }),
  )
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const [p50, p99, p999] = percentiles(samples, [0.5, 0.99, 0.999])
  emit({ event: 'active-done', requests, seconds, errors, latencyUs: { p50, p99, p999 } })
}

try {
  const t0 = Date.now()
  const connections = await openAll()
  emit({ event: 'connected', connections: connections.length, ms: Date.now() - t0 })
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'active') await active(connections)
    else if (line === 'close') break
  }
  for (const connection of connections) connection.socket.destroy()
  process.exit(0)
} catch (err) {
  process.stderr.write(`${(err as Error).stack ?? err}\n`)
  process.exit(1)
}
