import { connect } from 'node:net'

export interface ProbedBroker {
  nodeId: number
  host: string
  port: number
}

export interface ProbedPartition {
  partition: number
  errorCode: number
  /** -1 while the partition has no leader. */
  leader: number
}

export interface ProbedTopic {
  name: string
  errorCode: number
  partitions: ProbedPartition[]
}

export interface MetadataProbe {
  brokers: ProbedBroker[]
  controllerId: number
  /** The requested topics as this broker sees them (none unless asked for). */
  topics: ProbedTopic[]
}

/**
 * Asks one broker for cluster metadata over a fresh TCP connection and returns the brokers it lists.
 * Readiness means "this broker answers Kafka requests and knows its peers", which is exactly what a
 * Metadata response proves (KRaft lists only registered, unfenced brokers). Hand-rolled on purpose:
 * the harness must not depend on the codec under test, and a client library's retries and reconnect
 * logic would blur which broker answered.
 *
 * Metadata v1 (valid on every Kafka from 0.10 through 4.x; v1 never auto-creates topics):
 *   Request:  Size i32, ApiKey i16 = 3, ApiVersion i16 = 1, CorrelationId i32, ClientId string,
 *             Topics [Name string] (empty array: no topics)
 *   Response: Size i32, CorrelationId i32,
 *             Brokers [NodeId i32, Host string, Port i32, Rack nullable string], ControllerId i32,
 *             Topics [ErrorCode i16, Name string, IsInternal i8,
 *                     Partitions [ErrorCode i16, PartitionIndex i32, LeaderId i32, Replicas [i32], Isr [i32]]]
 */
export function probeMetadata(
  host: string,
  port: number,
  options: { topics?: readonly string[]; timeoutMs?: number } = {},
): Promise<MetadataProbe> {
  const timeoutMs = options.timeoutMs ?? 2000
  const clientId = Buffer.from('ksc-harness-probe')
  const topics = (options.topics ?? []).map((topic) => Buffer.from(topic))
  const topicsLength = topics.reduce((sum, topic) => sum + 2 + topic.length, 0)
  const request = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length + 4 + topicsLength)
  let at = request.writeInt32BE(request.length - 4, 0)
  at = request.writeInt16BE(3, at)
  at = request.writeInt16BE(1, at)
  at = request.writeInt32BE(0x6b7363, at)
  at = request.writeInt16BE(clientId.length, at)
  at += clientId.copy(request, at)
  at = request.writeInt32BE(topics.length, at)
  for (const topic of topics) {
    at = request.writeInt16BE(topic.length, at)
    at += topic.copy(request, at)
  }

  return new Promise((resolve, reject) => {
    const socket = connect({ host, port })
    const chunks: Buffer[] = []
    let received = 0
    const fail = (err: Error): void => {
      socket.destroy()
      reject(err)
    }
    socket.setTimeout(timeoutMs, () =>
      fail(new Error(`no Metadata response from ${host}:${port} within ${timeoutMs} ms`)),
    )
    socket.once('error', fail)
    socket.once('connect', () => socket.write(request))
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      received += chunk.length
      if (received < 4) return
      const data = Buffer.concat(chunks)
      const size = data.readInt32BE(0)
      if (data.length < 4 + size) return
      socket.destroy()
      try {
        resolve(parseMetadataV1(data.subarray(4, 4 + size)))
      } catch (err) {
        reject(err)
      }
    })
    socket.once('end', () => fail(new Error(`${host}:${port} closed the connection before answering Metadata`)))
  })
}

function parseMetadataV1(body: Buffer): MetadataProbe {
  let at = 4 // correlation id
  const int16 = (): number => {
    const value = body.readInt16BE(at)
    at += 2
    return value
  }
  const int32 = (): number => {
    const value = body.readInt32BE(at)
    at += 4
    return value
  }
  const string = (): string | null => {
    const length = int16()
    if (length < 0) return null
    const value = body.toString('utf8', at, at + length)
    at += length
    return value
  }
  const brokers: ProbedBroker[] = []
  for (let count = int32(); count > 0; count--) {
    const nodeId = int32()
    const host = string() ?? ''
    const port = int32()
    string() // rack
    brokers.push({ nodeId, host, port })
  }
  const controllerId = int32()
  const topics: ProbedTopic[] = []
  for (let count = int32(); count > 0; count--) {
    const errorCode = int16()
    const name = string() ?? ''
    at += 1 // is_internal
    const partitions: ProbedPartition[] = []
    for (let partitionCount = int32(); partitionCount > 0; partitionCount--) {
      const partitionError = int16()
      const partition = int32()
      const leader = int32()
      const replicas = int32()
      at += 4 * replicas
      const isr = int32()
      at += 4 * isr
      partitions.push({ partition, errorCode: partitionError, leader })
    }
    topics.push({ name, errorCode, partitions })
  }
  return { brokers, controllerId, topics }
}
