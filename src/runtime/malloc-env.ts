import type { Logger } from '../logger.js'

/**
 * glibc malloc settings the sidecar process is meant to run with, and a check that tells an operator when they are
 * missing. glibc reads them from the environment when the process starts, so, like the Node flags
 * (node-flags.ts), the launchers set them: the Dockerfile (ENV), the npm scripts and the benchmarks
 * (test/runtime/malloc-env.test.ts keeps them in step with this list). Re-executing the process with them set is
 * not done: Node 20 has no execve (process.execve came in Node 22.15/23.11), and a parent process that spawns the
 * real one stays resident next to it, which costs more memory than the setting saves.
 *
 * MALLOC_MMAP_THRESHOLD_=131072: glibc's own default threshold (128 KiB), fixed. Unset, glibc raises the threshold
 * to the size of every mmapped block that is freed, up to 32 MiB (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit; glibc
 * malloc/malloc.c, __libc_free), and blocks under the threshold come from the heap, whose pages go back to the
 * system only from its top. Setting the variable disables that adjustment ("If the parameter is set, the dynamic
 * adjustment is disabled", https://www.gnu.org/software/libc/manual/html_node/Malloc-Tunable-Parameters.html).
 * The sidecar's large blocks are Buffers: a 256 KiB read buffer per connection and side, and the pieces of frames
 * being assembled. Once the first of them had been freed, the next ones came from the heap, between the small
 * blocks every connection also allocates: 5,000 idle connections opened and closed left 55 MB in the heap and RSS
 * 40 MB over its idle figure a minute later, although V8 had collected every Buffer (memory-return.ts). With the
 * threshold fixed, each large block is a mapping of its own, unmapped when freed, and RSS went back to the idle
 * figure. 128 KiB and not lower: Node's 64 KiB read buffers (TLS sockets) and its 8 KiB pool slabs stay in the heap,
 * where allocating them costs no system call. The CPU cost was below the noise: proxy-cost (500 MB per phase,
 * 3 repetitions, twice each way) produce 0.86 and 0.66 CPU s/GB without, 0.80 and 0.66 with; fetch 0.78 and 0.56
 * without, 0.72 and 0.64 with. MALLOC_ARENA_MAX is not set: the sidecar allocates on its one JavaScript thread, and
 * limiting arenas to 2 changed nothing measurable.
 *
 * musl (Alpine) ignores these variables; its allocator returns large blocks to the system by itself.
 */
export const SIDECAR_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' }

/** The same settings as GLIBC_TUNABLES names them (glibc 2.26+), which count as set too. */
const TUNABLE_NAMES: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: 'glibc.malloc.mmap_threshold' }

/** `KEY=value` assignments of SIDECAR_MALLOC_ENV, for launchers and messages. */
export function mallocEnvAssignments(): string[] {
  return Object.entries(SIDECAR_MALLOC_ENV).map(([k, v]) => `${k}=${v}`)
}

/**
 * The settings this process was started without (empty when all are set, or when the C library is not glibc).
 * A setting counts as present with any value (an operator may choose another threshold), directly or through
 * GLIBC_TUNABLES.
 */
export function missingMallocEnv(env: NodeJS.ProcessEnv = process.env, glibc: boolean = usesGlibc()): string[] {
  if (!glibc) return []
  const tunables = new Set((env.GLIBC_TUNABLES ?? '').split(':').map((t) => t.split('=')[0]))
  return Object.keys(SIDECAR_MALLOC_ENV)
    .filter((key) => env[key] === undefined || env[key] === '')
    .filter((key) => !tunables.has(TUNABLE_NAMES[key]))
    .map((key) => `${key}=${SIDECAR_MALLOC_ENV[key]}`)
}

/** True when Node runs on glibc (its diagnostic report names the glibc version it found at run time). */
export function usesGlibc(): boolean {
  try {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
    return typeof report?.header?.glibcVersionRuntime === 'string'
  } catch {
    return false
  }
}

/** Says once, at start, when the process runs without SIDECAR_MALLOC_ENV (on glibc). */
export function warnOnMissingMallocEnv(log: Logger): void {
  const missing = missingMallocEnv()
  if (missing.length === 0) return
  log.warn(
    { missing },
    `started without ${missing.join(' ')} in the environment: memory freed after a burst of large requests may ` +
      'stay resident; set it where the sidecar is launched (the container image does)',
  )
}
