/**
 * Produce throughput of the sidecar's own upstream client (src/upstream-client) against kafkajs, in the same run,
 * against the same real broker: the tap filter has to pick one of the two, by measurement.
 *
 *   npm run build && node --single-threaded-gc --max-semi-space-size=2 dist/bench/upstream-client.js \
 *     [--records=100000] [--rounds=3] [--bootstrap=host:port]
 *
 * Two shapes of traffic, 1 KiB values, no keys, acks=-1, no compression, 3 partitions:
 *   per-call 100  produce() / send() with 100 records each, up to 64 calls outstanding (a tap copying the records of
 *                 a client's Produce request);
 *   per-call 1    one record per call, up to 1,024 outstanding (a tap copying records one by one: what batching
 *                 across calls is for; kafkajs sends one request per call).
 * Each round produces `records` records with each client, alternating which goes first; one uncounted warm-up
 * round first. Every round gets a fresh topic, deleted afterwards. Prints the median and range of records/s and
 * MB/s (value bytes, 10^6) and the CPU seconds this process spent per GB of values (both clients run in it, one
 * at a time). Without --bootstrap the harness starts a 1-node Kafka from the Maven jars (needs Java 17+).
 */
import { cpus, loadavg } from 'node:os'
import { Kafka, logLevel, Partitioners } from 'kafkajs'
import { pino } from 'pino'
import { parseHostPort } from '../src/config/host-port.js'
import { UpstreamConnector } from '../src/server/upstream-connector.js'
import { UpstreamClient } from '../src/upstream-client/client.js'
import { KafkaCluster } from '../test/harness/kafka-cluster.js'

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const RECORDS = Number(arg('records') ?? 100_000)
const ROUNDS = Number(arg('rounds') ?? 3)
const VALUE = Buffer.alloc(1024, 0x61)
const PARTITIONS = 3
/** --clients=upstream-client to measure (or profile) one client alone. */
const CLIENTS = (arg('clients') ?? 'upstream-client,kafkajs').split(',') as ClientName[]

type ClientName = 'upstream-client' | 'kafkajs'
interface Shape {
  name: string
  perCall: number
  window: number
}
const SHAPES: Shape[] = [
  { name: 'per-call 100', perCall: 100, window: 64 },
  { name: 'per-call 1', perCall: 1, window: 1024 },
]

interface Sample {
  recordsPerSec: number
  mbPerSec: number
  cpuSecPerGb: number
}

/** Runs `calls` produce calls of `perCall` records with at most `window` outstanding; resolves when all are acked. */
async function drive(total: number, shape: Shape, produce: (records: number) => Promise<unknown>): Promise<void> {
  const calls = Math.ceil(total / shape.perCall)
  let started = 0
  const worker = async (): Promise<void> => {
    while (started < calls) {
      started++
      await produce(shape.perCall)
    }
  }
  await Promise.all(Array.from({ length: Math.min(shape.window, calls) }, worker))
}

async function measure(run: () => Promise<void>, records: number): Promise<Sample> {
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  await run()
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const cpu = process.cpuUsage(cpu0)
  const bytes = records * VALUE.length
  return {
    recordsPerSec: records / seconds,
    mbPerSec: bytes / 1e6 / seconds,
    cpuSecPerGb: (cpu.user + cpu.system) / 1e6 / (bytes / 1e9),
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const fmt = (xs: number[], digits: number): string =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`

async function main(): Promise<void> {
  let cluster: KafkaCluster | undefined
  let bootstrap = arg('bootstrap')
  if (bootstrap === undefined) {
    cluster = await KafkaCluster.start({ name: 'bench-upstream-client', nodes: 1 })
    bootstrap = cluster.bootstrapServers
  }
  const brokers = bootstrap.split(',')
  const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  const newOurs = () =>
    new UpstreamClient({
      bootstrap: brokers.map(parsed),
      connector: new UpstreamConnector(10_000, undefined),
      clientId: 'bench-upstream-client',
      log: pino({ level: 'silent' }),
    })
  const payload = (n: number) => Array.from({ length: n }, () => ({ value: VALUE }))

  /**
   * A fresh client per run, connected before the clock starts: kafkajs keeps every topic it has produced to in its
   * metadata requests, and once one is deleted every Metadata answer carries its error and kafkajs gives up.
   */
  const clients: Record<ClientName, (topic: string, shape: Shape) => Promise<() => Promise<void>>> = {
    'upstream-client': async (topic, shape) => {
      const ours = newOurs()
      await ours.metadata([topic])
      return async () => {
        try {
          await drive(RECORDS, shape, (n) => ours.produce(topic, payload(n), { acks: -1 }))
        } finally {
          await ours.close()
        }
      }
    },
    kafkajs: async (topic, shape) => {
      const producer = kafka.producer({
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      })
      await producer.connect()
      return async () => {
        try {
          await drive(RECORDS, shape, (n) => producer.send({ topic, acks: -1, messages: payload(n) }))
        } finally {
          await producer.disconnect()
        }
      }
    },
  }

  const results = new Map<string, Sample[]>()
  let topicNo = 0
  const oneRun = async (client: ClientName, shape: Shape): Promise<Sample> => {
    const topic = `bench-uc-${process.pid}-${topicNo++}`
    await admin.createTopics({
      topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
      waitForLeaders: true,
    })
    try {
      return await measure(await clients[client](topic, shape), RECORDS)
    } finally {
      await admin.deleteTopics({ topics: [topic] })
    }
  }

  const loadBefore = loadavg()
  process.stderr.write(`node ${process.version} ${process.execArgv.join(' ')}; ${cpus().length} cores\n`)
  for (const shape of SHAPES) {
    for (const client of CLIENTS) await oneRun(client, shape) // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? CLIENTS : [...CLIENTS].reverse()
      for (const client of order) {
        const sample = await oneRun(client, shape)
        const key = `${shape.name}|${client}`
        results.set(key, [...(results.get(key) ?? []), sample])
        process.stderr.write(
          `${shape.name} ${client} round ${round + 1}: ${sample.recordsPerSec.toFixed(0)} records/s, ${sample.mbPerSec.toFixed(1)} MB/s\n`,
        )
      }
    }
  }

  await admin.disconnect()
  await cluster?.stop()

  const lines = [
    `Produce, 1 KiB values, acks=-1, ${PARTITIONS} partitions, ${RECORDS} records per run, ${ROUNDS} rounds (median, range)`,
    `${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version} ${process.execArgv.join(' ')}; ` +
      `load average ${loadBefore.map((x) => x.toFixed(1)).join(' / ')} before, ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' / ')} after (1/5/15 min; includes the broker and anything else on the machine)`,
    '',
    '| shape | client | records/s | MB/s | client CPU s/GB | vs kafkajs |',
    '|---|---|---:|---:|---:|---:|',
  ]
  for (const shape of SHAPES) {
    const base = median((results.get(`${shape.name}|kafkajs`) ?? []).map((s) => s.recordsPerSec))
    for (const client of CLIENTS) {
      const s = results.get(`${shape.name}|${client}`)!
      const ratio = median(s.map((x) => x.recordsPerSec)) / base
      lines.push(
        `| ${shape.name} | ${client} | ${fmt(
          s.map((x) => x.recordsPerSec),
          0,
        )} | ${fmt(
          s.map((x) => x.mbPerSec),
          1,
        )} | ${fmt(
          s.map((x) => x.cpuSecPerGb),
          2,
        )} | ${ratio.toFixed(2)} |`,
      )
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}

function parsed(s: string): { host: string; port: number } {
  const hp = parseHostPort(s)
  if ('error' in hp) throw new Error(`${s}: ${hp.error}`)
  return hp
}

await main()
