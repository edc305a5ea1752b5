import { Kafka, logLevel, type Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TAP_HEADERS } from '../../filters/tap/decorate.js'
import {
  createTopic,
  getCluster,
  KafkaCluster,
  runKafkaTool,
  runKcat,
  uniqueTopicName,
  waitFor,
} from '../harness/index.js'
import { type StatsSidecar, startStatsSidecar } from '../support/stats-sidecar.js'
import { type KcatRecord, kcatRead } from '../upstream-client/support.js'

/**
 * The tap filter in front of real brokers, judged by clients nobody here wrote (Kafka's Java producer, consumer and
 * perf tool, kafkajs, kcat reading the tap topics): records a client produces or fetches appear in the tap topic
 * with their key, value, headers, timestamp and the tap's headers (offsets included); sampling; a tap cluster that
 * dies and comes back costs the clients nothing; taps switched on and off through the admin endpoint under load.
 */

interface TapCountsView {
  records: { tapped: number; dropped: number; failed: number }
}
interface TapStatus {
  taps: { name: string; counts: TapCountsView }[]
  queue: { bytes: number; records: number }
  destinations: { name: string; delivering: boolean; lastError?: string }[]
}

const status = async (sc: StatsSidecar): Promise<TapStatus> =>
  (await (await fetch(`${sc.adminUrl}/filters/tap`)).json()) as TapStatus

/** The flat kcat header list as a map (the last value of a name wins, as Kafka's Headers.lastHeader). */
const headersOf = (r: KcatRecord): Record<string, string | null> => {
  const out: Record<string, string | null> = {}
  const h = r.headers ?? []
  for (let i = 0; i + 1 < h.length; i += 2) out[h[i]!] = h[i + 1]!
  return out
}

async function countDirect(bootstrap: string, topic: string): Promise<number> {
  const admin = new Kafka({ brokers: bootstrap.split(','), logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const offsets = await admin.fetchTopicOffsets(topic)
    return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0)
  } finally {
    await admin.disconnect()
  }
}

async function readUntil(bootstrap: string, topic: string, n: number): Promise<KcatRecord[]> {
  let records: KcatRecord[] = []
  await waitFor(
    `${n} records in ${topic}`,
    async () => {
      if ((await countDirect(bootstrap, topic)) < n) return false
      records = await kcatRead(bootstrap, topic)
      return records.length >= n
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  )
  return records
}

describe('tap through the sidecar (1-node cluster)', () => {
  const cluster = getCluster('single')
  const readerProperty = Number.parseInt(cluster.version, 10) >= 4 ? '--reader-property' : '--property'
  const produced = uniqueTopicName('tap-src-produce')
  const fetched = uniqueTopicName('tap-src-fetch')
  const sampledSrc = uniqueTopicName('tap-src-sampled')
  const tapProduce = uniqueTopicName('tap-out-produce')
  const tapFetch = uniqueTopicName('tap-out-fetch')
  const tapSampled = uniqueTopicName('tap-out-sampled')
  let sc: StatsSidecar

  beforeAll(async () => {
    for (const t of [produced, fetched, sampledSrc, tapProduce, tapFetch, tapSampled]) {
      await createTopic(cluster.description, t, { partitions: 1 })
    }
    sc = await startStatsSidecar(
      cluster.bootstrapServers,
      {},
      {
        filters: [
          {
            name: 'tap',
            config: {
              instance: 'it-sidecar',
              queue: { maxRecords: 100_000, maxBytes: 64 * 1024 * 1024 },
              taps: [
                {
                  name: 'java-producer',
                  topic: tapProduce,
                  acks: -1,
                  match: { clientId: 'tap-java-producer', topics: [produced] },
                },
                {
                  name: 'java-consumer',
                  topic: tapFetch,
                  acks: -1,
                  match: { direction: 'fetch', clientId: 'tap-java-consumer', topicPrefixes: [fetched] },
                },
                {
                  name: 'sampled',
                  topic: tapSampled,
                  match: { clientId: 'tap-perf', topics: [sampledSrc] },
                  sample: { rate: 0.1 },
                },
              ],
            },
          },
        ],
      },
    )
  })
  afterAll(async () => {
    await sc?.stop()
  })

  it("a Java producer's records appear in the tap topic with their key, value, headers, timestamp and offsets", async () => {
    const lines = ['app:one\tk1\tfirst', 'app:two\tk2\tsecond', 'app:three\tk3\tthird']
    const result = await runKafkaTool(
      cluster.description,
      'console-producer',
      [
        '--bootstrap-server',
        sc.bootstrap,
        '--topic',
        produced,
        '--producer-property',
        'client.id=tap-java-producer',
        '--producer-property',
        'acks=all',
        ...[readerProperty, 'parse.key=true', readerProperty, 'parse.headers=true'],
      ],
      { input: `${lines.join('\n')}\n` },
    )
    expect(result.code, result.stderr).toBe(0)
    const source = await readUntil(cluster.bootstrapServers, produced, 3)
    const tapped = await readUntil(cluster.bootstrapServers, tapProduce, 3)
    expect(tapped.map((r) => [r.key, r.payload])).toEqual([
      ['k1', 'first'],
      ['k2', 'second'],
      ['k3', 'third'],
    ])
    for (const [i, r] of tapped.entries()) {
      const original = source[i]!
      expect(headersOf(r)).toEqual({
        app: ['one', 'two', 'three'][i],
        [TAP_HEADERS.name]: 'java-producer',
        [TAP_HEADERS.direction]: 'produce',
        [TAP_HEADERS.topic]: produced,
        [TAP_HEADERS.partition]: '0',
        [TAP_HEADERS.offset]: String(original.offset),
        [TAP_HEADERS.clientId]: 'tap-java-producer',
        [TAP_HEADERS.sidecar]: 'it-sidecar',
      })
      expect(r.ts).toBe(original.ts)
    }
  })

  it("a Java consumer's fetched records appear with their offsets", async () => {
    const put = await runKcat(['-b', cluster.bootstrapServers, '-P', '-t', fetched, '-K', ':'], {
      input: 'a:one\nb:two\nc:three\nd:four\ne:five\n',
    })
    expect(put.code, put.stderr).toBe(0)
    const read = await runKafkaTool(
      cluster.description,
      'console-consumer',
      [
        '--bootstrap-server',
        sc.bootstrap,
        '--topic',
        fetched,
        '--from-beginning',
        '--max-messages',
        '5',
        '--timeout-ms',
        '30000',
        '--consumer-property',
        'client.id=tap-java-consumer',
        '--group',
        uniqueTopicName('tap-group'),
      ],
      { timeoutMs: 90_000 },
    )
    // Kafka 4.3 says on stdout that --consumer-property is deprecated (for --command-property, which 3.9 lacks).
    const values = read.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('Option --consumer-property'))
    expect(values).toEqual(['one', 'two', 'three', 'four', 'five'])
    // The consumer may fetch a record twice (a rebalance, a retry): every offset once at least, in order.
    const tapped = await readUntil(cluster.bootstrapServers, tapFetch, 5)
    const byOffset = new Map(tapped.map((r) => [headersOf(r)[TAP_HEADERS.offset], r]))
    expect([...byOffset.keys()].sort()).toEqual(['0', '1', '2', '3', '4'])
    expect(['0', '1', '2', '3', '4'].map((o) => [byOffset.get(o)!.key, byOffset.get(o)!.payload])).toEqual([
      ['a', 'one'],
      ['b', 'two'],
      ['c', 'three'],
      ['d', 'four'],
      ['e', 'five'],
    ])
    expect(headersOf(tapped[0]!)).toMatchObject({
      [TAP_HEADERS.direction]: 'fetch',
      [TAP_HEADERS.topic]: fetched,
      [TAP_HEADERS.clientId]: 'tap-java-consumer',
    })
  })

  it('sampling at 10% taps 10% +- 2% of 20,000 records', async () => {
    const perf = await runKafkaTool(
      cluster.description,
      'producer-perf-test',
      [
        '--topic',
        sampledSrc,
        '--num-records',
        '20000',
        '--record-size',
        '100',
        '--throughput',
        '-1',
        '--producer-props',
        `bootstrap.servers=${sc.bootstrap}`,
        'client.id=tap-perf',
        'acks=1',
      ],
      { timeoutMs: 120_000 },
    )
    expect(perf.code, perf.stderr).toBe(0)
    expect(await countDirect(cluster.bootstrapServers, sampledSrc)).toBe(20_000)
    const settled = await waitFor(
      'the tap to settle',
      async () => {
        const s = await status(sc)
        const counts = s.taps.find((t) => t.name === 'sampled')!.counts.records
        return s.queue.records === 0 && counts.tapped > 0 && counts
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    )
    expect(settled).toMatchObject({ dropped: 0, failed: 0 })
    const inTap = await countDirect(cluster.bootstrapServers, tapSampled)
    expect(inTap).toBe(settled.tapped)
    expect(inTap).toBeGreaterThanOrEqual(1_600)
    expect(inTap).toBeLessThanOrEqual(2_400)
  })
})

/** Produces `values` as one send through the sidecar; throws what kafkajs throws. */
async function send(producer: Producer, topic: string, values: string[]): Promise<void> {
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) })
}

const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`)

describe('tap to a second cluster that dies mid-run', () => {
  const cluster = getCluster('single')
  const source = uniqueTopicName('tap-src-outage')
  const tapTopic = uniqueTopicName('tap-out-outage')
  let dest: KafkaCluster
  let sc: StatsSidecar

  beforeAll(async () => {
    dest = await KafkaCluster.start({ name: 'tap-dest', nodes: 1 })
    await createTopic(dest.describe(), tapTopic, { partitions: 1 })
    await createTopic(cluster.description, source, { partitions: 1 })
    sc = await startStatsSidecar(
      cluster.bootstrapServers,
      {},
      {
        filters: [
          {
            name: 'tap',
            config: {
              queue: { maxRecords: 300 },
              clusters: {
                dest: { bootstrap: [dest.bootstrapServers], deliveryTimeoutMs: 3000, requestTimeoutMs: 2000 },
              },
              taps: [{ name: 'outage', topic: tapTopic, cluster: 'dest', match: { topics: [source] } }],
            },
          },
        ],
      },
    )
  })
  afterAll(async () => {
    await sc?.stop()
    await dest?.stop()
  })

  it("the client's produce and consume go on without an error; drops are counted; tapping resumes when it is back", async () => {
    const kafka = new Kafka({ clientId: 'tap-outage-client', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const producer = kafka.producer({ retry: { retries: 0 } })
    const consumer = kafka.consumer({ groupId: uniqueTopicName('tap-outage-group') })
    const consumed = new Set<string>()
    let consumerErrors = 0
    consumer.on(consumer.events.CRASH, () => {
      consumerErrors++
    })
    await producer.connect()
    await consumer.connect()
    await consumer.subscribe({ topic: source, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        consumed.add(message.value!.toString())
      },
    })
    const sent: string[] = []
    let producerErrors = 0
    try {
      // Before: everything reaches the tap cluster.
      for (let i = 0; i < 10; i++) {
        const values = range(`before-${i}`, 10)
        await send(producer, source, values)
        sent.push(...values)
      }
      await waitFor('the tap to deliver', async () => (await countDirect(dest.bootstrapServers, tapTopic)) >= 100, {
        timeoutMs: 30_000,
      })

      // The tap cluster dies: the client goes on as if nothing happened.
      await dest.stopNode(dest.nodes[0]!.id)
      for (let i = 0; i < 60; i++) {
        const values = range(`during-${i}`, 20)
        await send(producer, source, values) // would throw on any error: no retries
        sent.push(...values)
        await new Promise((r) => setTimeout(r, 20))
      }
      const lost = await waitFor(
        'drops and failures to be counted',
        async () => {
          const c = (await status(sc)).taps[0]!.counts.records
          return c.dropped > 0 && c.failed > 0 && c
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      )
      expect(lost.dropped + lost.failed).toBeGreaterThan(0)
      const down = await status(sc)
      expect(down.destinations.find((d) => d.name === 'dest')).toMatchObject({ delivering: false })

      // It comes back: tapping resumes by itself.
      await dest.startNode(dest.nodes[0]!.id)
      let round = 0
      await waitFor(
        'records produced after the return to be tapped',
        async () => {
          const values = range(`after-${round++}`, 10)
          // waitFor takes a throw for "not yet": a producer error must be counted here to be seen.
          await send(producer, source, values).catch((err) => {
            producerErrors++
            throw err
          })
          sent.push(...values)
          const tapped = await kcatRead(dest.bootstrapServers, tapTopic)
          return tapped.some((r) => r.payload?.startsWith('after-'))
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      )
      await waitFor('the consumer to have every record', () => sent.every((v) => consumed.has(v)), {
        timeoutMs: 60_000,
      })
      expect(consumerErrors).toBe(0)
      expect(producerErrors).toBe(0)
      const tapped = (await kcatRead(dest.bootstrapServers, tapTopic)).map((r) => r.payload)
      expect(range('before-0', 10).every((v) => tapped.includes(v))).toBe(true)
      const up = await status(sc)
      expect(up.destinations.find((d) => d.name === 'dest')).toMatchObject({ delivering: true })
    } finally {
      await consumer.disconnect()
      await producer.disconnect()
    }
  }, 300_000)
})

describe('taps switched on and off through the admin endpoint under load', () => {
  const cluster = getCluster('single')
  const source = uniqueTopicName('tap-src-admin')
  const tapTimed = uniqueTopicName('tap-out-timed')
  const tapStopped = uniqueTopicName('tap-out-stopped')
  let sc: StatsSidecar

  beforeAll(async () => {
    for (const t of [source, tapTimed, tapStopped]) await createTopic(cluster.description, t, { partitions: 1 })
    sc = await startStatsSidecar(cluster.bootstrapServers, {}, { filters: [{ name: 'tap', config: {} }] })
  })
  afterAll(async () => {
    await sc?.stop()
  })

  const post = async (body: unknown) => {
    const res = await fetch(`${sc.adminUrl}/filters/tap`, { method: 'POST', body: JSON.stringify(body) })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }

  it('a tap runs from the POST until its time limit, another until DELETE; only records in between are tapped', async () => {
    const kafka = new Kafka({ clientId: 'tap-admin-client', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const producer = kafka.producer({ retry: { retries: 0 } })
    await producer.connect()
    // Load: another producer on the same sidecar, all the while.
    const loader = new Kafka({ clientId: 'tap-admin-load', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const load = loader.producer()
    await load.connect()
    let loading = true
    let loadErrors = 0
    const loadLoop = (async () => {
      for (let i = 0; loading; i++) {
        await send(load, source, range(`load-${i}`, 50)).catch(() => loadErrors++)
      }
    })()
    const match = { clientId: 'tap-admin-client', topics: [source] }
    try {
      await send(producer, source, range('before', 20))
      const started = await post({ name: 'timed', topic: tapTimed, match, durationMs: 4000 })
      expect(started.status).toBe(201)
      await send(producer, source, range('on', 20))
      await waitFor(
        'the timed tap to stop by itself',
        async () => !(await status(sc)).taps.some((t) => t.name === 'timed'),
        {
          timeoutMs: 30_000,
          intervalMs: 200,
        },
      )
      await send(producer, source, range('after', 20))

      expect((await post({ name: 'manual', topic: tapStopped, match, durationMs: 600_000 })).status).toBe(201)
      await send(producer, source, range('on2', 20))
      const deleted = await fetch(`${sc.adminUrl}/filters/tap?name=manual`, { method: 'DELETE' })
      expect(deleted.status).toBe(200)
      await send(producer, source, range('after2', 20))
      await waitFor('the tap queue to empty', async () => (await status(sc)).queue.records === 0, { timeoutMs: 30_000 })

      const timed = (await readUntil(cluster.bootstrapServers, tapTimed, 20)).map((r) => r.payload)
      expect(timed).toEqual(range('on', 20))
      const stopped = (await readUntil(cluster.bootstrapServers, tapStopped, 20)).map((r) => r.payload)
      expect(stopped).toEqual(range('on2', 20))
    } finally {
      loading = false
      await loadLoop
      await load.disconnect()
      await producer.disconnect()
    }
    expect(loadErrors).toBe(0)
  }, 180_000)
})
