/**
 * Hostile clients (issue 15) against one sidecar in front of a real single-node Kafka, while a well-behaved client,
 * Kafka's own kafka-producer-perf-test, produces through the same sidecar. Each pattern gets a fresh sidecar:
 *
 *   burst        10 connections announce a 100 MiB frame whose header is ApiVersions v0 and send 90 MiB of it
 *   max-frame    10 connections announce exactly maxFrameBytes (104,857,600) and send 10 MB of garbage
 *   huge-prefix  1 connection sends a 2 GB size prefix (0x7fffffff) and then 10 MB
 *   idle         5,000 connections that never send a byte
 *   churn        ~500 connections a second, each closed by the client as soon as it is up
 *   slowloris    200 connections sending a valid ApiVersions request (78 bytes) one byte a second
 *
 * The frame patterns repeat in rounds while the good client runs; slowloris runs at least 45 s (longer than the
 * default limits.requestAssemblyTimeoutMs). Figures per pattern: the sidecar's RSS idle before, its peak (VmHWM),
 * and 10 s and `--settle-s` after the hostile clients let go; what happened to the hostile connections (closed by
 * the sidecar of those attempted; kafka_sidecar_connections_refused_total where the sidecar has it); the most file
 * descriptors the sidecar held; its log output and the errors it counted; the sidecar's CPU; the good client's
 * MB/s (1 KiB records) alone before and during the pattern, and its errors.
 *
 *   npm run build && node dist/bench/hostile.js [--patterns burst,idle,...] [--settle-s 60] [--records 500000]
 *       [--bootstrap HOST:PORT] [--no-malloc-env] [--variant=LABEL[:CONFIG.yaml[:NODE ARGS]]]...
 *
 * --bootstrap uses a running broker (e.g. `npm run kafka`) instead of starting one. --no-malloc-env starts the
 * sidecar without the shipped malloc settings (src/runtime/malloc-env.ts), as launchers did before issue 15.
 * Writes bench/results/hostile-<time>.json. Linux only (/proc).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { KafkaJars } from '../test/harness/kafka-tools.js'
import {
  announceAndSend,
  apiVersionsV0Request,
  churn,
  type HostileOutcome,
  idleSockets,
  requestStart,
  slowloris,
} from '../test/support/hostile-clients.js'
import { type GoodRun, hostileKafka, measureWindow, median, resultsFile } from './lib/hostile-run.js'
import { startSidecar } from './lib/targets.js'
import { variantsFromArgv } from './lib/variants.js'

const PATTERNS = ['burst', 'max-frame', 'huge-prefix', 'idle', 'churn', 'slowloris'] as const
type Pattern = (typeof PATTERNS)[number]

const { values: opt } = parseArgs({
  options: {
    patterns: { type: 'string', default: PATTERNS.join(',') },
    'settle-s': { type: 'string', default: '60' },
    records: { type: 'string', default: '500000' },
    bootstrap: { type: 'string' },
    'no-malloc-env': { type: 'boolean' },
    variant: { type: 'string', multiple: true },
  },
})

const MiB = 1024 * 1024
const MAX_FRAME_BYTES = 104_857_600
const say = (m: string) => process.stderr.write(`[hostile ${new Date().toISOString().slice(11, 19)}] ${m}\n`)

interface Row {
  variant: string
  pattern: Pattern
  idleRssMb: number
  peakRssMb: number
  rss10sMb: number
  rssSettledMb: number
  outcome: Omit<HostileOutcome, 'closedAfterMs'> & { rounds: number; medianClosedAfterMs: number | null }
  refused: number | null
  errorsCounted: number
  maxFds: number
  logBytes: number
  cpuSeconds: number
  before: GoodRun
  during: GoodRun
}

/** One round of a frame pattern, or the whole of a connection pattern; resolves when its clients have let go. */
async function runPattern(
  pattern: Pattern,
  address: string,
  stop: Promise<void>,
  engaged: () => void,
): Promise<{ outcomes: HostileOutcome[] }> {
  const outcomes: HostileOutcome[] = []
  let stopped = false
  void stop.then(() => {
    stopped = true
  })
  const rounds = async (round: () => Promise<HostileOutcome>) => {
    engaged()
    do outcomes.push(await round())
    while (!stopped)
  }
  switch (pattern) {
    case 'burst':
      await rounds(() =>
        announceAndSend({
          address,
          connections: 10,
          start: requestStart(100 * MiB),
          followBytes: 90 * MiB - requestStart(0).length,
          holdMs: 500,
        }),
      )
      break
    case 'max-frame': {
      const prefix = Buffer.alloc(4)
      prefix.writeUInt32BE(MAX_FRAME_BYTES)
      await rounds(() =>
        announceAndSend({ address, connections: 10, start: prefix, followBytes: 10e6, holdMs: 5_000, until: stop }),
      )
      break
    }
    case 'huge-prefix':
      await rounds(() =>
        announceAndSend({
          address,
          connections: 1,
          start: Buffer.from([0x7f, 0xff, 0xff, 0xff]),
          followBytes: 10e6,
          holdMs: 2_000,
          until: stop,
        }),
      )
      break
    case 'idle':
      outcomes.push(await idleSockets({ address, connections: 5_000, holdMs: 3_600_000, until: stop, onOpen: engaged }))
      break
    case 'churn':
      setTimeout(engaged, 1_000)
      outcomes.push(await churn({ address, perSecond: 500, durationMs: 3_600_000, until: stop }))
      break
    case 'slowloris':
      outcomes.push(
        await slowloris({
          address,
          connections: 200,
          // 78 bytes: at one a second, one request takes longer than limits.requestAssemblyTimeoutMs (30 s).
          request: apiVersionsV0Request('s'.repeat(64)),
          intervalMs: 1_000,
          durationMs: 3_600_000,
          until: stop,
          onOpen: engaged,
        }),
      )
      break
  }
  return { outcomes }
}

async function measure(
  pattern: Pattern,
  variant: ReturnType<typeof variantsFromArgv>[number],
  ctx: { upstream: string; jars: KafkaJars; logDir: string; records: number; settleMs: number },
): Promise<Row> {
  const target = await startSidecar({
    upstream: ctx.upstream,
    maxNodeId: 1,
    logDir: ctx.logDir,
    label: `${variant.label}-${pattern}`,
    nodeArgs: variant.nodeArgs,
    ...(variant.configFile === undefined ? {} : { configFile: variant.configFile }),
    logLevel: 'info',
    ...(opt['no-malloc-env'] ? { env: { MALLOC_MMAP_THRESHOLD_: undefined } } : {}),
  })
  const w = await measureWindow(target, (address, stop, engaged) => runPattern(pattern, address, stop, engaged), {
    jars: ctx.jars,
    records: ctx.records,
    settleMs: ctx.settleMs,
    minMs: pattern === 'slowloris' ? 45_000 : 0,
  })
  const outcomes = w.outcome.outcomes
  const sum = (f: (o: HostileOutcome) => number) => outcomes.reduce((n, o) => n + f(o), 0)
  return {
    variant: variant.label,
    pattern,
    idleRssMb: w.idleRssMb,
    peakRssMb: w.peakRssMb,
    rss10sMb: w.rss10sMb,
    rssSettledMb: w.rssSettledMb,
    outcome: {
      rounds: outcomes.length,
      attempted: sum((o) => o.attempted),
      closedBySidecar: sum((o) => o.closedBySidecar),
      failedToConnect: sum((o) => o.failedToConnect),
      stillOpen: sum((o) => o.stillOpen),
      bytesWritten: sum((o) => o.bytesWritten),
      medianClosedAfterMs: median(outcomes.flatMap((o) => o.closedAfterMs)),
    },
    refused: w.refused,
    errorsCounted: w.errorsCounted,
    maxFds: w.maxFds,
    logBytes: w.logBytes,
    cpuSeconds: w.cpuSeconds,
    before: w.before,
    during: w.during,
  }
}

function table(rows: readonly Row[], settleS: number): string {
  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a')
  const out = [
    `| variant | pattern | idle RSS MB | peak RSS MB | RSS +10 s | RSS +${settleS} s | hostile conns (rounds) | closed by sidecar | median ms to close | refused (metric) | errors counted | max fds | log KB | sidecar CPU s | good MB/s before | good MB/s during | good errors |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for (const r of rows) {
    const o = r.outcome
    out.push(
      `| ${r.variant} | ${r.pattern} | ${f(r.idleRssMb)} | ${f(r.peakRssMb)} | ${f(r.rss10sMb)} | ${f(r.rssSettledMb)} | ` +
        `${o.attempted} (${o.rounds}) | ${o.closedBySidecar} | ${o.medianClosedAfterMs ?? '-'} | ${r.refused ?? 'n/a'} | ` +
        `${r.errorsCounted} | ${r.maxFds} | ${f(r.logBytes / 1024)} | ${f(r.cpuSeconds, 1)} | ` +
        `${f(r.before.mbPerSec, 1)} | ${f(r.during.mbPerSec, 1)} | ${r.before.errors + r.during.errors} |`,
    )
  }
  return out.join('\n')
}

async function main(): Promise<void> {
  const patterns = opt.patterns.split(',').map((p) => {
    if (!(PATTERNS as readonly string[]).includes(p)) throw new Error(`--patterns: unknown "${p}" (${PATTERNS})`)
    return p as Pattern
  })
  const settleS = Number(opt['settle-s'])
  const records = Number(opt.records)
  const variants = variantsFromArgv()
  const logDir = mkdtempSync(join(tmpdir(), 'ksc-hostile-'))
  say(`${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2))}; logs in ${logDir}`)
  const kafka = await hostileKafka(opt.bootstrap, say)
  const rows: Row[] = []
  try {
    for (const variant of variants)
      for (const pattern of patterns) {
        say(`${variant.label}: ${pattern}`)
        const row = await measure(pattern, variant, {
          upstream: kafka.upstream,
          jars: kafka.jars,
          logDir,
          records,
          settleMs: settleS * 1000,
        })
        rows.push(row)
        say(`  ${table([row], settleS).split('\n')[2]}`)
      }
  } finally {
    await kafka.stop()
  }
  console.log(
    `\nHostile clients through one sidecar (issue 15); good client: kafka-producer-perf-test, ${records} x 1 KiB, acks=all; ` +
      `${cpus().length} cores, Node ${process.version}${opt['no-malloc-env'] ? ', sidecar without MALLOC_MMAP_THRESHOLD_' : ''}\n`,
  )
  console.log(table(rows, settleS))
  const out = resultsFile('hostile')
  mkdirSync(new URL('.', out), { recursive: true })
  writeFileSync(
    out,
    `${JSON.stringify({ node: process.version, cpus: cpus().length, records, settleS, rows }, null, 2)}\n`,
  )
  console.log(`figures written to ${out.pathname}`)
}

await main()
