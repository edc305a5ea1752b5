import { randomUUID } from 'node:crypto'
import net from 'node:net'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getCluster, runKcat } from '../harness/index.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/** Opens a raw connection to the sidecar, sends `bytes`, and resolves when the sidecar closes it. */
function sendAndAwaitClose(address: string, bytes: Buffer, keepOpenMs = 0): Promise<{ closedAfterMs: number }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))]
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const socket = net.connect({ host, port }, () => {
      if (bytes.length > 0) socket.write(bytes)
      if (keepOpenMs > 0) setTimeout(() => socket.end(), keepOpenMs)
    })
    socket.on('data', () => {})
    socket.on('error', () => {})
    socket.on('close', () => resolve({ closedAfterMs: Date.now() - started }))
    setTimeout(() => reject(new Error('the sidecar kept the hostile connection open')), 20_000).unref()
  })
}

describe('hostile and broken clients do not disturb a working client', () => {
  const cluster = getCluster('triple')
  let sc: TestSidecar

  beforeAll(async () => {
    sc = await startTestSidecar(cluster.description.bootstrapServers, {
      limits: { idleTimeoutMs: 3000, maxFrameBytes: 1024 * 1024 },
    })
  })
  afterAll(async () => {
    await sc?.stop()
  })

  it('garbage, a truncated frame, an oversized length prefix and a silent client, while kafkajs works', async () => {
    const kafka = new Kafka({ clientId: 'well-behaved', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const topic = `hostile-${randomUUID()}`
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true })
    await admin.disconnect()
    const producer = kafka.producer()
    await producer.connect()

    let sent = 0
    let stop = false
    const working = (async () => {
      while (!stop) {
        await producer.send({ topic, acks: -1, messages: [{ value: `m-${sent}` }] })
        sent++
      }
    })()

    const garbageFrame = Buffer.concat([Buffer.from([0, 0, 0, 12]), Buffer.from('not kafka at all')])
    const unknownApi = Buffer.from([0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0, 0])
    const truncated = Buffer.from([0, 0, 0, 100, 0, 3, 0, 1]) // promises 100 bytes, sends 4, then closes
    const oversized = Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 3])
    const negative = Buffer.from([0xff, 0xff, 0xff, 0xf0])
    const results = await Promise.all([
      sendAndAwaitClose(sc.bootstrap, garbageFrame),
      sendAndAwaitClose(sc.bootstrap, unknownApi),
      sendAndAwaitClose(sc.bootstrap, truncated, 200),
      sendAndAwaitClose(sc.bootstrap, oversized),
      sendAndAwaitClose(sc.bootstrap, negative),
      sendAndAwaitClose(sc.bootstrap, Buffer.alloc(0)), // opens and never sends: closed by the idle timeout
    ])
    stop = true
    await working
    await producer.disconnect()

    // The oversized and negative prefixes are refused at once, before any frame is buffered.
    expect(results[3]!.closedAfterMs).toBeLessThan(2000)
    expect(results[4]!.closedAfterMs).toBeLessThan(2000)
    // The silent client is closed by the idle timeout (3 s), not before.
    expect(results[5]!.closedAfterMs).toBeGreaterThanOrEqual(2900)

    // The well-behaved client kept producing throughout and every acknowledged message is there.
    expect(sent).toBeGreaterThan(5)
    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}` })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const seen = new Set<string>()
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${seen.size} of ${sent}`)), 60_000)
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.add(message.value!.toString())
          if (seen.size === sent) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
    })
    await consumer.disconnect()
    expect(seen.size).toBe(sent)

    // Each failure was logged with a stable code.
    const codes = new Set(sc.logs.map((l) => l.code).filter(Boolean))
    expect(codes).toContain('KSC_ERR_CODEC_FRAME_TOO_LARGE')
    expect(codes).toContain('KSC_ERR_CODEC_UNKNOWN_API_KEY')
  })
})

describe('a TLS client on the plaintext listener', () => {
  const cluster = getCluster('single')
  let sc: TestSidecar
  beforeAll(async () => {
    sc = await startTestSidecar(cluster.description.bootstrapServers)
  })
  afterAll(async () => {
    await sc?.stop()
  })

  it('is told apart from garbage, closed at once, and logged with its own code', async () => {
    const started = Date.now()
    const result = await runKcat([
      '-b',
      sc.bootstrap,
      '-X',
      'security.protocol=SSL',
      '-X',
      'enable.ssl.certificate.verification=false',
      '-L',
      '-m',
      '3',
    ])
    expect(result.code).not.toBe(0)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(sc.logs.some((l) => l.code === 'KSC_ERR_TLS_ON_PLAINTEXT')).toBe(true)
  })
})
