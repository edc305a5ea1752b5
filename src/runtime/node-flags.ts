/**
 * Node/V8 options the sidecar process is meant to run with, and a check that tells an operator when they are
 * missing. They cannot be set from inside the process (V8 reads them when the heap is set up; setting
 * --single-threaded-gc later through v8.setFlagsFromString aborts the process in a V8 check) and Node refuses
 * --single-threaded-gc in NODE_OPTIONS, so the launchers pass them: the Dockerfile's ENTRYPOINT, the npm scripts
 * and the benchmarks (test/packaging/node-flags.test.ts keeps them in step with this list). The `kafka-sidecar`
 * executable keeps a plain `#!/usr/bin/env node` shebang: flags on a shebang line need `env -S`, which BusyBox
 * (Alpine, the node:alpine images), OpenBSD and NetBSD do not have (nodejs/node#49295), and a sidecar that does not
 * start is worse than one that uses more CPU; started without the flags, `run` and `dev` say so once.
 *
 * --single-threaded-gc: V8's parallel scavenger and concurrent marker run helper threads next to the event loop.
 *   The sidecar's heap is small (about 15 MB) but it moves hundreds of MB/s of buffers, so collections are
 *   frequent and short; on a pod with one or two cores the helpers' hand-offs cost more than they save. Measured
 *   with `node dist/bench/passthrough.js` (1 KiB records, 2 cores): sidecar CPU 2.69 -> 1.57 s per GB moved,
 *   consume 0.74 -> 0.78 of direct and produce 0.94 -> 0.99 of direct (statistics off, 2 rounds each).
 *
 * --max-semi-space-size=2 (MB): V8 grows the young generation up to 16 MB per semi-space when allocation is busy,
 *   memory a sidecar pays for in every pod. Buffers the sidecar forwards die young either way. Measured with
 *   `node dist/bench/proxy-cost.js` (4 repetitions, 500 MB per phase): CPU per GB unchanged (produce 0.77 -> 0.78,
 *   consume 0.89 -> 0.89 s/GB), peak RSS under load 124.8 -> 110.5 MB.
 */
export const SIDECAR_NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--max-semi-space-size=2']

/**
 * The recommended flags this process was started without (empty when all are present). A flag with a value counts
 * as present with any value (an operator may size the young generation otherwise), and NODE_OPTIONS counts too.
 */
export function missingNodeFlags(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): string[] {
  const name = (flag: string) => flag.split('=')[0]!.replace(/_/g, '-')
  const given = new Set([...execArgv, ...(nodeOptions?.split(/\s+/) ?? [])].map(name))
  return SIDECAR_NODE_FLAGS.filter((flag) => !given.has(name(flag)))
}
