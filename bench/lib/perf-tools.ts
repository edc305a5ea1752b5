/**
 * Kafka's own load generators (kafka-producer-perf-test, kafka-consumer-perf-test) from the harness's jars,
 * and parsers for what they print. Throughput is reported as records/s and MB/s with MB = 10^6 bytes of
 * record values (the tools' own "MB" is 2^20; recomputing from records/s keeps every workload comparable).
 */
import { type KafkaJars, runKafkaTool } from '../../test/harness/kafka-tools.js'

/** Full JIT (the harness default for tools is C1 only, which makes the client the bottleneck sooner). */
export const PERF_TOOL_JVM_OPTIONS = ['-Xmx512m', '-XX:-UsePerfData']

export interface ProducerPerfResult {
  records: number
  recordsPerSec: number
  /** Milliseconds, as the tool prints them (whole milliseconds per sample: the tool times with currentTimeMillis). */
  latencyMs: { avg: number; max: number; p50: number; p95: number; p99: number; p999: number }
}

export interface ConsumerPerfResult {
  records: number
  /** Records per second over the fetch phase (after the group join, which is coordinator time, not data path). */
  recordsPerSec: number
  /** Records per second over the whole run, group join included. */
  recordsPerSecTotal: number
  rebalanceMs: number
}

/**
 * The summary line kafka-producer-perf-test prints last:
 * "N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency, P ms 50th, P ms 95th,
 * P ms 99th, P ms 99.9th." With --warmup-records (Kafka 4.x) a second line follows, "N steady state records
 * sent, ...", covering the records after the warm-up; that one is returned when present.
 */
export function parseProducerPerf(stdout: string): ProducerPerfResult {
  const line =
    /(\d+) (steady state )?records sent, ([\d.]+) records\/sec \([\d.]+ MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th/g
  const matches = [...stdout.matchAll(line)]
  const m = matches.find((x) => x[2] !== undefined) ?? matches.at(-1)
  if (!m) throw new Error(`producer-perf-test printed no summary line:\n${stdout.slice(-2000)}`)
  const n = [m[1], ...m.slice(3)].map(Number)
  return {
    records: n[0]!,
    recordsPerSec: n[1]!,
    latencyMs: { avg: n[2]!, max: n[3]!, p50: n[4]!, p95: n[5]!, p99: n[6]!, p999: n[7]! },
  }
}

/**
 * The CSV line kafka-consumer-perf-test prints with --hide-header: start.time, end.time, data.consumed.in.MB,
 * MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec.
 */
export function parseConsumerPerf(stdout: string): ConsumerPerfResult {
  const line = stdout
    .trim()
    .split('\n')
    .filter((l) => /^\d{4}-\d\d-\d\d /.test(l))
    .pop()
  const fields = line?.split(',').map((f) => f.trim())
  if (!fields || fields.length < 10)
    throw new Error(`consumer-perf-test printed no summary line:\n${stdout.slice(-2000)}`)
  return {
    records: Number(fields[4]),
    recordsPerSec: Number(fields[9]),
    recordsPerSecTotal: Number(fields[5]),
    rebalanceMs: Number(fields[6]),
  }
}

export interface ProducerPerfOptions {
  bootstrap: string
  topic: string
  records: number
  recordSize: number
  /** Record values from this file (newline-separated, picked at random) instead of random bytes of recordSize. */
  payloadFile?: string
  acks: '1' | 'all'
  /** Records per second to hold; -1 (default) for as fast as possible. */
  throughput?: number
  /** Records left out of the figures (client start-up: JIT, connections, metadata); needs Kafka 4.x tools. */
  warmupRecords?: number
  /** Extra producer properties, key=value. */
  props?: readonly string[]
  timeoutMs?: number
}

export async function runProducerPerf(jars: KafkaJars, o: ProducerPerfOptions): Promise<ProducerPerfResult> {
  const result = await runKafkaTool(
    jars,
    'producer-perf-test',
    [
      '--topic',
      o.topic,
      '--num-records',
      String(o.records),
      ...(o.payloadFile === undefined ? ['--record-size', String(o.recordSize)] : ['--payload-file', o.payloadFile]),
      '--throughput',
      String(o.throughput ?? -1),
      ...(o.warmupRecords ? ['--warmup-records', String(o.warmupRecords)] : []),
      '--producer-props',
      `bootstrap.servers=${o.bootstrap}`,
      `acks=${o.acks}`,
      ...(o.props ?? []),
    ],
    { timeoutMs: o.timeoutMs ?? 300_000, jvmOptions: PERF_TOOL_JVM_OPTIONS, logLevel: 'error' },
  )
  if (result.code !== 0) {
    throw new Error(`producer-perf-test exited with ${result.code}:\n${result.stderr.slice(-2000)}`)
  }
  return parseProducerPerf(result.stdout)
}

export interface ConsumerPerfOptions {
  bootstrap: string
  topic: string
  records: number
  timeoutMs?: number
}

export async function runConsumerPerf(jars: KafkaJars, o: ConsumerPerfOptions): Promise<ConsumerPerfResult> {
  const result = await runKafkaTool(
    jars,
    'consumer-perf-test',
    [
      '--bootstrap-server',
      o.bootstrap,
      '--topic',
      o.topic,
      // --messages: accepted by 3.x and 4.x alike (4.x prefers --num-records and prints a deprecation note).
      '--messages',
      String(o.records),
      '--timeout',
      '30000',
      '--hide-header',
    ],
    { timeoutMs: o.timeoutMs ?? 300_000, jvmOptions: PERF_TOOL_JVM_OPTIONS, logLevel: 'error' },
  )
  if (result.code !== 0) {
    throw new Error(`consumer-perf-test exited with ${result.code}:\n${result.stderr.slice(-2000)}`)
  }
  const parsed = parseConsumerPerf(result.stdout)
  if (parsed.records < o.records) {
    throw new Error(`consumer-perf-test read ${parsed.records} of ${o.records} records from ${o.topic} (timed out)`)
  }
  return parsed
}
