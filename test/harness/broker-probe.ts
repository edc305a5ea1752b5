import { connect } from 'node:net'

export interface ProbedBroker {
  nodeId: number
  host: string
  port: number
}

export interface MetadataProbe {
  brokers: ProbedBroker[]
  controllerId: number
}

/**
 * Asks one broker for cluster metadata over a fresh TCP connection and returns the brokers it lists.
 * Readiness means "this broker answers Kafka requests and knows its peers", which is exactly what a
 * Metadata response proves (KRaft lists only registered, unfenced brokers). Hand-rolled on purpose:
 * the harness must not depend on the codec under test, and a client library's retries and reconnect
 * logic would blur which broker answered.
 *
 * Metadata v1 (valid on every Kafka from 0.10 through 4.x):
 *   Request:  Size i32, ApiKey i16 = 3, ApiVersion i16 = 1, CorrelationId i32, ClientId string, Topics [] (empty: none)
 *   Response: Size i32, CorrelationId i32,
 *             Brokers [NodeId i32, Host string, Port i32, Rack nullable string], ControllerId i32, Topics [...]
 */
export function probeMetadata(host: string, port: number, timeoutMs = 2000): Promise<MetadataProbe> {
  const clientId = Buffer.from('ksc-harness-probe')
  const request = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length + 4)
  let at = request.writeInt32BE(request.length - 4, 0)
  at = request.writeInt16BE(3, at)
  at = request.writeInt16BE(1, at)
  at = request.writeInt32BE(0x6b7363, at)
  at = request.writeInt16BE(clientId.length, at)
  at += clientId.copy(request, at)
  request.writeInt32BE(0, at)

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
  const readString = (): string | null => {
    const length = body.readInt16BE(at)
    at += 2
    if (length < 0) return null
    const value = body.toString('utf8', at, at + length)
    at += length
    return value
  }
  const count = body.readInt32BE(at)
  at += 4
  const brokers: ProbedBroker[] = []
  for (let i = 0; i < count; i++) {
    const nodeId = body.readInt32BE(at)
    at += 4
    const host = readString() ?? ''
    const port = body.readInt32BE(at)
    at += 4
    readString() // rack
    brokers.push({ nodeId, host, port })
  }
  const controllerId = body.readInt32BE(at)
  return { brokers, controllerId }
}
