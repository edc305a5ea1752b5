/**
 * Fuzzing the codec (issue 21): the frame decoder, the request and response headers, the message codecs of every
 * API and version, and the record batch reader with all four compressions. Each target (bench/fuzz/targets/) is
 * structure-aware: valid frames and batches built from the generated schema, checked to decode and re-encode byte
 * for byte, then mutated field by field and byte by byte. Invariants on every case: no exception but the codec's
 * own CodecErrors, decoders that agree with each other, memory within the target's bound (a single allocation and
 * the case's heap-plus-external growth, bench/fuzz/memory-guard.ts), and no case that never returns (a watchdog
 * ends the worker after --hang-ms without progress and reports the case).
 *
 *   npm run fuzz                                          # every target, 1,000,000 cases each, seed 1
 *   npm run fuzz -- --cases 20000 --seed 7 --target messages,header
 *   npm run fuzz -- --target messages --seed S --path P   # replay one crash (seed and path as printed)
 *
 * Prints per target the cases run, cases/s, crashes (each with its reproducer), the process's peak RSS while the
 * target ran (all its workers: --workers N shares a target's batches among N worker threads, for machines with
 * cores to spare) and the target's peak heap-plus-external memory (one worker) and largest one-case growth; writes the same as JSON
 * under bench/results/ (with --out FILE, there). Exit status 1 when anything crashed. Run it under `nice -n 19` on a
 * shared machine. CI runs a fixed-seed slice of every target in test/codec/fuzz-slice.test.ts.
 *
 * Coverage-guided fuzzing: jazzer.js (@jazzer.js/core, libFuzzer in Node) is not a dependency. Its only release
 * with a linux-x64 prebuilt, 4.0.0, cannot load on this project's machines (Debian 12, glibc 2.36): the binary
 * needs GLIBC_2.38 (__isoc23_strtol, __isoc23_strtoul) and GLIBCXX_3.4.32 (std::ios_base_library_init) and fails
 * with ERR_DLOPEN_FAILED; the releases before it download their prebuilt from GitHub at install time and otherwise
 * build libFuzzer from source, neither of which an install here can do. Where it loads (glibc 2.38+), every target
 * has a byte-level entry for it, bench/fuzz/jazzer.ts:
 *   KSC_FUZZ_TARGET=messages npx @jazzer.js/core dist/bench/fuzz/jazzer.js --sync -- -max_total_time=600
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import { prepareZstdCompression } from '../codec/records/index.js'
import { installAllocationGuard } from './fuzz/memory-guard.js'
import {
  batchSeed,
  type Crash,
  PROGRESS_BATCH,
  PROGRESS_CASES,
  PROGRESS_RUN,
  replay,
  type TargetRun,
} from './fuzz/runner.js'
import { FUZZ_TARGETS, fuzzTarget } from './fuzz/targets/index.js'
import type { WorkerInput } from './fuzz/worker.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

const { values: opt } = parseArgs({
  options: {
    cases: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    target: { type: 'string' },
    path: { type: 'string' },
    batch: { type: 'string', default: '2000' },
    'hang-ms': { type: 'string', default: '60000' },
    'heap-mb': { type: 'string', default: '1024' },
    workers: { type: 'string', default: '1' },
    out: { type: 'string' },
  },
})

const seed = Number(opt.seed)
const targets = opt.target === undefined ? FUZZ_TARGETS.map((t) => t.name) : opt.target.split(',')

if (opt.path !== undefined) {
  if (targets.length !== 1) throw new Error('--path replays one case: give --target and --seed as printed with it')
  await prepareZstdCompression()
  installAllocationGuard()
  await replay(fuzzTarget(targets[0]!), seed, opt.path)
  console.log('the case passes')
  process.exit(0)
}

interface TargetReport extends TargetRun {
  casesPerSecond: number
  peakRssMb: number
}

/**
 * Runs one target's share of batches in a worker, restarting after a hang or an out-of-memory exit at the next
 * batch of the share.
 */
async function runInWorker(target: string, cases: number, shard: { index: number; count: number }) {
  const batchSize = Number(opt.batch)
  const hangMs = Number(opt['hang-ms'])
  const crashes: Crash[] = []
  const progress = new Int32Array(new SharedArrayBuffer(12))
  let peakRss = process.memoryUsage.rss()
  let total: TargetRun | undefined
  let casesBefore = 0
  let peakCaseGrowth = 0
  let peakHeap = 0
  const started = performance.now()
  let startBatch = 0
  while (total === undefined) {
    const input: WorkerInput = {
      target,
      cases,
      seed,
      batchSize,
      startBatch,
      shard,
      progress: progress.buffer as SharedArrayBuffer,
    }
    const worker = new Worker(new URL('./fuzz/worker.js', import.meta.url), {
      workerData: input,
      resourceLimits: { maxOldGenerationSizeMb: Number(opt['heap-mb']) },
    })
    const outcome = await new Promise<{ run?: TargetRun; failure?: Crash['kind']; error?: unknown }>((resolve) => {
      let last = Atomics.load(progress, PROGRESS_CASES)
      let lastChange = performance.now()
      const timer = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage.rss())
        const now = Atomics.load(progress, PROGRESS_CASES)
        if (now !== last) {
          last = now
          lastChange = performance.now()
        } else if (performance.now() - lastChange > hangMs) {
          clearInterval(timer)
          void worker.terminate()
          resolve({ failure: 'hang' })
        }
      }, 200)
      type Message =
        | { type: 'crash'; crash: Crash }
        | { type: 'done'; result: TargetRun }
        | { type: 'progress'; cases: number; elapsedMs: number }
      worker.on('message', (m: Message) => {
        if (m.type === 'progress')
          console.log(
            `  ${target}${shard.count > 1 ? ` [worker ${shard.index + 1}/${shard.count}]` : ''}: ${m.cases} cases, ${Math.round(m.cases / (m.elapsedMs / 1000))} cases/s, ` +
              `${crashes.length} crash(es), RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB so far`,
          )
        else if (m.type === 'crash') {
          crashes.push(m.crash)
          printCrash(m.crash)
        } else {
          clearInterval(timer)
          resolve({ run: m.result })
        }
      })
      worker.on('error', (error) => {
        clearInterval(timer)
        const code = (error as { code?: string }).code
        resolve({ failure: code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'out-of-memory' : 'error', error })
      })
    })
    if (outcome.run !== undefined) {
      total = outcome.run
      break
    }
    // The worker died inside a case: report it (batch seed and run index replay it) and go on after its batch.
    const batch = Atomics.load(progress, PROGRESS_BATCH)
    const crash: Crash = {
      target,
      seed: batchSeed(seed, batch),
      path: String(Atomics.load(progress, PROGRESS_RUN)),
      kind: outcome.failure!,
      message:
        outcome.failure === 'hang'
          ? `no case finished for ${hangMs} ms`
          : String((outcome.error as Error)?.message ?? outcome.error),
      stack: String((outcome.error as Error)?.stack ?? ''),
      input: '',
    }
    crashes.push(crash)
    printCrash(crash)
    casesBefore = Atomics.load(progress, PROGRESS_CASES)
    startBatch = batch + 1
    if (startBatch * batchSize >= cases) break
  }
  const elapsedMs = performance.now() - started
  // The progress counter also counts the runs of shrinking a crash; a finished worker's own count does not.
  const ran = total === undefined ? casesBefore : total.cases
  peakCaseGrowth = Math.max(peakCaseGrowth, total?.peakCaseGrowth ?? 0)
  peakHeap = Math.max(peakHeap, total?.peakHeap ?? 0)
  return {
    target,
    cases: ran,
    crashes,
    elapsedMs,
    peakCaseGrowth,
    peakHeap,
    casesPerSecond: ran / (elapsedMs / 1000),
    peakRssMb: peakRss / 2 ** 20,
  }
}

/** Runs a target on `workers` workers at once (each a share of the batches) and adds up their figures. */
async function runParallel(target: string, cases: number, workers: number): Promise<TargetReport> {
  const started = performance.now()
  const shards = await Promise.all(
    Array.from({ length: workers }, (_, index) => runInWorker(target, cases, { index, count: workers })),
  )
  const elapsedMs = performance.now() - started
  const ran = shards.reduce((n, s) => n + s.cases, 0)
  return {
    target,
    cases: ran,
    crashes: shards.flatMap((s) => s.crashes),
    elapsedMs,
    peakCaseGrowth: Math.max(...shards.map((s) => s.peakCaseGrowth)),
    peakHeap: Math.max(...shards.map((s) => s.peakHeap)),
    casesPerSecond: ran / (elapsedMs / 1000),
    peakRssMb: Math.max(...shards.map((s) => s.peakRssMb)),
  }
}

function printCrash(c: Crash): void {
  console.log(`\nCRASH in ${c.target} (${c.kind}): ${c.message}`)
  console.log(`  reproduce: node dist/bench/fuzz.js --target ${c.target} --seed ${c.seed} --path ${c.path}`)
  if (c.input !== '') console.log(`  input: ${c.input.slice(0, 600)}`)
  const frames = c.stack.split('\n').slice(1, 6).join('\n')
  if (frames !== '') console.log(frames)
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1)
const cases = Number(opt.cases)
console.log(`fuzzing ${targets.join(', ')}: ${cases} cases each, seed ${seed}, node ${process.version}`)
const reports: TargetReport[] = []
for (const target of targets) {
  fuzzTarget(target)
  const report = await runParallel(target, cases, Number(opt.workers))
  reports.push(report)
  console.log(
    `${target}: ${report.cases} cases in ${(report.elapsedMs / 1000).toFixed(1)} s, ${Math.round(report.casesPerSecond)} cases/s, ` +
      `${report.crashes.length} crash(es), peak RSS ${report.peakRssMb.toFixed(0)} MiB`,
  )
}

console.log(
  '\n| target | cases | cases/s | crashes | peak RSS (MiB) | peak heap+external (MiB) | largest case growth (MiB) |',
)
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const r of reports)
  console.log(
    `| ${r.target} | ${r.cases} | ${Math.round(r.casesPerSecond)} | ${r.crashes.length} | ${r.peakRssMb.toFixed(0)} | ` +
      `${mb(r.peakHeap)} | ${mb(r.peakCaseGrowth)} |`,
  )
const out = opt.out ?? join(ROOT, 'bench/results', `fuzz-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, `${JSON.stringify({ seed, casesPerTarget: cases, node: process.version, reports }, null, 2)}\n`)
console.log(`\nwritten to ${out}`)
process.exitCode = reports.some((r) => r.crashes.length > 0) ? 1 : 0
