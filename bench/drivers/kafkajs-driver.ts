/**
 * kafkajs as a load generator, in a process of its own (so its CPU is never counted as the proxy's):
 *
 *   node dist/bench/drivers/kafkajs-driver.js '<json job>'
 *
 * Jobs (see KafkajsJob): produce as fast as possible with a fixed number of sends in flight, consume a
 * number of records from the beginning with a fresh group, or produce at a fixed rate and time every send.
 * Prints one JSON line (KafkajsResult) on stdout and exits 0; any failure exits 1 with the error on stderr.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs'
import { readPayloads } from '../lib/payloads.js'
import { percentiles } from '../lib/stats.js'

export type KafkajsJob =
  | {
      mode: 'produce'
      bootstrap: string
      topic: string
      records: number
      recordSize: number
      /** Record values from this file (bench/lib/payloads.ts) instead of recordSize 'x' bytes. */
      payloadFile?: string
      acks: 1 | -1
      /** Records per send() call (one Produce request per partition leader). */
      batchRecords: number
      /** send() calls in flight at once. */
      inflight: number
    }
  | { mode: 'consume'; bootstrap: string; topic: string; records: number }
  | {
      mode: 'latency'
      bootstrap: string
      topic: string
      recordSize: number
      payloadFile?: string
      acks: 1 | -1
      /** Records per second to hold. */
      rate: number
      /** Sends in the first warmupMs are made but not timed (connections, metadata, JIT). */
      warmupMs: number
      /** Timed part of the run, after the warm-up. */
      durationMs: number
    }

export interface KafkajsResult {
  records: number
  seconds: number
  recordsPerSec: number
  /** consume: milliseconds from connect() to the group join, excluded from recordsPerSec. */
  joinMs?: number
  /** latency: per-send round trip, microseconds (process.hrtime). */
  latencyUs?: { p50: number; p99: number; p999: number; max: number; sends: number }
}

const job = JSON.parse(process.argv[2] ?? '{}') as KafkajsJob
const kafka = new Kafka({
  clientId: 'ksc-bench-kafkajs',
  brokers: job.bootstrap.split(','),
  logLevel: logLevel.NOTHING,
})

/** The record values a producing job sends, in turn. */
function valuesOf(j: { recordSize: number; payloadFile?: string }): Buffer[] {
  return j.payloadFile === undefined ? [Buffer.alloc(j.recordSize, 'x')] : readPayloads(j.payloadFile)
}

async function produce(j: Extract<KafkajsJob, { mode: 'produce' }>): Promise<KafkajsResult> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  await producer.connect()
  const values = valuesOf(j)
  const messages = Array.from({ length: j.batchRecords }, (_, i) => ({ value: values[i % values.length]! }))
  // One metadata round trip before the clock starts, as the Java perf tool does.
  await producer.send({ topic: j.topic, acks: j.acks, messages: messages.slice(0, 1) })
  let sent = 0
  const started = process.hrtime.bigint()
  const lane = async (): Promise<void> => {
    while (sent < j.records) {
      const n = Math.min(j.batchRecords, j.records - sent)
      sent += n
      await producer.send({
        topic: j.topic,
        acks: j.acks,
        messages: n === j.batchRecords ? messages : messages.slice(0, n),
      })
    }
  }
  await Promise.all(Array.from({ length: j.inflight }, lane))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  await producer.disconnect()
  return { records: j.records, seconds, recordsPerSec: j.records / seconds }
}

async function consume(j: Extract<KafkajsJob, { mode: 'consume' }>): Promise<KafkajsResult> {
  const consumer = kafka.consumer({ groupId: `ksc-bench-${process.pid}-${Date.now()}`, maxBytes: 50 * 1024 * 1024 })
  const connectedAt = process.hrtime.bigint()
  // The clock starts when the group is joined (as kafka-consumer-perf-test's fetch time does): the join is the
  // coordinator's doing, and the first fetches must count, or a topic read in one fetch looks infinitely fast.
  let joinedAt: bigint | undefined
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joinedAt ??= process.hrtime.bigint()
  })
  await consumer.connect()
  await consumer.subscribe({ topic: j.topic, fromBeginning: true })
  let count = 0
  const done = new Promise<bigint>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        count += batch.messages.length
        if (count >= j.records) resolve(process.hrtime.bigint())
      },
    })
  })
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`consumed ${count} of ${j.records} records in 120 s`)), 120_000).unref(),
  )
  const finishedAt = await Promise.race([done, timeout])
  const started = joinedAt ?? connectedAt
  const seconds = Number(finishedAt - started) / 1e9
  await consumer.disconnect()
  return { records: count, seconds, recordsPerSec: count / seconds, joinMs: Number(started - connectedAt) / 1e6 }
}

/**
 * Open loop: every 2 ms, one send() with the records that fell due since the last one, whether or not earlier
 * sends have completed (a closed loop would slow down with the target and hide its latency).
 */
async function latency(j: Extract<KafkajsJob, { mode: 'latency' }>): Promise<KafkajsResult> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  await producer.connect()
  const values = valuesOf(j)
  const value = values[0]!
  await producer.send({ topic: j.topic, acks: j.acks, messages: [{ value }] })
  const samples: number[] = []
  const pending = new Set<Promise<void>>()
  let sent = 0
  let timedRecords = 0
  const started = process.hrtime.bigint()
  const totalMs = j.warmupMs + j.durationMs
  await new Promise<void>((resolve, reject) => {
    const tick = setInterval(() => {
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6
      if (elapsedMs >= totalMs) {
        clearInterval(tick)
        resolve()
        return
      }
      const n = Math.floor((elapsedMs / 1000) * j.rate) - sent
      if (n <= 0) return
      sent += n
      const timed = elapsedMs >= j.warmupMs
      if (timed) timedRecords += n
      const t0 = process.hrtime.bigint()
      const p = producer
        .send({
          topic: j.topic,
          acks: j.acks,
          messages: Array.from({ length: n }, (_, i) => ({ value: values[(sent + i) % values.length]! })),
        })
        .then(() => {
          if (timed) samples.push(Number(process.hrtime.bigint() - t0) / 1e3)
          pending.delete(p)
        }, reject)
      pending.add(p)
    }, 2)
  })
  await Promise.all(pending)
  await producer.disconnect()
  const [p50, p99, p999, max] = percentiles(samples, [0.5, 0.99, 0.999, 1])
  return {
    records: timedRecords,
    seconds: j.durationMs / 1000,
    recordsPerSec: timedRecords / (j.durationMs / 1000),
    latencyUs: { p50: p50!, p99: p99!, p999: p999!, max: max!, sends: samples.length },
  }
}

try {
  const result =
    job.mode === 'produce' ? await produce(job) : job.mode === 'consume' ? await consume(job) : await latency(job)
  process.stdout.write(`${JSON.stringify(result)}\n`)
  process.exit(0)
} catch (err) {
  process.stderr.write(`${(err as Error).stack ?? err}\n`)
  process.exit(1)
}
