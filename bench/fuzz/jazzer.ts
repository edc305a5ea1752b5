import { prepareZstdCompression } from '../../codec/records/index.js'
import { installAllocationGuard, withMemoryLimits } from './memory-guard.js'
import { fuzzTarget } from './targets/index.js'

/**
 * The coverage-guided entry: jazzer.js (libFuzzer) calls `fuzz` with the bytes it mutates, guided by the branches
 * they reach; the target named by KSC_FUZZ_TARGET reads them through its runBytes entry, under the same invariants
 * and memory limits as the structure-aware runs. A thrown error is a crash jazzer saves as a reproducer file.
 *
 *   KSC_FUZZ_TARGET=messages npx @jazzer.js/core dist/bench/fuzz/jazzer.js --sync -- -max_total_time=600
 *
 * jazzer.js is not a dependency of the project: see bench/fuzz.ts for why it does not load on its machines.
 */

const target = fuzzTarget(process.env.KSC_FUZZ_TARGET ?? 'messages')
await prepareZstdCompression()
await target.prepare?.()
installAllocationGuard()

export function fuzz(data: Buffer): void {
  withMemoryLimits(target.limits.allocation, target.limits.growth, () => target.runBytes(data))
}
