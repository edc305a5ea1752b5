import { randomUUID } from 'node:crypto'
import net from 'node:net'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SILENT_GRACE_MS } from '../../src/server/listener-slots.js'
import { createTopic, getCluster, runKcat, sharedClusters, uniqueTopicName, waitFor } from '../harness/index.js'
import { type ChildSidecar, metricValue, startChildSidecar } from '../support/child-sidecar.js'
import {
  announceAndSend,
  apiVersionsV0Request,
  churn,
  type HostileOutcome,
  idleSockets,
  requestStart,
  slowloris,
} from '../support/hostile-clients.js'
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

// Needs the 3-node cluster; runs whenever it is started (KAFKA_TEST_CLUSTERS=single leaves it out).
describe.skipIf(!sharedClusters().some((c) => c.name === 'triple'))(
  'hostile and broken clients do not disturb a working client',
  () => {
    // Looked up when the tests run, not when they are collected: a skipped describe is still collected.
    const cluster = {
      get description() {
        return getCluster('triple').description
      },
    }
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
  },
)

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

/*
 * Issue 15: each hostile pattern against a sidecar in a process of its own (so that its memory can be read from
 * /proc), while kcat produces through the same sidecar. Sizes are scaled down to run in seconds; each still
 * proves its bound, stated with the test. An idle sidecar takes about 75 MB.
 */
const MiB = 1024 * 1024

interface GoodClient {
  /** Values kcat reported delivered. */
  readonly sent: string[]
  /** Batches that failed, with what kcat said. */
  readonly failures: string[]
}

/** kcat produces batches of 100 records through `bootstrap` until `busy` settles (at least one batch). */
async function produceWhile(bootstrap: string, topic: string, busy: Promise<unknown>): Promise<GoodClient> {
  const sent: string[] = []
  const failures: string[] = []
  let done = false
  void busy.finally(() => {
    done = true
  })
  let batch = 0
  do {
    const values = Array.from({ length: 100 }, (_, i) => `${topic}-b${batch}-${i}`)
    const r = await runKcat(['-b', bootstrap, '-t', topic, '-P', '-X', 'client.id=good-client'], {
      input: `${values.join('\n')}\n`,
      timeoutMs: 30_000,
    })
    if (r.code === 0 && !/error|fail/i.test(r.stderr)) sent.push(...values)
    else failures.push(`batch ${batch}: exit ${r.code}: ${r.stderr.slice(0, 300)}`)
    batch++
  } while (!done)
  return { sent, failures }
}

/** Every value in `topic`, read through `bootstrap` from the beginning. */
async function consumeAll(bootstrap: string, topic: string): Promise<Set<string>> {
  const r = await runKcat(['-b', bootstrap, '-t', topic, '-C', '-o', 'beginning', '-e', '-q', '-f', '%s\n'], {
    timeoutMs: 60_000,
  })
  return new Set(r.stdout.split('\n').filter(Boolean))
}

describe('issue 15: hostile clients are refused or bounded while a good client produces', () => {
  const cluster = getCluster('single')
  let sc: ChildSidecar | undefined

  afterEach(async () => {
    await sc?.stop()
    sc = undefined
  })

  /**
   * Starts a sidecar, warms it with one good batch, then runs `hostile` while kcat produces, and checks that all
   * of the good client's records arrived. Returns the hostile outcome and the sidecar's idle RSS before it.
   */
  async function withGoodClient(
    config: Record<string, unknown>,
    hostile: (sidecar: ChildSidecar) => Promise<HostileOutcome>,
    goodStartsAfter: Promise<unknown> = Promise.resolve(),
  ): Promise<{ sidecar: ChildSidecar; outcome: HostileOutcome; idleRssMb: number }> {
    const topic = uniqueTopicName('hostile')
    await createTopic(cluster.description, topic, { partitions: 1, replicationFactor: 1 })
    sc = await startChildSidecar(cluster.bootstrapServers, config)
    const sidecar = sc
    const warm = await produceWhile(sidecar.bootstrap, topic, Promise.resolve())
    expect(warm.failures).toEqual([])
    const idleRssMb = sidecar.rssMb()
    const attack = hostile(sidecar)
    await goodStartsAfter
    const good = await produceWhile(sidecar.bootstrap, topic, attack)
    const outcome = await attack
    expect(good.failures).toEqual([])
    const seen = await consumeAll(sidecar.bootstrap, topic)
    const missing = [...warm.sent, ...good.sent].filter((v) => !seen.has(v))
    expect(missing).toEqual([])
    return { sidecar, outcome, idleRssMb }
  }

  it('10 connections announcing a 100 MiB ApiVersions v0 and sending 20 MiB each: closed at the header, memory bounded and back', async () => {
    const { sidecar, outcome, idleRssMb } = await withGoodClient({}, (s) =>
      announceAndSend({
        address: s.bootstrap,
        connections: 10,
        start: requestStart(100 * MiB),
        followBytes: 20 * MiB,
        holdMs: 5_000,
      }),
    )
    expect(outcome.closedBySidecar).toBe(10)
    // Buffered, the 200 MiB would be in the sidecar's RSS; refused at the header, a read buffer or two are.
    expect(sidecar.peakRssMb()).toBeLessThan(idleRssMb + 48)
    // And it is given back: within 30 MB of the idle figure within a minute.
    await waitFor('RSS back near its idle figure', () => sidecar.rssMb() < idleRssMb + 30, {
      timeoutMs: 60_000,
      intervalMs: 500,
    })
  })

  it('10 connections announcing exactly maxFrameBytes and sending 4 MB of garbage are closed, not held', async () => {
    const maxFrameBytes = 16 * MiB
    const prefix = Buffer.alloc(4)
    prefix.writeUInt32BE(maxFrameBytes)
    const { sidecar, outcome, idleRssMb } = await withGoodClient({ limits: { maxFrameBytes } }, (s) =>
      announceAndSend({ address: s.bootstrap, connections: 10, start: prefix, followBytes: 4e6, holdMs: 10_000 }),
    )
    expect(outcome.closedBySidecar).toBe(10)
    expect(Math.max(...outcome.closedAfterMs)).toBeLessThan(10_000)
    expect(sidecar.peakRssMb()).toBeLessThan(idleRssMb + 48)
  })

  it('a 2 GB size prefix followed by 10 MB is closed at once and its error counted once', async () => {
    const { sidecar, outcome } = await withGoodClient({}, (s) =>
      announceAndSend({
        address: s.bootstrap,
        connections: 1,
        start: Buffer.from([0x7f, 0xff, 0xff, 0xff]),
        followBytes: 10e6,
        holdMs: 5_000,
      }),
    )
    expect(outcome.closedBySidecar).toBe(1)
    const metrics = await sidecar.metrics()
    expect(metricValue(metrics, 'kafka_sidecar_errors_total', 'code="KSC_ERR_CODEC_FRAME_TOO_LARGE"')).toBe(1)
  })

  it('idle connections beyond limits.maxClientConnections are refused or make room; descriptors stay bounded', async () => {
    const max = 150
    let fdsWhileHeld = 0
    let opened!: () => void
    const allOpen = new Promise<void>((resolve) => {
      opened = resolve
    })
    const { sidecar, outcome } = await withGoodClient(
      { limits: { maxClientConnections: max } },
      async (s) =>
        idleSockets({
          address: s.bootstrap,
          connections: 3 * max,
          holdMs: 8_000,
          onOpen: () => {
            fdsWhileHeld = s.fds()
            opened()
          },
        }),
      // The good client comes once the silent connections may be closed to make room for it (after 2 s silent).
      allOpen.then(() => new Promise((resolve) => setTimeout(resolve, SILENT_GRACE_MS + 500))),
    )
    // Never more than `max` client connections (and their broker connections, and the sidecar's own ~30).
    expect(fdsWhileHeld).toBeLessThan(2 * max + 60)
    expect(outcome.closedBySidecar).toBeGreaterThanOrEqual(2 * max)
    const metrics = await sidecar.metrics()
    expect(metricValue(metrics, 'kafka_sidecar_connections_refused_total')).toBeGreaterThanOrEqual(2 * max)
  })

  it('connection churn (500/s for 3 s) is not logged line by line', async () => {
    const { sidecar, outcome } = await withGoodClient({}, (s) =>
      churn({ address: s.bootstrap, perSecond: 500, durationMs: 3_000 }),
    )
    expect(outcome.attempted).toBeGreaterThan(1000)
    const lines = sidecar.logLines()
    const connectionLines = lines.filter((l) => l.msg === 'connection opened' || l.msg === 'connection closed')
    // Two lines per connection would be over 2,000; rate-limited, a few hundred at most.
    expect(connectionLines.length).toBeLessThan(400)
  })

  it('a slowloris (40 connections, one byte of a valid request every 300 ms) is closed by the assembly limit', async () => {
    const { outcome } = await withGoodClient(
      { limits: { requestAssemblyTimeoutMs: 2_000, idleTimeoutMs: 120_000 } },
      (s) =>
        slowloris({
          address: s.bootstrap,
          connections: 40,
          request: apiVersionsV0Request(),
          intervalMs: 300,
          durationMs: 10_000,
        }),
    )
    // Each byte would reset an idle timer; only a limit on the time to assemble one request closes them.
    expect(outcome.closedBySidecar).toBe(40)
    expect(Math.max(...outcome.closedAfterMs)).toBeLessThan(10_000)
  })
})
