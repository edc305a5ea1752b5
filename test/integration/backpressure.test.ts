import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FrameDecoder } from '../../codec/frame-decoder.js'
import { decodeResponse, encodeRequest } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { ProduceResponse } from '../../codec/messages/generated/produce-response.js'
import { encodeRecordBatch } from '../../codec/records/index.js'
import type { ClientConnection } from '../../src/server/client-connection.js'
import { KafkaCluster, runKafkaTool, waitFor } from '../harness/index.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * A slow client or a slow broker makes the other side wait instead of growing the sidecar's memory.
 * A dedicated single-node cluster: the slow-broker case freezes its JVM (SIGSTOP).
 */

const MB = 1024 * 1024
/** What the sidecar may hold for one connection under backpressure: about one frame in flight each way plus socket slack. */
const BOUND = 8 * MB

function held(conn: ClientConnection): number {
  const b = conn.bufferedBytes()
  return b.toClient + b.toUpstream + b.incomplete + b.waiting
}

function connect(address: string): Promise<net.Socket> {
  const i = address.lastIndexOf(':')
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) }, () => resolve(s))
    s.once('error', reject)
  })
}

function fetchFrame(correlationId: number, topic: string): Buffer {
  return encodeRequest(
    { requestApiKey: ApiKey.Fetch, requestApiVersion: 11, correlationId, clientId: 'slow-client' },
    {
      replicaId: -1,
      maxWaitMs: 100,
      minBytes: 1,
      maxBytes: MB,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [
            { partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: MB },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    },
  )
}

describe('backpressure', () => {
  let cluster: KafkaCluster
  let sc: TestSidecar
  const topic = 'backpressure'

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 1, name: 'backpressure' })
    const d = cluster.describe()
    sc = await startTestSidecar(d.bootstrapServers, { log: { level: 'info' } })
    await runKafkaTool(d, 'topics', [
      '--bootstrap-server',
      d.bootstrapServers,
      '--create',
      '--topic',
      topic,
      '--partitions',
      '1',
      '--replication-factor',
      '1',
    ])
    // 30 MB of 1 KiB records to fetch.
    const filled = await runKafkaTool(
      d,
      'producer-perf-test',
      [
        '--topic',
        topic,
        '--num-records',
        '30000',
        '--record-size',
        '1024',
        '--throughput',
        '-1',
        '--producer-props',
        `bootstrap.servers=${d.bootstrapServers}`,
        'acks=1',
      ],
      { timeoutMs: 120_000 },
    )
    expect(filled.code, filled.stderr).toBe(0)
  }, 240_000)
  afterAll(async () => {
    await sc?.stop()
    await cluster?.stop()
  })

  it('a client that stops reading: the sidecar stops reading the broker, memory stays bounded, nothing is lost', async () => {
    const client = await connect(sc.bootstrap)
    client.pause() // never reads until we say so
    const requests = 30
    for (let i = 1; i <= requests; i++) client.write(fetchFrame(i, topic))
    const conn = await waitFor(
      'the connection',
      () => sc.sidecar.openConnections().find((c) => c.clientId === 'slow-client'),
      { timeoutMs: 10_000 },
    )
    // ~30 MB of responses are available; give the sidecar time to (not) buffer them.
    await new Promise((r) => setTimeout(r, 3000))
    const peak = held(conn)
    expect(peak).toBeLessThan(BOUND)

    // The client reads again: every response arrives, each about 1 MB.
    const decoder = new FrameDecoder()
    const sizes: number[] = []
    client.on('data', (chunk: Buffer) => decoder.push(chunk, (f) => sizes.push(f.length)))
    client.resume()
    await waitFor('all responses', () => sizes.length === requests, { timeoutMs: 60_000 })
    expect(Math.min(...sizes)).toBeGreaterThan(MB / 2)
    client.destroy()
  })

  it('a broker that stops reading (SIGSTOP): the sidecar stops reading the client, memory stays bounded, all produce succeed after', async () => {
    const pid = cluster.describe().nodes[0]!.pid!
    const client = await connect(sc.bootstrap)
    const decoder = new FrameDecoder()
    const responses: ProduceResponse[] = []
    client.on('data', (chunk: Buffer) =>
      decoder.push(chunk, (f) => responses.push(decodeResponse(f, ApiKey.Produce, 7, 4).body as ProduceResponse)),
    )
    // About 800 KB: under the broker's default max.message.bytes (1 MB).
    const batch = encodeRecordBatch(Array.from({ length: 400 }, (_, i) => ({ value: Buffer.alloc(2048, i % 251) })))
    const produce = (id: number) =>
      encodeRequest(
        { requestApiKey: ApiKey.Produce, requestApiVersion: 7, correlationId: id, clientId: 'slow-broker' },
        {
          transactionalId: null,
          acks: 1,
          timeoutMs: 60_000,
          topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
        },
      )
    client.write(produce(1))
    await waitFor('first produce answered', () => responses.length === 1, { timeoutMs: 30_000 })
    const conn = sc.sidecar.openConnections().find((c) => c.clientId === 'slow-broker')!

    process.kill(pid, 'SIGSTOP')
    try {
      const requests = 40 // about 40 MB while the broker reads nothing
      for (let i = 2; i <= requests + 1; i++) client.write(produce(i))
      await waitFor('the sidecar pauses the client', () => conn.pausedFor.includes('upstream-backpressure'), {
        timeoutMs: 20_000,
      })
      await new Promise((r) => setTimeout(r, 2000))
      expect(held(conn)).toBeLessThan(BOUND)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    await waitFor('every produce answered', () => responses.length === 41, { timeoutMs: 120_000 })
    for (const r of responses) expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(0)
    client.destroy()
  })
})
