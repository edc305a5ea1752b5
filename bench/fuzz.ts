/**
 * Fuzzing the codec (issue 21): the frame decoder, the request and response headers, the message codecs of every
 * API and version, and the record batch reader with all four compressions. Each target (bench/fuzz/targets/) is
 * structure-aware: valid frames and batches built from the generated schema, checked to decode and re-encode byte
 * for byte, then mutated field by field and byte by byte. Invariants on every case: no exception but the codec's
 * own CodecErrors, decoders that agree with each other, memory within the target's bound (a single allocation and
 * the case's heap-plus-external growth, bench/fuzz/memory-guard.ts), and no case that never returns (a watchdog
 * kills the child process running the target after --hang-ms without progress and reports the case).
 *
 *   npm run fuzz                                          # every target, 1,000,000 cases each, seed 1
 *   npm run fuzz -- --cases 20000 --seed 7 --target messages,header
 *   npm run fuzz -- --target messages --seed S --path P   # replay one crash (seed and path as printed)
 *
 * Prints per target the cases run, cases/s, crashes (each with its reproducer), the peak RSS of one fuzzing process
 * (--processes N shares a target's batches among N child processes, for machines with cores to spare; each has about
 * that much), its peak heap-plus-external memory and the largest one-case growth; writes the same as JSON under
 * bench/results/ (with --out FILE, there). Exit status 1 when anything crashed. Run it under `nice -n 19` on a
 * shared machine. CI runs a fixed-seed slice of every target in test/codec/fuzz-slice.test.ts.
 *
 * Coverage-guided fuzzing: jazzer.js (@jazzer.js/core, libFuzzer in Node) is not a dependency. Its only release
 * with a linux-x64 prebuilt, 4.0.0, cannot load on this project's machines (Debian 12, glibc 2.36): the binary
 * needs GLIBC_2.38 (__isoc23_strtol, __isoc23_strtoul) and GLIBCXX_3.4.32 (std::ios_base_library_init) and fails
 * with ERR_DLOPEN_FAILED; 2.1.0, the release before it, downloads its prebuilt from outside the npm registry at install
 * time and otherwise builds libFuzzer from source (with `prebuild`, which it does not install), neither of which an
 * install here can do. Where it loads (glibc 2.38+), every target
 * has a byte-level entry for it, bench/fuzz/jazzer.ts:
 *   KSC_FUZZ_TARGET=messages npx @jazzer.js/core dist/bench/fuzz/jazzer.js --sync -- -max_total_time=600
 */
import { fork } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { prepareZstdCompression } from '../codec/records/index.js'
import type { ChildInput, ChildMessage } from './fuzz/child.js'
import { installAllocationGuard } from './fuzz/memory-guard.js'
import { batchSeed, type Crash, replay, type TargetRun } from './fuzz/runner.js'
import { FUZZ_TARGETS, fuzzTarget } from './fuzz/targets/index.js'

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
    processes: { type: 'string', default: '1' },
    'progress-every': { type: 'string', default: '50000' },
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
 * Runs one target's share of batches in a child process (bench/fuzz/child.ts, which says why not a worker thread),
 * restarting after a hang or an exit inside a case at the next batch of the share.
 */
async function runInChild(target: string, cases: number, shard: { index: number; count: number }) {
  const batchSize = Number(opt.batch)
  const hangMs = Number(opt['hang-ms'])
  const crashes: Crash[] = []
  const started = performance.now()
  let total: TargetRun | undefined
  let maxRssKb = 0
  let casesBefore = 0
  let startBatch = 0
  const label = `${target}${shard.count > 1 ? ` [process ${shard.index + 1}/${shard.count}]` : ''}`
  while (total === undefined) {
    const input: ChildInput = { target, cases, seed, batchSize, startBatch, shard }
    const child = fork(fileURLToPath(new URL('./fuzz/child.js', import.meta.url)), [], {
      env: { ...process.env, KSC_FUZZ_CHILD: JSON.stringify(input) },
      execArgv: [`--max-old-space-size=${Number(opt['heap-mb'])}`],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    let at = { batch: startBatch, run: 0, cases: casesBefore }
    const outcome = await new Promise<{ failure?: Crash['kind']; detail?: string }>((resolve) => {
      let lastChange = performance.now()
      const timer = setInterval(() => {
        if (performance.now() - lastChange > hangMs) {
          clearInterval(timer)
          child.kill('SIGKILL')
          resolve({ failure: 'hang' })
        }
      }, 500)
      child.on('message', (m: ChildMessage) => {
        lastChange = performance.now()
        if (m.type === 'progress') {
          if (m.elapsedMs < 0) at = { batch: m.batch, run: m.run, cases: m.cases }
          else if (Math.floor(m.cases / progressEvery) > Math.floor((m.cases - batchSize) / progressEvery))
            console.log(
              `  ${label}: ${m.cases} cases, ${Math.round(m.cases / (m.elapsedMs / 1000))} cases/s, ${crashes.length} crash(es)`,
            )
        } else if (m.type === 'crash') {
          crashes.push(m.crash)
          printCrash(m.crash)
        } else {
          total = m.result
          maxRssKb = m.maxRssKb
        }
      })
      child.on('exit', (code, signal) => {
        clearInterval(timer)
        // After its figures a child may still crash on the way out (see child.ts): that is not a finding.
        if (total !== undefined) resolve({})
        else
          resolve({ failure: code === 134 ? 'out-of-memory' : 'error', detail: `exit code ${code}, signal ${signal}` })
      })
    })
    if (total !== undefined) break
    // The child died or hung inside a case: report it (batch seed and the run index, within ten) and go on after
    // its batch.
    const crash: Crash = {
      target,
      seed: batchSeed(seed, at.batch),
      path: String(at.run),
      kind: outcome.failure!,
      message:
        outcome.failure === 'hang'
          ? `no case finished for ${hangMs} ms (the case is run ${at.run} of its batch or one of the nine after it)`
          : `the process ended inside a case: ${outcome.detail}`,
      stack: '',
      input: '',
    }
    crashes.push(crash)
    printCrash(crash)
    casesBefore = at.cases
    startBatch = at.batch + 1
    if (startBatch * batchSize >= cases) break
  }
  const elapsedMs = performance.now() - started
  const ran = total === undefined ? casesBefore : total.cases
  return {
    target,
    cases: ran,
    crashes,
    elapsedMs,
    peakCaseGrowth: total?.peakCaseGrowth ?? 0,
    peakHeap: total?.peakHeap ?? 0,
    casesPerSecond: ran / (elapsedMs / 1000),
    peakRssMb: maxRssKb / 1024,
  }
}

/** Runs a target on `processes` children at once (each a share of the batches) and adds up their figures. */
async function runParallel(target: string, cases: number, processes: number): Promise<TargetReport> {
  const started = performance.now()
  const shards = await Promise.all(
    Array.from({ length: processes }, (_, index) => runInChild(target, cases, { index, count: processes })),
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

/** A progress line every this many cases of a process. */
const progressEvery = Number(opt['progress-every'])

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1)
const cases = Number(opt.cases)
console.log(`fuzzing ${targets.join(', ')}: ${cases} cases each, seed ${seed}, node ${process.version}`)
const reports: TargetReport[] = []
for (const target of targets) {
  fuzzTarget(target)
  const report = await runParallel(target, cases, Number(opt.processes))
  reports.push(report)
  console.log(
    `${target}: ${report.cases} cases in ${(report.elapsedMs / 1000).toFixed(1)} s, ${Math.round(report.casesPerSecond)} cases/s, ` +
      `${report.crashes.length} crash(es), peak RSS ${report.peakRssMb.toFixed(0)} MiB`,
  )
}

console.log(
  '\n| target | cases | cases/s | crashes | peak RSS of a process (MiB) | peak heap+external (MiB) | largest case growth (MiB) |',
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
