import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClientSnapshot } from '../../src/stats/snapshot.js'
import { createTopic, getCluster, runKafkaTool, runKcat, uniqueTopicName, waitFor } from '../harness/index.js'
import { runCreateTopicsLoop } from '../support/create-topics-loop.js'
import { metricValue } from '../support/prometheus-text.js'
import { type StatsSidecar, startStatsSidecar } from '../support/stats-sidecar.js'

/**
 * The rate-limit filter through a sidecar in front of the shared 1-node cluster, judged by clients nobody here
 * wrote: Kafka's Java perf producer and consumer, kafkajs and kcat held to 1 MiB/s within 10%, with no client
 * error and no connection lost; one budget per client id across connections and processes; requests/s and
 * connection limits; the controller mutation quota with Kafka's Java admin client.
 *
 * Each client's rate is judged over a 30 s window (the issue's), in which a 0.2 s burst and frame overhead of 1-2%
 * stay well inside 10%; the budget-sharing test uses 12 s, enough to tell one budget from two. Rates are what the clients
 * themselves report or what they moved over wall time, start-up included (the Java perf producer: the full
 * 2 s intervals it reports between its first, which holds the JVM's start, and its last).
 */

const MiB = 1_048_576
const LIMIT = MiB
const RECORD = 1024
/** The window each client is held over. */
const SECONDS = 30
const RECORDS = (SECONDS * LIMIT) / RECORD
/** Two processes of one client id against one of another: long enough to tell one budget from two. */
const SHARED_SECONDS = 12
const SHARED_RECORDS = (SHARED_SECONDS * LIMIT) / RECORD
/** A 30 s window plus a JVM's start on two shared cores. */
const CLIENT_TIMEOUT_MS = 150_000
const TEST_TIMEOUT_MS = 240_000

const PRODUCERS = '^(perf-producer|kafkajs-producer|kcat-producer|shared-kcat|other-kcat)$'

function rateLimit(rules: unknown[]): Record<string, unknown> {
  return { filters: [{ name: 'rate-limit', config: { rules, maxThrottleMs: 5000 } }] }
}

/**
 * kafka-producer-perf-test's own rate in steady state: the records its callbacks saw completed in each reporting
 * interval ("N records sent, R records/sec ..."), over the full intervals between the first (the JVM starting, its
 * first metadata) and the last (cut short). Records per second.
 */
function producerPerfSteady(stdout: string): { intervals: number; recordsPerSec: number } {
  const lines = [...stdout.matchAll(/^(\d+) records sent, ([\d.]+) records\/sec .* max latency\.$/gm)]
  const middle = lines.slice(1, -1)
  if (middle.length < 3) throw new Error(`too few producer-perf-test intervals in:\n${stdout.slice(-2000)}`)
  let records = 0
  let seconds = 0
  for (const m of middle) {
    records += Number(m[1])
    seconds += Number(m[1]) / Number(m[2])
  }
  return { intervals: middle.length, recordsPerSec: records / seconds }
}

/** The records kafka-producer-perf-test sent in all (its final summary line). */
function producerPerfTotal(stdout: string): number {
  const m = /^(\d+) records sent, [\d.]+ records\/sec .* 99\.9th\.$/m.exec(stdout)
  if (!m) throw new Error(`no producer-perf-test summary in:\n${stdout.slice(-2000)}`)
  return Number(m[1])
}

/** A client metric printed by the Java tools' --print-metrics, e.g. producer-metrics:produce-throttle-time-avg. */
function javaMetric(stdout: string, name: string, clientId: string): number {
  const m = new RegExp(
    `${name.replace(/[-:]/g, (c) => `\\${c}`)}:\\{client-id=${clientId}[^}]*\\}\\s*:\\s*([\\d.]+)`,
  ).exec(stdout)
  if (!m) throw new Error(`no ${name} for ${clientId} in the printed metrics`)
  return Number(m[1])
}

describe('rate-limit through the sidecar (1-node cluster)', () => {
  const cluster = getCluster('single')
  const jars = cluster.description
  let sc: StatsSidecar

  beforeAll(async () => {
    sc = await startStatsSidecar(
      cluster.bootstrapServers,
      {},
      rateLimit([
        { match: { clientId: { regex: PRODUCERS } }, burstSeconds: 0.2, limits: { produceBytesPerSecond: LIMIT } },
        { match: { clientId: 'perf-consumer' }, burstSeconds: 0.2, limits: { fetchBytesPerSecond: LIMIT } },
        { match: { clientId: 'chatty' }, burstSeconds: 0.25, limits: { requestsPerSecond: 20 } },
        { match: { clientId: 'conn-capped' }, limits: { maxConnections: 2 } },
        { match: { clientId: 'topic-creator' }, burstSeconds: 1, limits: { controllerMutationsPerSecond: 2 } },
      ]),
    )
  })
  afterAll(async () => {
    await sc?.stop()
  })

  async function client(clientId: string): Promise<ClientSnapshot> {
    const c = (await sc.stats()).clients.find((x) => x.clientId === clientId)
    if (c === undefined) throw new Error(`no statistics for client ${clientId}`)
    return c
  }

  /** No connection of the client was lost or refused: it opened at most `max` and the sidecar failed none. */
  async function expectNoDisconnects(clientId: string, max: number): Promise<ClientSnapshot> {
    const c = await client(clientId)
    expect(c.connections.total, JSON.stringify(c.connections)).toBeLessThanOrEqual(max)
    expect(c.sidecarErrors).toEqual({})
    return c
  }

  it(
    "Kafka's Java perf producer is held to 1 MiB/s, backs off by itself (throttle_time_ms), loses nothing",
    async () => {
      const topic = uniqueTopicName('rl-perf')
      await createTopic(cluster.description, topic, { partitions: 1 })
      const run = await runKafkaTool(
        jars,
        'producer-perf-test',
        [
          '--topic',
          topic,
          '--num-records',
          String(RECORDS),
          '--record-size',
          String(RECORD),
          '--throughput',
          '-1',
          '--reporting-interval',
          '2000',
          '--print-metrics',
          '--producer-props',
          `bootstrap.servers=${sc.bootstrap}`,
          'client.id=perf-producer',
          'acks=1',
        ],
        { timeoutMs: CLIENT_TIMEOUT_MS },
      )
      expect(run.code, run.stderr).toBe(0)
      expect(run.stderr).not.toMatch(/Exception|ERROR/)
      expect(producerPerfTotal(run.stdout)).toBe(RECORDS)
      const perf = producerPerfSteady(run.stdout)
      const ratio = (perf.recordsPerSec * RECORD) / LIMIT
      console.info(`rate-limit: Java perf producer ${(ratio * 100).toFixed(1)}% of 1 MiB/s`)
      expect(ratio).toBeGreaterThan(0.9)
      expect(ratio).toBeLessThan(1.1)
      // The Java client saw throttle_time_ms and waited by itself (KIP-219).
      expect(javaMetric(run.stdout, 'producer-metrics:produce-throttle-time-avg', 'perf-producer')).toBeGreaterThan(0)
      const c = await expectNoDisconnects('perf-producer', 2)
      expect(c.sidecarThrottleMs).toBeGreaterThan(5000)
      expect(c.apis.Produce?.throttleMs).toBeGreaterThan(0)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'kafkajs is held to 1 MiB/s with zero errors (retries off) and no connection lost',
    async () => {
      const topic = uniqueTopicName('rl-kafkajs')
      await createTopic(cluster.description, topic, { partitions: 1 })
      const kafka = new Kafka({ clientId: 'kafkajs-producer', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
      const producer = kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false })
      await producer.connect()
      const value = Buffer.alloc(RECORD, 'k')
      const messages = Array.from({ length: 16 }, () => ({ value }))
      let sent = 0
      const started = performance.now()
      try {
        while (sent < RECORDS) {
          await producer.send({ topic, acks: 1, messages })
          sent += messages.length
        }
      } finally {
        await producer.disconnect()
      }
      const seconds = (performance.now() - started) / 1000
      const ratio = (sent * RECORD) / seconds / LIMIT
      console.info(`rate-limit: kafkajs ${(ratio * 100).toFixed(1)}% of 1 MiB/s`)
      expect(ratio).toBeGreaterThan(0.9)
      expect(ratio).toBeLessThan(1.1)
      const c = await expectNoDisconnects('kafkajs-producer', 2)
      expect(c.sidecarThrottleMs).toBeGreaterThan(5000)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    'kcat (librdkafka, which only reports throttle times) is held to 1 MiB/s by muting alone',
    async () => {
      const topic = uniqueTopicName('rl-kcat')
      await createTopic(cluster.description, topic, { partitions: 1 })
      const input = `${'c'.repeat(RECORD - 1)}\n`.repeat(RECORDS)
      const started = performance.now()
      const run = await runKcat(
        ['-P', '-b', sc.bootstrap, '-t', topic, '-X', 'client.id=kcat-producer', '-X', 'linger.ms=5'],
        { input, timeoutMs: CLIENT_TIMEOUT_MS },
      )
      const seconds = (performance.now() - started) / 1000
      expect(run.code, run.stderr).toBe(0)
      expect(run.stderr).not.toMatch(/ERROR|fail/i)
      const ratio = input.length / seconds / LIMIT
      console.info(`rate-limit: kcat ${(ratio * 100).toFixed(1)}% of 1 MiB/s`)
      expect(ratio).toBeGreaterThan(0.9)
      expect(ratio).toBeLessThan(1.1)
      await expectNoDisconnects('kcat-producer', 2)
    },
    TEST_TIMEOUT_MS,
  )

  it(
    "a Java consumer's fetch rate is held to 1 MiB/s: Fetches capped to the budget, never an error",
    async () => {
      const topic = uniqueTopicName('rl-fetch')
      await createTopic(cluster.description, topic, { partitions: 1 })
      // Filled directly, not through the sidecar: 14 MiB, more than each consumer reads.
      const fill = await runKafkaTool(
        jars,
        'producer-perf-test',
        [
          '--topic',
          topic,
          '--num-records',
          String(RECORDS + 2048),
          '--record-size',
          String(RECORD),
          '--throughput',
          '-1',
          '--producer-props',
          `bootstrap.servers=${cluster.bootstrapServers}`,
          'acks=1',
        ],
        { timeoutMs: CLIENT_TIMEOUT_MS },
      )
      expect(fill.code, fill.stderr).toBe(0)
      const consume = async (through: StatsSidecar) => {
        const run = await runKafkaTool(
          jars,
          'consumer-perf-test',
          [
            '--bootstrap-server',
            through.bootstrap,
            '--topic',
            topic,
            '--messages',
            String(RECORDS),
            '--group',
            uniqueTopicName('rl-group'),
            '--command-property',
            'client.id=perf-consumer',
            '--timeout',
            '60000',
            '--print-metrics',
            '--hide-header',
          ],
          { timeoutMs: CLIENT_TIMEOUT_MS },
        )
        expect(run.code, run.stderr).toBe(0)
        expect(run.stderr).not.toMatch(/Exception|ERROR/)
        // start, end, MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
        const line = run.stdout.split('\n').find((l) => /^\d{4}-\d\d-\d\d /.test(l))
        const fields = line?.split(',').map((f) => Number(f.trim()))
        expect(fields?.[4]).toBeGreaterThanOrEqual(RECORDS)
        const metrics = await through.metrics()
        expect(
          metricValue(metrics, 'kafka_sidecar_filter_rate_limit_fetch_max_bytes_lowered_total', {
            client_id: 'perf-consumer',
            principal: '',
          }),
        ).toBeGreaterThan(0)
        const c = (await through.stats()).clients.find((x) => x.clientId === 'perf-consumer')
        expect(c?.sidecarErrors).toEqual({})
        expect(c?.apis.Fetch?.sidecarThrottleMs).toBeGreaterThan(0)
        return {
          mibPerSec: fields![8]!,
          clientThrottleMs: javaMetric(
            run.stdout,
            'consumer-fetch-manager-metrics:fetch-throttle-time-avg',
            'perf-consumer',
          ),
        }
      }
      // By default Fetch responses stream through and the consumer is held back by not reading it.
      const streamed = await consume(sc)
      // With throttleTimeInFetchResponses, a response that overdraws the budget also tells the consumer to wait.
      const told = await startStatsSidecar(
        cluster.bootstrapServers,
        {},
        {
          filters: [
            {
              name: 'rate-limit',
              config: {
                rules: [
                  { match: { clientId: 'perf-consumer' }, burstSeconds: 0.2, limits: { fetchBytesPerSecond: LIMIT } },
                ],
                throttleTimeInFetchResponses: true,
              },
            },
          ],
        },
      )
      let reported: Awaited<ReturnType<typeof consume>>
      try {
        reported = await consume(told)
      } finally {
        await told.stop()
      }
      console.info(
        `rate-limit: Java consumer ${(streamed.mibPerSec * 100).toFixed(1)}% of 1 MiB/s (streamed), ` +
          `${(reported.mibPerSec * 100).toFixed(1)}% (throttle time in Fetch responses, client-side average ${reported.clientThrottleMs.toFixed(0)} ms)`,
      )
      for (const r of [streamed, reported]) {
        expect(r.mibPerSec).toBeGreaterThan(0.9)
        expect(r.mibPerSec).toBeLessThan(1.1)
      }
      expect(reported.clientThrottleMs).toBeGreaterThan(0)
    },
    TEST_TIMEOUT_MS,
  )

  it('two processes of one client id share one budget; another client id at the same time has its own', async () => {
    const topic = uniqueTopicName('rl-shared')
    await createTopic(cluster.description, topic, { partitions: 2 })
    const half = `${'s'.repeat(RECORD - 1)}\n`.repeat(SHARED_RECORDS / 2)
    const whole = `${'o'.repeat(RECORD - 1)}\n`.repeat(SHARED_RECORDS)
    const kcat = (clientId: string, input: string) => {
      const started = performance.now()
      return runKcat(['-P', '-b', sc.bootstrap, '-t', topic, '-X', `client.id=${clientId}`, '-X', 'linger.ms=5'], {
        input,
        timeoutMs: 90_000,
      }).then((r) => ({ ...r, seconds: (performance.now() - started) / 1000 }))
    }
    const [a, b, other] = await Promise.all([
      kcat('shared-kcat', half),
      kcat('shared-kcat', half),
      kcat('other-kcat', whole),
    ])
    for (const r of [a, b, other]) expect(r.code, r.stderr).toBe(0)
    // The two share 1 MiB/s: 12 MiB in about 12 s, both together.
    const shared = (2 * half.length) / Math.max(a.seconds, b.seconds) / LIMIT
    const alone = whole.length / other.seconds / LIMIT
    console.info(
      `rate-limit: shared client id ${(shared * 100).toFixed(1)}%, other client id ${(alone * 100).toFixed(1)}% of 1 MiB/s`,
    )
    expect(shared).toBeGreaterThan(0.9)
    expect(shared).toBeLessThan(1.1)
    expect(alone).toBeGreaterThan(0.9)
    expect(alone).toBeLessThan(1.1)
    expect((await client('shared-kcat')).connections.total).toBeGreaterThanOrEqual(2)
  })

  it('requests/s: kafkajs sending one record per request is held to 20 requests/s', async () => {
    const topic = uniqueTopicName('rl-requests')
    await createTopic(cluster.description, topic, { partitions: 1 })
    const kafka = new Kafka({ clientId: 'chatty', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const producer = kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false })
    await producer.connect()
    const requests = 100
    const started = performance.now()
    try {
      for (let i = 0; i < requests; i++) await producer.send({ topic, acks: 1, messages: [{ value: `r${i}` }] })
    } finally {
      await producer.disconnect()
    }
    const perSecond = requests / ((performance.now() - started) / 1000)
    console.info(`rate-limit: ${perSecond.toFixed(1)} requests/s against 20/s`)
    expect(perSecond).toBeGreaterThan(20 * 0.85)
    expect(perSecond).toBeLessThan(20 * 1.15)
    const metrics = await sc.metrics()
    expect(
      metricValue(metrics, 'kafka_sidecar_filter_rate_limit_throttled_requests_total', {
        client_id: 'chatty',
        principal: '',
        limit: 'requests',
      }),
    ).toBeGreaterThan(50)
  })

  it('maxConnections: a second producer of a capped client id is refused until the first closes its connections', async () => {
    const topic = uniqueTopicName('rl-conns')
    await createTopic(cluster.description, topic, { partitions: 1 })
    const producer = () =>
      new Kafka({
        clientId: 'conn-capped',
        brokers: [sc.bootstrap],
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
      }).producer({
        retry: { retries: 0 },
        allowAutoTopicCreation: false,
      })
    // kafkajs uses two connections: the bootstrap listener, and the broker's own once it produces.
    const first = producer()
    await first.connect()
    await first.send({ topic, messages: [{ value: 'first' }] })
    const second = producer()
    await expect(second.connect()).rejects.toThrow()
    // The admitted producer is not disturbed.
    await first.send({ topic, messages: [{ value: 'first again' }] })
    await first.disconnect()
    await waitFor('the first producer to be gone', async () => (await client('conn-capped')).connections.open === 0, {
      timeoutMs: 10_000,
    })
    await second.connect()
    await second.send({ topic, messages: [{ value: 'second' }] })
    await second.disconnect()
    const metrics = await sc.metrics()
    expect(
      metricValue(metrics, 'kafka_sidecar_filter_rate_limit_connections_refused_total', {
        client_id: 'conn-capped',
        principal: '',
        reason: 'maxConnections',
      }),
    ).toBeGreaterThanOrEqual(1)
  })

  it("controller mutations: Kafka's Java admin client creating topics in a loop is paced, every topic created", async () => {
    const prefix = uniqueTopicName('rl-created')
    // 12 topics of one partition at 2 mutations/s with a 2-mutation burst: at least 5 s; two topics per call, so
    // calls are partly refused (THROTTLING_QUOTA_EXCEEDED for one topic) and the admin client retries that topic.
    const result = await runCreateTopicsLoop(jars, sc.bootstrap, {
      prefix,
      topics: 12,
      partitions: 1,
      perCall: 2,
      clientId: 'topic-creator',
    })
    console.info(`rate-limit: 12 topics created in ${result.elapsedMs} ms at 2 mutations/s`)
    expect(result.created).toBe(12)
    expect(result.stderr).not.toMatch(/Exception/)
    expect(result.elapsedMs).toBeGreaterThan(4500)
    expect(result.elapsedMs).toBeLessThan(8000)
    const metrics = await sc.metrics()
    expect(
      metricValue(metrics, 'kafka_sidecar_filter_rate_limit_controller_mutations_rejected_total', {
        client_id: 'topic-creator',
        principal: '',
      }),
    ).toBeGreaterThan(0)
    const listed = await runKafkaTool(jars, 'topics', ['--bootstrap-server', cluster.bootstrapServers, '--list'])
    const names = listed.stdout.split('\n').filter((t) => t.startsWith(prefix))
    expect(names).toHaveLength(12)
  })
})
