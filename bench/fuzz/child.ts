import { prepareZstdCompression } from '../../codec/records/index.js'
import { installAllocationGuard } from './memory-guard.js'
import { runTarget } from './runner.js'
import { fuzzTarget } from './targets/index.js'

/**
 * One share of a target's run, in a child process of bench/fuzz.ts (started with IPC), which watches its progress
 * messages (a case that never returns is a hang the child cannot report itself) and its exit (the child's heap
 * limit turns runaway allocation into an out-of-memory exit instead of a machine swapping).
 *
 * A process rather than a worker thread: @napi-rs/snappy 1.0.2 crashes the whole process (SIGSEGV) when a worker
 * thread that loaded it is torn down, at its end or on terminate(), so one finishing worker would take the others
 * and the report with it. A child that crashes while exiting, after it has sent its figures, harms nothing.
 */
export interface ChildInput {
  target: string
  cases: number
  seed: number
  batchSize: number
  startBatch: number
  shard: { index: number; count: number }
}

/**
 * What a child sends: every tenth case and every batch's end (elapsedMs set) for the watchdog and the progress
 * lines, crashes, and its figures at the end.
 */
export type ChildMessage =
  | { type: 'progress'; batch: number; run: number; cases: number; elapsedMs: number }
  | { type: 'crash'; crash: import('./runner.js').Crash }
  | { type: 'done'; result: import('./runner.js').TargetRun; maxRssKb: number }

const input = JSON.parse(process.env.KSC_FUZZ_CHILD ?? '{}') as ChildInput
const send = (m: ChildMessage) => process.send!(m)
// The run is over when fuzz.ts is (killed, or ended by a crash of its own): checked between batches.
process.on('disconnect', () => process.exit(1))
// Compression must be the same for every case (zstd writes stored frames until its compressor is loaded).
await prepareZstdCompression()
installAllocationGuard()
const result = await runTarget(fuzzTarget(input.target), {
  cases: input.cases,
  seed: input.seed,
  batchSize: input.batchSize,
  startBatch: input.startBatch,
  shard: input.shard,
  // Every tenth case: a hang is then placed within ten cases of its batch.
  onCase: (batch, run, cases) => {
    if (run % 10 === 0) send({ type: 'progress', batch, run, cases, elapsedMs: -1 })
  },
  onCrash: (crash) => send({ type: 'crash', crash }),
  onBatch: (cases, elapsedMs) => send({ type: 'progress', batch: -1, run: -1, cases, elapsedMs }),
})
send({ type: 'done', result, maxRssKb: process.resourceUsage().maxRSS })
process.removeAllListeners('disconnect')
process.disconnect()
