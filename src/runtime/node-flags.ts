/**
 * Node/V8 options the sidecar process is meant to run with, and a check that tells an operator when they are
 * missing. They cannot be set from inside the process (V8 reads them when the heap is set up; setting
 * --single-threaded-gc later through v8.setFlagsFromString aborts the process in a V8 check) and Node refuses
 * them in NODE_OPTIONS, so every launcher passes them: the `kafka-sidecar` executable's shebang, the
 * Dockerfile's ENTRYPOINT, the npm scripts and the benchmarks (test/packaging/node-flags.test.ts keeps them in
 * step with this list).
 *
 * --single-threaded-gc: V8's parallel scavenger and concurrent marker run helper threads next to the event loop.
 *   The sidecar's heap is small (about 15 MB) but it moves hundreds of MB/s of buffers, so collections are
 *   frequent and short; on a pod with one or two cores the helpers' hand-offs cost more than they save. Measured
 *   with `node dist/bench/passthrough.js` (1 KiB records, 2 cores): sidecar CPU 2.69 -> 1.57 s per GB moved,
 *   consume 0.74 -> 0.78 of direct and produce 0.94 -> 0.99 of direct (statistics off, 2 rounds each).
 */
export const SIDECAR_NODE_FLAGS: readonly string[] = ['--single-threaded-gc']

/** The recommended flags this process was started without (empty when all are present). */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return SIDECAR_NODE_FLAGS.filter((flag) => !execArgv.includes(flag))
}
