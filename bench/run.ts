/**
 * The proxy benchmark: the same workloads, in the same run and conditions, direct to a broker (the physical
 * limit), through kafka-sidecar (pass-through, and with configurations of your choice), and through Kroxylicious
 * (the peer). Prints a markdown report, writes bench/results/<time>.json and .md, and with --update-doc puts
 * the report into BENCHMARKS.md.
 *
 *   npm run bench                      # --quick: a representative subset, about 15 minutes on two cores
 *   npm run bench -- --full            # every size x partition count x workload, 5 repetitions (hours)
 *   npm run bench -- --list            # what a run would measure, without running it
 *
 * Options: --reps N, --only REGEX (cell ids), --phases throughput,latency,connections, --connections 1,100,1000,
 * --targets direct,sidecar,kroxylicious (and relay or haproxy: a byte relay, the floor for any proxy), --target LABEL=sidecar.yaml (adds sidecar+LABEL with that config,
 * e.g. a filter), --target LABEL=@DIR (adds the sidecar built in another checkout DIR, e.g. the commit before a
 * change: `git worktree add /tmp/before <commit> && (cd /tmp/before && npm ci && npm run build)`), --mb-per-run N, --kafka-version V, --kroxylicious-version V, --kroxylicious-java PATH,
 * --kroxylicious-jvm-options "...", --profile (node --cpu-prof of the sidecar; top self time in the report),
 * --payloads json|avro (produce cells write orders a real schema accepts, of each cell's record size, to every target:
 * with --target validation-json=bench/configs/schema-validation-json.yaml, schema validation measured end to end),
 * --update-doc. KSC_SIDECAR_NODE_ARGS adds node options to every sidecar process.
 *
 * Needs Java 17+ and Maven (Kafka and Kroxylicious jars come from Maven Central), Linux (/proc).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Kafka, logLevel } from 'kafkajs'
import { KafkaCluster } from '../test/harness/kafka-cluster.js'
import { DEFAULT_KAFKA_VERSION, javaCommand } from '../test/harness/kafka-jars.js'
import type { KafkaJars } from '../test/harness/kafka-tools.js'
import { runCommand } from '../test/harness/run-command.js'
import { createTopic } from '../test/harness/topics.js'
import { topSelfTime } from './lib/cpu-profile.js'
import { ConnectionsDriver, runKafkajs } from './lib/drivers.js'
import { DEFAULT_KROXYLICIOUS_VERSION } from './lib/kroxylicious.js'
import { describeMachine } from './lib/machine.js'
import { fullMatrix, type LatencyCell, type Matrix, quickMatrix, sizeLabel, type ThroughputCell } from './lib/matrix.js'
import { type PayloadKind, payloadFile, payloadFits } from './lib/payloads.js'
import { PERF_TOOL_JVM_OPTIONS, runConsumerPerf, runProducerPerf } from './lib/perf-tools.js'
import { freePort } from './lib/ports.js'
import { cpuSeconds, machineBusySeconds, ProcessWindow, resetPeakRss, rssAnonMb, rssMb } from './lib/proc.js'
import { renderReport } from './lib/report.js'
import type { BenchResult, ConnectionRun, LatencyRun, ThroughputRun } from './lib/results.js'
import { median, spread } from './lib/stats.js'
import {
  directTarget,
  prepareKroxylicious,
  startKroxylicious,
  startRelay,
  startSidecar,
  type Target,
} from './lib/targets.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The broker at full JIT with a fixed heap: the harness's test defaults (C1 only) would make it the bottleneck. */
const BROKER_JVM_OPTIONS = [
  '-Xms1g',
  '-Xmx1g',
  '-XX:+ExitOnOutOfMemoryError',
  '-XX:-UsePerfData',
  '-Djava.awt.headless=true',
]
/** A sidecar-sized heap; everything else as the JVM chooses (G1, full JIT), as a user would run it. */
const KROXYLICIOUS_JVM_OPTIONS = ['-Xmx256m', '-XX:+ExitOnOutOfMemoryError', '-XX:-UsePerfData']

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    full: { type: 'boolean' },
    list: { type: 'boolean' },
    reps: { type: 'string' },
    only: { type: 'string' },
    phases: { type: 'string', default: 'throughput,latency,connections' },
    targets: { type: 'string', default: 'direct,sidecar,kroxylicious' },
    target: { type: 'string', multiple: true, default: [] },
    'mb-per-run': { type: 'string' },
    connections: { type: 'string' },
    'kafka-version': { type: 'string', default: DEFAULT_KAFKA_VERSION },
    'kroxylicious-version': { type: 'string', default: DEFAULT_KROXYLICIOUS_VERSION },
    'kroxylicious-java': { type: 'string' },
    'kroxylicious-jvm-options': { type: 'string' },
    profile: { type: 'boolean' },
    payloads: { type: 'string' },
    'update-doc': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
})

if (opt.help) {
  const source = readFileSync(join(ROOT, 'bench/run.ts'), 'utf8')
  process.stdout.write(`${/\/\*\*([\s\S]*?)\*\//.exec(source)?.[1]?.replace(/^ \* ?/gm, '') ?? ''}\n`)
  process.exit(0)
}

const say = (message: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`)
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const load1 = (): number => Math.round(loadavg()[0]! * 100) / 100
/** A repetition that produced no figures: logged, kept in the JSON and counted in the report; the run goes on. */
function fail(what: string, err: unknown): void {
  const message = `${what}: ${(err as Error).message ?? err}`
  result.failures.push(message)
  say(`FAILED ${message.split('\n')[0]}`)
}

function buildMatrix(): Matrix {
  const bytes = opt['mb-per-run'] ? Number(opt['mb-per-run']) * 1e6 : undefined
  const matrix = opt.full ? fullMatrix(bytes) : quickMatrix(bytes)
  if (opt.reps) {
    matrix.reps = Number(opt.reps)
    matrix.connections.reps = Number(opt.reps)
  }
  if (opt.connections) matrix.connections.counts = opt.connections.split(',').map(Number)
  const phases = new Set(opt.phases.split(','))
  if (opt.only) {
    const only = new RegExp(opt.only)
    matrix.throughput = matrix.throughput.filter((c) => only.test(c.id))
    matrix.latency = matrix.latency.filter((c) => only.test(c.id))
    if (!only.test('connections')) matrix.connections.counts = []
  }
  if (!phases.has('throughput')) matrix.throughput = []
  if (!phases.has('latency')) matrix.latency = []
  if (!phases.has('connections')) matrix.connections.counts = []
  return matrix
}

const matrix = buildMatrix()
const payloadKind = payloadKindOf(opt.payloads)

/** --payloads: every produce cell must be able to carry an order of its record size, or the run stops here. */
function payloadKindOf(given: string | undefined): PayloadKind | undefined {
  if (given === undefined) return undefined
  if (given !== 'json' && given !== 'avro') {
    console.error(`--payloads ${given}: expected json or avro`)
    process.exit(2)
  }
  const produced = [...matrix.throughput.filter((c) => c.op === 'produce'), ...matrix.latency]
  const misfits = produced.filter((c) => !payloadFits(given, c.recordSize)).map((c) => c.id)
  if (misfits.length > 0) {
    console.error(
      `--payloads ${given}: no ${given} order fits the record size of ${misfits.join(', ')}; ` +
        `choose cells with --only (e.g. --only '1KiB')`,
    )
    process.exit(2)
  }
  return given
}
const extraSidecars = (opt.target ?? []).map((spec) => {
  const [label, what] = spec.split('=')
  if (!label || !what) {
    throw new Error(`--target expects LABEL=sidecar-config.yaml or LABEL=@CHECKOUT (another build), got "${spec}"`)
  }
  // @DIR: the sidecar of another checkout, built (DIR/dist/src/cli.js), e.g. the commit before a change, so that
  // both are measured in one run under the same conditions.
  if (what.startsWith('@')) return { label, file: undefined, cli: join(what.slice(1), 'dist/src/cli.js') }
  return { label, file: what, cli: undefined }
})
let targetNames = [...opt.targets.split(','), ...extraSidecars.map((s) => `sidecar+${s.label}`)]
// A byte relay (bench/relay.ts) or HAProxy: the floor any proxy's figures start from on this machine. Each needs the
// broker to advertise the relay's port (a relayed listener), and the single broker has one such listener.
const relayTarget = targetNames.filter((n) => n === 'relay' || n === 'haproxy')
if (relayTarget.length > 1) {
  throw new Error(
    '--targets: relay and haproxy cannot be measured in the same run (one relayed broker listener); run twice',
  )
}

if (opt.list) {
  const t = targetNames.length
  console.log(`${matrix.name}: targets ${targetNames.join(', ')}; ${matrix.reps} repetitions\n`)
  for (const c of matrix.throughput)
    console.log(`throughput  ${c.id}  (${c.records} records x ${t} targets x ${matrix.reps})`)
  for (const c of matrix.latency)
    console.log(`latency     ${c.id}  (${c.durationMs / 1000} s x ${t} targets x ${matrix.reps})`)
  for (const n of matrix.connections.counts) {
    console.log(`connections ${n} idle + active  (${t} targets x ${matrix.connections.reps})`)
  }
  process.exit(0)
}

/**
 * The commit the sidecar was built from, and whether its sources differed from it: a figure must name the code
 * it measured, and in a shared working tree that may include uncommitted changes.
 */
async function sourceRevision(): Promise<string> {
  const head = await runCommand('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).catch(() => undefined)
  if (head?.code !== 0) return '(not a git checkout)'
  const dirty = await runCommand('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'codec', 'filters'])
  const changed = dirty.stdout.split('\n').filter(Boolean).length
  return `commit ${head.stdout.trim()}${changed > 0 ? ` + ${changed} uncommitted source file(s)` : ''}`
}

/**
 * A sidecar target's filter counters (kafka_sidecar_filter_*_total from /metrics, summed over labels) at the end of
 * its throughput and latency phases: what a filter under test did (records validated and rejected, records tapped
 * and dropped, requests throttled), so a figure is never read without knowing, e.g., that records were refused.
 */
async function filterCounters(t: Target): Promise<Record<string, number> | undefined> {
  if (t.admin === undefined) return undefined
  try {
    const text = await (await fetch(`http://${t.admin}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
    const sums: Record<string, number> = {}
    for (const m of text.matchAll(/^(kafka_sidecar_filter_\w+_total)(?:\{[^}]*\})? ([\d.e+-]+)$/gm))
      sums[m[1]!] = (sums[m[1]!] ?? 0) + Number(m[2])
    return sums
  } catch (err) {
    say(`${t.name}: /metrics not read (${(err as Error).message})`)
    return undefined
  }
}

/** Targets in a different order on every repetition, so a warming or cooling machine favours none of them. */
function rotated<T>(xs: readonly T[], by: number): T[] {
  return xs.map((_, i) => xs[(i + by) % xs.length]!)
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-')
const resultsDir = join(ROOT, 'bench/results')
const logDir = join(resultsDir, `${stamp}-logs`)
mkdirSync(logDir, { recursive: true })
const profileDir = join(logDir, 'profile')

/** With --payloads, the file of orders a produce of this record size writes (bench/lib/payloads.ts). */
function payloadOf(recordSize: number): { payloadFile?: string } {
  if (payloadKind === undefined) return {}
  let file = payloadFiles.get(recordSize)
  if (file === undefined) {
    file = payloadFile(payloadKind, recordSize, join(logDir, 'payloads'))
    payloadFiles.set(recordSize, file)
  }
  return { payloadFile: file }
}
const payloadFiles = new Map<number, string>()

const result: BenchResult = {
  startedAt: new Date().toISOString(),
  finishedAt: '',
  command: `node dist/bench/run.js ${process.argv.slice(2).join(' ')}`.trim(),
  matrix,
  targets: targetNames,
  skipped: {},
  machine: await describeMachine({
    'tools and broker': javaCommand(),
    ...(targetNames.includes('kroxylicious') && opt['kroxylicious-java']
      ? { kroxylicious: opt['kroxylicious-java'] }
      : {}),
  }),
  versions: {
    kafka: opt['kafka-version'],
    kafkajs: JSON.parse(readFileSync(join(ROOT, 'node_modules/kafkajs/package.json'), 'utf8')).version,
    sidecar: `${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version} ${await sourceRevision()}`,
  },
  settings: {
    kroxyliciousJvmOptions: opt['kroxylicious-jvm-options']?.split(' ').filter(Boolean) ?? KROXYLICIOUS_JVM_OPTIONS,
    brokerJvmOptions: BROKER_JVM_OPTIONS,
    perfToolJvmOptions: PERF_TOOL_JVM_OPTIONS,
  },
  loadDuringRun: spread([]),
  throughput: [],
  latency: [],
  connections: [],
  failures: [],
  filterCounters: {},
}
const loads: number[] = []

say(
  `machine: ${result.machine.cpus} cores, load ${result.machine.loadBefore.join(' / ')}; starting a single-node Kafka ${opt['kafka-version']}`,
)
const relayPort = relayTarget.length > 0 ? await freePort() : undefined
const cluster = await KafkaCluster.start({
  nodes: 1,
  name: 'bench',
  version: opt['kafka-version'],
  jvmOptions: BROKER_JVM_OPTIONS,
  log: say,
  ...(relayPort !== undefined && {
    listeners: { relayed: { advertisedHost: '127.0.0.1', advertisedPorts: [relayPort] } },
  }),
})
const jars: KafkaJars = cluster.describe()
const upstream = cluster.bootstrapServers
const maxNodeId = Math.max(...cluster.nodes.map((n) => n.id))
/** The broker's JVM, whose CPU each throughput repetition reads (brokerCpuSecondsPerGB). */
const brokerPid = cluster.nodes[0]?.pid
const admin = new Kafka({ brokers: upstream.split(','), logLevel: logLevel.NOTHING }).admin()
await admin.connect()

if (targetNames.includes('kroxylicious')) {
  try {
    await prepareKroxylicious({ version: opt['kroxylicious-version'], java: opt['kroxylicious-java'], log: say })
    result.versions.kroxylicious = opt['kroxylicious-version']
  } catch (err) {
    result.skipped.kroxylicious = (err as Error).message
    targetNames = targetNames.filter((t) => t !== 'kroxylicious')
    result.targets = targetNames
    say(`Kroxylicious is not measured: ${(err as Error).message}`)
  }
}

const sidecarNodeArgs = (profile: boolean): string[] => [
  ...(process.env.KSC_SIDECAR_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
  ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
]

/** A fresh process of the named target (direct needs none). */
async function startTarget(name: string, profile = false): Promise<Target> {
  if (name === 'direct') return directTarget(upstream)
  if (name === 'kroxylicious') {
    return startKroxylicious({
      upstream,
      maxNodeId,
      logDir,
      version: opt['kroxylicious-version'],
      java: opt['kroxylicious-java'],
      jvmOptions: result.settings.kroxyliciousJvmOptions,
      log: say,
    })
  }
  if (name === 'relay' || name === 'haproxy') {
    const node = cluster.describe().nodes[0]!
    return startRelay({
      kind: name === 'relay' ? 'node' : 'haproxy',
      port: relayPort!,
      target: { host: node.host, port: node.relayedPort! },
      logDir,
    })
  }
  if (name === 'sidecar') return startSidecar({ upstream, maxNodeId, logDir, nodeArgs: sidecarNodeArgs(profile) })
  const extra = extraSidecars.find((s) => `sidecar+${s.label}` === name)
  if (!extra) throw new Error(`unknown target ${name}`)
  return startSidecar({
    upstream,
    maxNodeId,
    logDir,
    label: extra.label,
    ...(extra.file !== undefined ? { configFile: extra.file } : {}),
    ...(extra.cli !== undefined ? { cli: extra.cli } : {}),
    nodeArgs: sidecarNodeArgs(profile),
  })
}

async function newTopic(name: string, partitions: number): Promise<string> {
  const topic = `bench-${name}-${Date.now().toString(36)}`
  await createTopic({ bootstrapServers: upstream, nodes: cluster.nodes }, topic, { partitions, replicationFactor: 1 })
  return topic
}

async function deleteTopic(topic: string): Promise<void> {
  await admin.deleteTopics({ topics: [topic] }).catch((err: Error) => say(`could not delete ${topic}: ${err.message}`))
}

const PRODUCER_THROUGHPUT_PROPS = ['linger.ms=5', 'batch.size=65536']
/**
 * Latency runs leave out their first seconds: a client's start (JIT, connections, metadata, the rate limiter
 * catching up) puts hundreds of milliseconds on the first thousands of records, which would be the p99 of a
 * 10 s run whatever the target (measured: direct p99 161 ms with them, 6 ms without).
 */
const LATENCY_WARMUP_MS = 3_000

/**
 * An unmeasured produce (direct) into a new topic: the first writes to fresh partitions (segment files,
 * page cache, the broker's per-partition state) are slower, and would otherwise count against whichever target
 * happens to go first. Returns the records written.
 */
async function primeTopic(topic: string, like: Pick<ThroughputCell, 'recordSize' | 'partitions'>): Promise<number> {
  const records = Math.max(1_000, Math.round(16e6 / like.recordSize))
  const cell: ThroughputCell = {
    id: 'prime',
    tool: 'perf',
    op: 'produce',
    acks: '1',
    recordSize: like.recordSize,
    partitions: like.partitions,
    records,
  }
  await throughputOnce(directTarget(upstream), cell, topic)
  return records
}

/** One saturating produce or consume repetition; returns records per second. */
async function throughputOnce(target: Target, cell: ThroughputCell, topic: string): Promise<number> {
  if (cell.tool === 'perf') {
    if (cell.op === 'produce') {
      const r = await runProducerPerf(jars, {
        bootstrap: target.bootstrap,
        topic,
        records: cell.records,
        recordSize: cell.recordSize,
        ...payloadOf(cell.recordSize),
        acks: cell.acks,
        props: PRODUCER_THROUGHPUT_PROPS,
      })
      return r.recordsPerSec
    }
    return (await runConsumerPerf(jars, { bootstrap: target.bootstrap, topic, records: cell.records })).recordsPerSec
  }
  if (cell.op === 'produce') {
    const r = await runKafkajs({
      mode: 'produce',
      bootstrap: target.bootstrap,
      topic,
      records: cell.records,
      recordSize: cell.recordSize,
      ...payloadOf(cell.recordSize),
      acks: cell.acks === 'all' ? -1 : 1,
      batchRecords: Math.max(1, Math.floor(131_072 / cell.recordSize)),
      inflight: 4,
    })
    return r.recordsPerSec
  }
  return (await runKafkajs({ mode: 'consume', bootstrap: target.bootstrap, topic, records: cell.records }))
    .recordsPerSec
}

/**
 * Records per target in the warm-up (perf produce, then perf consume; kafkajs a quarter of it). 30,000 was not
 * enough: in the 10:55, 11:23 and 11:41 runs of 2026-11-22 the sidecar's first measured repetition of perf produce
 * cost 3.20, 2.50 and 3.09 CPU s/GB against 1.17-2.15 in the later ones (its hot paths run a few hundred times a
 * second, so V8 optimizes them only after some seconds), and Kroxylicious' first one 4.80, 6.99 and 4.45 against
 * 1.72-3.28 (the JVM's JIT).
 */
const WARM_UP_RECORDS = 200_000

async function warmUp(targets: readonly Target[]): Promise<void> {
  const topic = await newTopic('warmup', 8)
  const cell: ThroughputCell = {
    id: 'warm-up',
    tool: 'perf',
    op: 'produce',
    acks: '1',
    recordSize: 1024,
    partitions: 8,
    records: WARM_UP_RECORDS,
  }
  for (const target of targets) {
    await throughputOnce(target, cell, topic)
    await throughputOnce(target, { ...cell, op: 'consume' }, topic)
    await throughputOnce(target, { ...cell, tool: 'kafkajs', records: WARM_UP_RECORDS / 4 }, topic)
  }
  await deleteTopic(topic)
}

/** CPU seconds of the bench's broker so far; NaN when its process cannot be read. */
function brokerCpu(): number {
  if (brokerPid === undefined) return Number.NaN
  try {
    return cpuSeconds(brokerPid)
  } catch {
    return Number.NaN
  }
}

async function throughputPhase(targets: readonly Target[]): Promise<void> {
  // Cells sharing a record size and partition count share a topic: produce cells fill what consume cells read.
  const groups = new Map<string, ThroughputCell[]>()
  for (const cell of matrix.throughput) {
    const key = `${sizeLabel(cell.recordSize)}-${cell.partitions}p`
    groups.set(key, [...(groups.get(key) ?? []), cell])
  }
  const total = matrix.throughput.length * matrix.reps * targets.length
  let done = 0
  let turn = 0
  for (const [key, cells] of groups) {
    const topic = await newTopic(key.toLowerCase(), cells[0]!.partitions)
    let produced = await primeTopic(topic, cells[0]!)
    for (const cell of cells) {
      if (cell.op === 'consume' && produced < cell.records) {
        await throughputOnce(directTarget(upstream), { ...cell, tool: 'perf', op: 'produce', acks: '1' }, topic)
        produced += cell.records
      }
      for (let rep = 0; rep < matrix.reps; rep++) {
        for (const target of rotated(targets, turn++)) {
          const window = new ProcessWindow(target.pid)
          const machineBefore = machineBusySeconds()
          const brokerBefore = brokerCpu()
          window.begin()
          let recordsPerSec = Number.NaN
          let error: string | undefined
          try {
            recordsPerSec = await throughputOnce(target, cell, topic)
          } catch (err) {
            error = (err as Error).message
            result.failures.push(`${cell.id} rep ${rep + 1} ${target.name}: ${error}`)
          }
          const w = window.end()
          const gb = (cell.records * cell.recordSize) / 1e9
          const perGB = (seconds: number) => (error ? Number.NaN : seconds / gb)
          if (cell.op === 'produce') produced += cell.records
          const run: ThroughputRun = {
            cell: cell.id,
            target: target.name,
            rep,
            records: cell.records,
            recordsPerSec,
            mbPerSec: (recordsPerSec * cell.recordSize) / 1e6,
            wallSeconds: w.wallSeconds,
            proxyCpuSeconds: w.cpuSeconds,
            proxyCpuSecondsPerGB: perGB(w.cpuSeconds),
            machineCpuSecondsPerGB: perGB(machineBusySeconds() - machineBefore),
            brokerCpuSecondsPerGB: perGB(brokerCpu() - brokerBefore),
            proxyPeakRssMb: w.peakRssMb,
            load1: load1(),
            ...(error && { error }),
          }
          loads.push(run.load1)
          result.throughput.push(run)
          done++
          say(
            `[${done}/${total}] ${cell.id} rep ${rep + 1} ${target.name}: ` +
              (error
                ? `FAILED ${error.split('\n')[0]}`
                : `${run.mbPerSec.toFixed(1)} MB/s, ${recordsPerSec.toFixed(0)} rec/s` +
                  (target.pid
                    ? `, ${run.proxyCpuSecondsPerGB.toFixed(2)} CPU s/GB, peak ${run.proxyPeakRssMb.toFixed(0)} MB`
                    : '')) +
              ` (load ${run.load1})`,
          )
        }
      }
    }
    await deleteTopic(topic)
  }
}

/** Records per second for a latency cell: half of direct's median saturation rate measured in this run. */
async function halfSaturation(cell: LatencyCell): Promise<number> {
  const measured = result.throughput
    .filter((r) => r.cell === cell.saturationCell && r.target === 'direct')
    .map((r) => r.recordsPerSec)
  if (measured.some(Number.isFinite)) return Math.round(median(measured) / 2)
  // Not in this run's matrix (--only): one calibration run, direct.
  say(`${cell.id}: measuring direct saturation (${cell.saturationCell})`)
  const topic = await newTopic('calibrate', cell.partitions)
  const records = Math.max(2_000, Math.round(64e6 / cell.recordSize))
  const rate = await throughputOnce(
    directTarget(upstream),
    {
      id: 'calibration',
      tool: cell.tool,
      op: 'produce',
      acks: cell.acks,
      recordSize: cell.recordSize,
      partitions: cell.partitions,
      records,
    },
    topic,
  )
  await deleteTopic(topic)
  return Math.round(rate / 2)
}

async function latencyPhase(targets: readonly Target[]): Promise<void> {
  let turn = 0
  for (const cell of matrix.latency) {
    const rate = await halfSaturation(cell)
    const topic = await newTopic(`latency-${sizeLabel(cell.recordSize).toLowerCase()}`, cell.partitions)
    await primeTopic(topic, cell)
    for (let rep = 0; rep < matrix.reps; rep++) {
      for (const target of rotated(targets, turn++)) {
        const window = new ProcessWindow(target.pid)
        window.begin()
        let figures = { achieved: Number.NaN, p50: Number.NaN, p99: Number.NaN, p999: Number.NaN }
        let error: string | undefined
        try {
          if (cell.tool === 'perf') {
            const r = await runProducerPerf(jars, {
              bootstrap: target.bootstrap,
              topic,
              records: Math.round((rate * (LATENCY_WARMUP_MS + cell.durationMs)) / 1000),
              warmupRecords: Math.round((rate * LATENCY_WARMUP_MS) / 1000),
              recordSize: cell.recordSize,
              ...payloadOf(cell.recordSize),
              acks: cell.acks,
              throughput: rate,
              props: ['linger.ms=0'],
            })
            figures = { achieved: r.recordsPerSec, p50: r.latencyMs.p50, p99: r.latencyMs.p99, p999: r.latencyMs.p999 }
          } else {
            const r = await runKafkajs({
              mode: 'latency',
              bootstrap: target.bootstrap,
              topic,
              recordSize: cell.recordSize,
              ...payloadOf(cell.recordSize),
              acks: cell.acks === 'all' ? -1 : 1,
              rate,
              warmupMs: LATENCY_WARMUP_MS,
              durationMs: cell.durationMs,
            })
            const us = r.latencyUs!
            figures = { achieved: r.recordsPerSec, p50: us.p50 / 1000, p99: us.p99 / 1000, p999: us.p999 / 1000 }
          }
        } catch (err) {
          error = (err as Error).message
          result.failures.push(`${cell.id} rep ${rep + 1} ${target.name}: ${error}`)
        }
        const w = window.end()
        const run: LatencyRun = {
          cell: cell.id,
          target: target.name,
          rep,
          rate,
          achievedRecordsPerSec: figures.achieved,
          p50Ms: figures.p50,
          p99Ms: figures.p99,
          p999Ms: figures.p999,
          proxyCpuSeconds: w.cpuSeconds,
          proxyPeakRssMb: w.peakRssMb,
          load1: load1(),
          ...(error && { error }),
        }
        loads.push(run.load1)
        result.latency.push(run)
        say(
          `${cell.id} @ ${rate} rec/s rep ${rep + 1} ${target.name}: ` +
            (error
              ? `FAILED ${error.split('\n')[0]}`
              : `p50 ${figures.p50.toFixed(2)} p99 ${figures.p99.toFixed(2)} p99.9 ${figures.p999.toFixed(2)} ms, achieved ${figures.achieved.toFixed(0)} rec/s`) +
            ` (load ${run.load1})`,
        )
      }
    }
    await deleteTopic(topic)
  }
}

/**
 * One repetition of the connection series on a fresh proxy process: warm it up, then for each N in ascending
 * order open N connections, hold them idle, make them produce, close them. Later steps run in a proxy that
 * has served the earlier ones, as a long-running sidecar would have.
 */
async function connectionSeries(name: string, rep: number, topic: string, partitions: number): Promise<void> {
  const c = matrix.connections
  const job = { topic, partitions, recordSize: c.recordSize, activeMs: c.activeMs }
  const target = await startTarget(name)
  const pid = target.pid
  try {
    const startRssMb = pid === undefined ? Number.NaN : rssMb(pid)
    if (pid !== undefined) {
      // Warm the proxy up (JIT, buffers) the same way for every proxy, then let it settle.
      const warm = await ConnectionsDriver.open({
        ...job,
        bootstrap: target.bootstrap,
        connections: 10,
        activeMs: 2_000,
      })
      await warm.driver.active()
      await warm.driver.close()
      await sleep(500)
    }
    for (const n of c.counts) {
      try {
        await connectionStep(target, n, rep, startRssMb, job)
      } catch (err) {
        fail(`connections ${n} rep ${rep + 1} ${name}`, err)
      }
    }
  } finally {
    await target.stop()
  }
}

async function connectionStep(
  target: Target,
  n: number,
  rep: number,
  startRssMb: number,
  job: { topic: string; partitions: number; recordSize: number; activeMs: number },
): Promise<void> {
  const c = matrix.connections
  const pid = target.pid
  const baselineRssMb = pid === undefined ? Number.NaN : rssMb(pid)
  if (pid !== undefined) resetPeakRss(pid)
  const { driver, connectMs } = await ConnectionsDriver.open({ ...job, bootstrap: target.bootstrap, connections: n })
  try {
    await sleep(500)
    const idleCpuBefore = pid === undefined ? 0 : cpuSeconds(pid)
    await sleep(c.holdMs)
    const idleCpu = pid === undefined ? Number.NaN : cpuSeconds(pid) - idleCpuBefore
    const idleRssMb = pid === undefined ? Number.NaN : rssMb(pid)
    const idleRssAnonMb = pid === undefined ? Number.NaN : rssAnonMb(pid)
    const window = new ProcessWindow(pid)
    window.begin()
    const active = await driver.active()
    const w = window.end()
    const run: ConnectionRun = {
      target: target.name,
      rep,
      connections: n,
      connectMs,
      startRssMb,
      baselineRssMb,
      idleRssMb,
      idleRssAnonMb,
      idleCpuPercent: (100 * idleCpu) / (c.holdMs / 1000),
      activeRequestsPerSec: active.requests / active.seconds,
      activeCpuUsPerRequest: (w.cpuSeconds * 1e6) / active.requests,
      activeCpuPercent: (100 * w.cpuSeconds) / w.wallSeconds,
      activePeakRssMb: w.peakRssMb,
      activeP99Us: active.latencyUs.p99,
      errors: active.errors,
      load1: load1(),
    }
    loads.push(run.load1)
    result.connections.push(run)
    say(
      `connections ${n} rep ${rep + 1} ${target.name}: connect ${connectMs} ms` +
        (pid === undefined
          ? ''
          : `, idle RSS ${idleRssMb.toFixed(1)} MB (anon ${idleRssAnonMb.toFixed(1)}; before ${baselineRssMb.toFixed(1)}, at start ${startRssMb.toFixed(1)}), idle CPU ${run.idleCpuPercent.toFixed(1)}%`) +
        `; active ${run.activeRequestsPerSec.toFixed(0)} req/s` +
        (pid === undefined
          ? ''
          : `, ${run.activeCpuUsPerRequest.toFixed(0)} CPU µs/req, peak ${run.activePeakRssMb.toFixed(1)} MB`) +
        `${active.errors ? `, ${active.errors} connections got errors` : ''} (load ${run.load1})`,
    )
  } finally {
    await driver.close()
  }
}

async function connectionsPhase(): Promise<void> {
  const partitions = 8
  const topic = await newTopic('connections', partitions)
  for (let rep = 0; rep < matrix.connections.reps; rep++) {
    for (const name of rotated(targetNames, rep)) {
      try {
        await connectionSeries(name, rep, topic, partitions)
      } catch (err) {
        fail(`connections rep ${rep + 1} ${name}`, err)
      }
    }
  }
  await deleteTopic(topic)
}

const longLived: Target[] = []
try {
  if (matrix.throughput.length + matrix.latency.length > 0) {
    for (const name of targetNames) {
      try {
        longLived.push(await startTarget(name, opt.profile === true && name.startsWith('sidecar')))
      } catch (err) {
        if (name !== 'kroxylicious') throw err
        result.skipped.kroxylicious = (err as Error).message
        say(`Kroxylicious did not start: ${(err as Error).message}`)
      }
    }
    targetNames = longLived.map((t) => t.name)
    result.targets = targetNames
    say(
      `targets: ${longLived.map((t) => `${t.name} ${t.bootstrap}${t.pid ? ` pid ${t.pid}` : ''}`).join(', ')}; warming up`,
    )
    await warmUp(longLived)
    await throughputPhase(longLived)
    await latencyPhase(longLived)
    for (const t of longLived) {
      const counters = await filterCounters(t)
      if (counters !== undefined) result.filterCounters[t.name] = counters
    }
    for (const t of longLived.splice(0)) await t.stop()
    if (opt.profile) {
      const top = topSelfTime(profileDir, 20, ROOT)
      result.profile = { dir: profileDir, totalMs: top.totalMs, busyMs: top.busyMs, top: top.entries }
    }
  }
  if (matrix.connections.counts.length > 0) await connectionsPhase()
} finally {
  for (const t of longLived) await t.stop().catch(() => {})
  await admin.disconnect().catch(() => {})
  await cluster.stop()
}

result.finishedAt = new Date().toISOString()
result.loadDuringRun = spread(loads)
const { markdown } = renderReport(result)
const jsonFile = join(resultsDir, `${stamp}.json`)
writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`)
writeFileSync(join(resultsDir, `${stamp}.md`), `${markdown}\n`)
console.log(`\n${markdown}`)
console.log(`figures written to ${jsonFile} (logs in ${logDir})`)

if (opt['update-doc']) {
  const doc = join(ROOT, 'BENCHMARKS.md')
  const text = readFileSync(doc, 'utf8')
  const begin = '<!-- bench:begin -->'
  const end = '<!-- bench:end -->'
  const from = text.indexOf(begin)
  const to = text.indexOf(end)
  if (from < 0 || to < from) throw new Error(`${doc} has no ${begin} ... ${end} section to replace`)
  writeFileSync(doc, `${text.slice(0, from + begin.length)}\n${markdown}\n${text.slice(to)}`)
  console.log(`${doc} updated`)
}
