import net from 'node:net'
import { FrameDecoder } from '../../codec/frame-decoder.js'
import { decodeRequest, encodeResponse, type RequestMessage } from '../../codec/messages/frames.js'
import { API_DEFINITIONS, ApiKey } from '../../codec/messages/generated/apis.js'
import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import type { ProduceResponse } from '../../codec/messages/generated/produce-response.js'

/**
 * A stand-in Kafka broker for the upstream client's unit tests, speaking through the sidecar's codec: every request
 * is decoded and recorded, and answered by the test's handler. What a real broker cannot be made to do on cue
 * (answer NOT_LEADER_OR_FOLLOWER, throttle, go silent) is scripted here; real brokers are in the other tests.
 */

/** What a handler returns: a body (encoded at the request's version unless `version` says otherwise), or silence. */
export type Answer = { body: unknown; version?: number } | 'silence'

export type Handler = (req: RequestMessage, broker: ScriptedBroker) => Answer | undefined | Promise<Answer | undefined>

export interface ScriptedBroker {
  readonly nodeId: number
  readonly host: string
  readonly port: number
  readonly requests: RequestMessage[]
  /** Connections accepted so far. */
  accepted: number
  handler: Handler
  /** Ends every open connection (the broker process "dies" but keeps listening unless closed). */
  dropConnections(): void
  close(): Promise<void>
}

/** Every API the codec knows at every version it knows: what a broker of the codec's own version would offer. */
export function codecApiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return Object.values(API_DEFINITIONS)
    .filter((api) => api !== undefined)
    .map((api) => ({
      apiKey: api.apiKey,
      minVersion: api.request.minVersion,
      maxVersion: api.request.maxVersion,
    }))
}

export async function startScriptedBroker(nodeId: number, handler: Handler): Promise<ScriptedBroker> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const broker: ScriptedBroker = {
    nodeId,
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    requests: [],
    accepted: 0,
    handler,
    dropConnections: () => {
      for (const s of sockets) s.destroy()
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  server.on('connection', (socket) => {
    broker.accepted++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    const decoder = new FrameDecoder()
    // Answers go out in request order, as a broker's do, even when a handler takes time.
    let chain = Promise.resolve()
    socket.on('data', (chunk: Buffer) =>
      decoder.push(chunk, (frame) => {
        const req = decodeRequest(Buffer.from(frame), 4)
        broker.requests.push(req)
        chain = chain.then(async () => {
          const answer = (await broker.handler(req, broker)) ?? defaultAnswer(req, broker)
          if (answer === 'silence' || socket.destroyed) return
          const version = answer.version ?? req.apiVersion
          socket.write(encodeResponse(req.apiKey, version, { correlationId: req.header.correlationId }, answer.body))
        })
      }),
    )
  })
  return broker
}

/** ApiVersions with everything the codec knows; anything else unanswered (the handler must script it). */
export function defaultAnswer(req: RequestMessage, _broker: ScriptedBroker): Answer {
  if (req.apiKey === ApiKey.ApiVersions)
    return { body: { errorCode: 0, apiKeys: codecApiVersions(), throttleTimeMs: 0 } }
  return 'silence'
}

/** A Metadata answer naming these brokers and topics (partition -> leader). */
export function metadataAnswer(
  brokers: readonly { nodeId: number; host: string; port: number }[],
  topics: Record<string, { id: string; leaders: number[] }>,
  controllerId = brokers[0]?.nodeId ?? -1,
): Answer {
  const body: MetadataResponse = {
    throttleTimeMs: 0,
    brokers: brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: null })),
    clusterId: 'scripted',
    controllerId,
    topics: Object.entries(topics).map(([name, t]) => ({
      errorCode: 0,
      name,
      topicId: t.id,
      isInternal: false,
      partitions: t.leaders.map((leaderId, partitionIndex) => ({
        errorCode: 0,
        partitionIndex,
        leaderId,
        leaderEpoch: 0,
        replicaNodes: [leaderId],
        isrNodes: [leaderId],
        offlineReplicas: [],
      })),
      topicAuthorizedOperations: -2147483648,
    })),
  }
  return { body }
}

/**
 * A Produce answer: each partition gets the error `errorFor` names (default none) and, on success, the next offsets
 * of `logs` (partition key -> next offset, advanced by the batch's record count, read at byte 57 of the batch).
 */
export function produceAnswer(
  req: RequestMessage,
  logs: Map<string, bigint>,
  errorFor: (topic: string, partition: number) => number = () => 0,
): Answer {
  const body = req.body as ProduceRequest
  if (body.acks === 0) return 'silence'
  const res: ProduceResponse = {
    throttleTimeMs: 0,
    responses: body.topicData.map((t) => {
      const topic = t.name ?? t.topicId!
      return {
        ...(t.name !== undefined && { name: t.name }),
        ...(t.topicId !== undefined && { topicId: t.topicId }),
        partitionResponses: t.partitionData.map((p) => {
          const errorCode = errorFor(topic, p.index)
          const key = `${topic}:${p.index}`
          const base = logs.get(key) ?? 0n
          if (errorCode === 0) logs.set(key, base + BigInt(p.records!.readInt32BE(57)))
          return {
            index: p.index,
            errorCode,
            baseOffset: errorCode === 0 ? base : -1n,
            logAppendTimeMs: -1n,
            logStartOffset: 0n,
            recordErrors: [],
            errorMessage: null,
          }
        }),
      }
    }),
  }
  return { body: res }
}
