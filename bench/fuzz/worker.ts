import { parentPort, workerData } from 'node:worker_threads'
import { prepareZstdCompression } from '../../codec/records/index.js'
import { installAllocationGuard } from './memory-guard.js'
import { runTarget } from './runner.js'
import { fuzzTarget } from './targets/index.js'

/**
 * One target's run in a worker thread of bench/fuzz.ts, which watches its progress (a case that never returns is a
 * hang the worker cannot report itself) and its memory (the worker's heap limit turns runaway allocation into an
 * out-of-memory exit instead of a machine swapping).
 */
export interface WorkerInput {
  target: string
  cases: number
  seed: number
  batchSize: number
  startBatch: number
  shard: { index: number; count: number }
  progress: SharedArrayBuffer
}

const input = workerData as WorkerInput
// Compression must be the same for every case (zstd writes stored frames until its compressor is loaded).
await prepareZstdCompression()
installAllocationGuard()
const result = await runTarget(fuzzTarget(input.target), {
  cases: input.cases,
  seed: input.seed,
  batchSize: input.batchSize,
  startBatch: input.startBatch,
  shard: input.shard,
  progress: new Int32Array(input.progress),
  onCrash: (crash) => parentPort!.postMessage({ type: 'crash', crash }),
  onBatch: (cases, elapsedMs) => {
    // A line every 50,000 cases of the run: a run stopped early still leaves its figures so far.
    const every = 50_000 / input.shard.count
    if (Math.floor(cases / every) > Math.floor((cases - input.batchSize) / every))
      parentPort!.postMessage({ type: 'progress', cases, elapsedMs })
  },
})
parentPort!.postMessage({ type: 'done', result })
