import { createServer, type Server, type Socket } from 'node:net'
import { FrameDecoder } from '../../../../codec/frame-decoder.js'
import { decodeRequest, encodeResponse } from '../../../../codec/messages/frames.js'
import type { ProduceRequest } from '../../../../codec/messages/generated/produce-request.js'

/**
 * A loopback endpoint that librdkafka takes for a one-broker cluster just long enough to send Produce requests
 * with acks=0 (which have no response), and that keeps the `records` bytes of every such request. It answers
 * ApiVersions and Metadata and nothing else: it stores nothing and serves no reads, so it stands in for a
 * broker only where the test's subject is the bytes the client writes.
 */
export interface ProduceCapture {
  port: number
  /** The records fields of every Produce request received, in arrival order. */
  records: Buffer[]
  close(): Promise<void>
}

const API_VERSIONS = 18
const METADATA = 3
const PRODUCE = 0

// What the endpoint advertises (ApiVersions keys and version ranges). librdkafka writes record batches v2 only to
// brokers with Produce >= 3 and Fetch >= 4, and zstd only with Produce >= 7 and Fetch >= 10 (its feature table,
// src/rdkafka_feature.c), and LZ4 only when FindCoordinator exists, so those are advertised though never served. Produce's minimum stays 0: some librdkafka
// versions turn compression off against a broker whose minimum is 3 (librdkafka issue 4956, see PROTOCOL.md).
const FETCH = 1
const FIND_COORDINATOR = 10
const SUPPORTED = [
  { apiKey: PRODUCE, minVersion: 0, maxVersion: 9 },
  { apiKey: FETCH, minVersion: 4, maxVersion: 12 },
  { apiKey: FIND_COORDINATOR, minVersion: 0, maxVersion: 2 },
  { apiKey: METADATA, minVersion: 1, maxVersion: 9 },
  { apiKey: API_VERSIONS, minVersion: 0, maxVersion: 3 },
]

export async function startProduceCapture(topic: string): Promise<ProduceCapture> {
  const records: Buffer[] = []
  const sockets = new Set<Socket>()
  let port = 0
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    const frames = new FrameDecoder()
    socket.on('data', (chunk) =>
      frames.push(chunk, (frame) => {
        const request = decodeRequest(frame, 4)
        const header = { correlationId: request.header.correlationId }
        if (request.apiKey === API_VERSIONS) {
          const version = Math.min(request.apiVersion, 3)
          const body = { errorCode: 0, apiKeys: SUPPORTED, throttleTimeMs: 0 }
          socket.write(encodeResponse(API_VERSIONS, version, header, body))
        } else if (request.apiKey === METADATA) {
          const body = {
            throttleTimeMs: 0,
            brokers: [{ nodeId: 0, host: '127.0.0.1', port, rack: null }],
            clusterId: 'capture',
            controllerId: 0,
            topics: [
              {
                errorCode: 0,
                name: topic,
                isInternal: false,
                partitions: [
                  { errorCode: 0, partitionIndex: 0, leaderId: 0, leaderEpoch: 0, replicaNodes: [0], isrNodes: [0] },
                ],
              },
            ],
          }
          socket.write(encodeResponse(METADATA, request.apiVersion, header, body))
        } else if (request.apiKey === PRODUCE) {
          const produce = request.body as ProduceRequest
          for (const t of produce.topicData)
            for (const p of t.partitionData) if (p.records) records.push(Buffer.from(p.records))
        } else {
          socket.destroy()
        }
      }),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as { port: number }).port
  return {
    port,
    records,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
