/**
 * The measuring frame the hostile-client benches (bench/hostile.ts, plaintext; bench/hostile-tls.ts, TLS) share: a
 * single-node Kafka with the good client's topic, one fresh sidecar per pattern, Kafka's kafka-producer-perf-test as
 * the well-behaved client alone and while the pattern runs, and what the sidecar's process and /metrics show over the
 * pattern (RSS idle, peak and after, descriptors, CPU, log bytes, errors and refusals counted).
 */
import { readdirSync, statSync } from 'node:fs'
import { Kafka, logLevel } from 'kafkajs'
import { KafkaCluster } from '../../test/harness/kafka-cluster.js'
import { DEFAULT_KAFKA_VERSION, resolveKafkaClasspath } from '../../test/harness/kafka-jars.js'
import { type KafkaJars, runKafkaTool } from '../../test/harness/kafka-tools.js'
import { PERF_TOOL_JVM_OPTIONS, parseProducerPerf } from './perf-tools.js'
import { cpuSeconds, peakRssMb, resetPeakRss, rssMb } from './proc.js'
import type { Target } from './targets.js'

const MiB = 1024 * 1024
export const GOOD_RECORD_BYTES = 1024
export const GOOD_TOPIC = 'hostile-bench'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)))

export interface GoodRun {
  /** MB/s over the whole run, connecting included. */
  mbPerSec: number
  /** MB/s after the warm-up records (established connections only); undefined without a warm-up. */
  steadyMbPerSec?: number
  errors: number
}

/**
 * Runs the good client once: `records` 1 KiB records as fast as the path takes them, acks=all. `props` are more
 * producer properties (the TLS bench's security.protocol and keystores). With `warmupRecords`, the tool also reports
 * the records after those, sent over connections it has by then (steadyMbPerSec).
 */
export async function goodClient(
  jars: KafkaJars,
  bootstrap: string,
  records: number,
  props: readonly string[] = [],
  warmupRecords = 0,
): Promise<GoodRun> {
  const r = await runKafkaTool(
    jars,
    'producer-perf-test',
    [
      '--topic',
      GOOD_TOPIC,
      '--num-records',
      String(records),
      '--record-size',
      String(GOOD_RECORD_BYTES),
      '--throughput',
      '-1',
      ...(warmupRecords > 0 ? ['--warmup-records', String(warmupRecords)] : []),
      '--producer-props',
      `bootstrap.servers=${bootstrap}`,
      'acks=all',
      'delivery.timeout.ms=60000',
      ...props,
    ],
    { timeoutMs: 300_000, jvmOptions: PERF_TOOL_JVM_OPTIONS, logLevel: 'error' },
  ).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }))
  const errorLines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /Exception|ERROR/.test(l)).length
  const mb = (recordsPerSec: number) => (recordsPerSec * GOOD_RECORD_BYTES) / 1e6
  try {
    // parseProducerPerf takes the steady-state line when there is one: without it, the whole run's.
    const whole = parseProducerPerf(
      r.stdout
        .split('\n')
        .filter((l) => !l.includes('steady state'))
        .join('\n'),
    )
    const steady = warmupRecords > 0 ? parseProducerPerf(r.stdout) : undefined
    const missing = Math.max(0, records - whole.records)
    return {
      mbPerSec: mb(whole.recordsPerSec),
      ...(steady !== undefined && { steadyMbPerSec: mb(steady.recordsPerSec) }),
      errors: errorLines + missing + (r.code === 0 ? 0 : 1),
    }
  } catch {
    return { mbPerSec: 0, errors: Math.max(1, errorLines) }
  }
}

/** One sample of a metric: its labels and value. */
export interface MetricSample {
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** A metric's samples in the sidecar's /metrics text; null when the sidecar has no such metric (or no answer). */
export async function scrapeSamples(target: Target, metric: string): Promise<MetricSample[] | null> {
  try {
    const text = await (await fetch(`http://${target.admin}/metrics`)).text()
    const lines = text.split('\n')
    const samples = lines
      .filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `))
      .map((l) => {
        const labels: Record<string, string> = {}
        const braces = /^[^{ ]+\{(.*)\} /.exec(l)
        for (const m of braces?.[1]?.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g) ?? []) labels[m[1]!] = m[2]!
        return { labels, value: Number(l.slice(l.lastIndexOf(' ') + 1)) }
      })
    // A counter with no samples yet is listed by its HELP line alone: no samples, not missing.
    if (samples.length === 0 && !lines.some((l) => l.startsWith(`# HELP ${metric} `))) return null
    return samples
  } catch {
    return null
  }
}

/** Sums a counter's samples; null when the sidecar has no such metric. */
export async function scrape(target: Target, metric: string): Promise<number | null> {
  const samples = await scrapeSamples(target, metric)
  return samples === null ? null : samples.reduce((n, s) => n + s.value, 0)
}

/** A counter's samples by one label's value (0 where none). */
export async function scrapeBy(target: Target, metric: string, label: string): Promise<Map<string, number>> {
  const by = new Map<string, number>()
  for (const s of (await scrapeSamples(target, metric)) ?? []) {
    const key = s.labels[label] ?? ''
    by.set(key, (by.get(key) ?? 0) + s.value)
  }
  return by
}

/** `after` minus `before`, per key, leaving out keys that did not change. */
export function increase(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>) {
  const out: Record<string, number> = {}
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0)
    if (d !== 0) out[k] = d
  }
  return out
}

function fileSize(path: string | undefined): number {
  try {
    return path === undefined ? 0 : statSync(path).size
  } catch {
    return 0
  }
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

/**
 * What a pattern does against the sidecar at `address`: it calls `engaged` once it is in full force (the good
 * client then starts), keeps going until `stop` settles, and resolves with what it saw once its clients let go.
 */
export type PatternRunner<O> = (address: string, stop: Promise<void>, engaged: () => void) => Promise<O>

export interface WindowOptions {
  readonly jars: KafkaJars
  readonly records: number
  readonly settleMs: number
  /** More producer properties for the good client (TLS). */
  readonly goodProps?: readonly string[]
  /** The pattern runs at least this long (a timeout it must outlast). */
  readonly minMs?: number
  /** Runs the good client alone once more after the pattern (+10 s), for a baseline on both sides of it. */
  readonly goodAfter?: boolean
  /** Records each good run leaves out of its steady-state figure (GoodRun.steadyMbPerSec); default none. */
  readonly goodWarmupRecords?: number
}

/** The figures of one pattern against one sidecar. */
export interface Window<O> {
  idleRssMb: number
  peakRssMb: number
  rss10sMb: number
  rssSettledMb: number
  outcome: O
  /** kafka_sidecar_connections_refused_total at the end (the sidecar is fresh: all of it is the pattern's). */
  refused: number | null
  refusedByReason: Record<string, number>
  /** The increase of kafka_sidecar_errors_total over the pattern, and by code. */
  errorsCounted: number
  errorsByCode: Record<string, number>
  maxFds: number
  logBytes: number
  cpuSeconds: number
  /** CPU seconds this process (the pattern's clients) used over the pattern. */
  patternCpuSeconds: number
  before: GoodRun
  during: GoodRun
  after: GoodRun | undefined
}

/**
 * Measures one pattern against `target` (a fresh sidecar, stopped here at the end): the good client alone, then the
 * pattern with the good client running once it is engaged, then the sidecar's RSS 10 s and `settleMs` after the
 * pattern's clients let go.
 */
export async function measureWindow<O>(target: Target, run: PatternRunner<O>, o: WindowOptions): Promise<Window<O>> {
  const pid = target.pid!
  try {
    // One unmeasured run first: the sidecar is a fresh process, and its first traffic runs through a cold JIT (in a
    // quiet run the good client alone moved 6.2 MB/s before a pattern and 12.1 after it), which would make any
    // pattern look cheaper or dearer than it is depending on which side of it the cold run fell.
    await goodClient(o.jars, target.bootstrap, o.records, o.goodProps, o.goodWarmupRecords)
    const before = await goodClient(o.jars, target.bootstrap, o.records, o.goodProps, o.goodWarmupRecords)
    await sleep(3_000)
    const idleRss = rssMb(pid)
    resetPeakRss(pid)
    const cpu0 = cpuSeconds(pid)
    const ownCpu0 = process.cpuUsage()
    const log0 = fileSize(target.logFile)
    const errors0 = await scrapeBy(target, 'kafka_sidecar_errors_total', 'code')
    let maxFds = 0
    const fdTimer = setInterval(() => {
      try {
        maxFds = Math.max(maxFds, readdirSync(`/proc/${pid}/fd`).length)
      } catch {}
    }, 200)

    let release!: () => void
    const stop = new Promise<void>((r) => {
      release = r
    })
    let engage!: () => void
    const engaged = new Promise<void>((r) => {
      engage = r
    })
    const started = Date.now()
    const running = run(target.bootstrap, stop, engage)
    await engaged
    const during = await goodClient(o.jars, target.bootstrap, o.records, o.goodProps, o.goodWarmupRecords)
    await sleep((o.minMs ?? 0) - (Date.now() - started))
    release()
    const outcome = await running
    const endedAt = Date.now()
    clearInterval(fdTimer)
    const cpu = cpuSeconds(pid) - cpu0
    const ownCpu = process.cpuUsage(ownCpu0)
    const logBytes = fileSize(target.logFile) - log0
    const errorsByCode = increase(errors0, await scrapeBy(target, 'kafka_sidecar_errors_total', 'code'))
    const refusedByReason = Object.fromEntries(
      await scrapeBy(target, 'kafka_sidecar_connections_refused_total', 'reason'),
    )
    const refused = await scrape(target, 'kafka_sidecar_connections_refused_total')
    await sleep(endedAt + 10_000 - Date.now())
    const rss10 = rssMb(pid)
    const after = o.goodAfter
      ? await goodClient(o.jars, target.bootstrap, o.records, o.goodProps, o.goodWarmupRecords)
      : undefined
    await sleep(endedAt + o.settleMs - Date.now())
    return {
      idleRssMb: idleRss,
      peakRssMb: peakRssMb(pid),
      rss10sMb: rss10,
      rssSettledMb: rssMb(pid),
      outcome,
      refused,
      refusedByReason,
      errorsCounted: Object.values(errorsByCode).reduce((a, b) => a + b, 0),
      errorsByCode,
      maxFds,
      logBytes,
      cpuSeconds: cpu,
      patternCpuSeconds: (ownCpu.user + ownCpu.system) / 1e6,
      before,
      during,
      after,
    }
  } finally {
    await target.stop()
  }
}

/**
 * The broker the benches run against: a fresh single-node Kafka, or the one at `bootstrap`; with the good client's
 * topic created. `stop` stops the Kafka this started.
 */
export async function hostileKafka(
  bootstrap: string | undefined,
  log: (m: string) => void,
): Promise<{ upstream: string; jars: KafkaJars; stop: () => Promise<void> }> {
  let cluster: KafkaCluster | undefined
  let upstream = bootstrap
  let jars: KafkaJars
  if (upstream === undefined) {
    cluster = await KafkaCluster.start({ nodes: 1, name: 'hostile', log })
    upstream = cluster.bootstrapServers
    jars = cluster.describe()
  } else {
    jars = { classpath: await resolveKafkaClasspath(DEFAULT_KAFKA_VERSION), version: DEFAULT_KAFKA_VERSION }
  }
  try {
    const admin = new Kafka({ brokers: [upstream], logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    await admin.createTopics({
      topics: [
        {
          topic: GOOD_TOPIC,
          numPartitions: 1,
          replicationFactor: 1,
          // Keeps the broker's disk use bounded over many runs.
          configEntries: [
            { name: 'retention.bytes', value: String(512 * MiB) },
            { name: 'segment.bytes', value: String(128 * MiB) },
          ],
        },
      ],
      waitForLeaders: true,
    })
    await admin.disconnect()
  } catch (err) {
    await cluster?.stop()
    throw err
  }
  return { upstream, jars, stop: async () => cluster?.stop() }
}

/** Where a bench writes its figures: bench/results/<name>-<time>.json (from dist/bench/lib, two levels up). */
export function resultsFile(name: string): URL {
  return new URL(
    `../../../bench/results/${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
    import.meta.url,
  )
}
