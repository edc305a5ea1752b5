/**
 * Starts the sidecar's MemoryReturn (src/runtime/memory-return.ts) in a process it is preloaded into, for
 * benchmarking a build that does not start it itself:
 *   node dist/bench/hostile.js --variant=memory-return::--import=./dist/bench/lib/memory-return-preload.js
 */
import { MemoryReturn } from '../../src/runtime/memory-return.js'

new MemoryReturn().start()
