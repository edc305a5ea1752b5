import type { ChildProcess } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { ToolTimeoutError } from './errors.js'
import { resolveMainClass } from './kafka-classes.js'
import { javaCommand } from './kafka-jars.js'
import { drainTail, type OutputTail } from './output-tail.js'
import { spawnWatched, type WatchedProcess } from './watchdog.js'

/** Kafka's command-line tools, by the name of their bin/kafka-<name>.sh script. */
export type KafkaTool =
  | 'console-producer'
  | 'console-consumer'
  | 'topics'
  | 'consumer-groups'
  | 'producer-perf-test'
  | 'consumer-perf-test'
  | 'configs'
  | 'leader-election'
  | 'reassign-partitions'

/** Which jars to run: a KafkaCluster, its description from globalSetup, or any { classpath, version }. */
export interface KafkaJars {
  classpath: string
  version: string
}

export interface KafkaToolOptions {
  /** Written to the tool's stdin, which is then closed (console-producer reads records from it). */
  input?: string
  /** runKafkaTool kills the tool and rejects with ToolTimeoutError after this long. Default 60 s. */
  timeoutMs?: number
  /** Replaces the default JVM options (small heap, C1 only: the tools run for seconds). */
  jvmOptions?: readonly string[]
  /** slf4j level for the tool's own logging on stderr. Default warn. */
  logLevel?: 'error' | 'warn' | 'info' | 'debug'
}

export interface KafkaToolResult {
  /** Exit code of the tool's JVM; 128+n when it died of signal n. */
  code: number | null
  stdout: string
  stderr: string
}

export interface KafkaToolProcess {
  /** The watchdog wrapper; stdin/stdout/stderr are the tool JVM's own. */
  readonly child: ChildProcess
  readonly stdin: Writable
  readonly stdout: Readable
  readonly stderr: Readable
  /** Pid of the tool's JVM. */
  readonly pid: number
  /** Resolves with the exit code once the tool is gone. */
  readonly exited: Promise<{ code: number | null }>
  /**
   * The last of what the tool wrote to each stream. The harness reads both pipes whether or not the caller does,
   * so a tool whose output nobody wants never blocks on a full pipe (output-tail.ts).
   */
  readonly output: { readonly stdout: OutputTail; readonly stderr: OutputTail }
  /** SIGTERM (the tools shut down cleanly on it), SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<{ code: number | null }>
}

const DEFAULT_TOOL_JVM_OPTIONS = ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-XX:-UsePerfData']
const DEFAULT_TIMEOUT_MS = 60_000

/**
 * Runs a Kafka command-line tool from the same jars as the cluster, to completion, and returns its output.
 * `args` are the tool's own arguments, e.g. ['--bootstrap-server', cluster.bootstrapServers, '--list'].
 */
export async function runKafkaTool(
  jars: KafkaJars,
  tool: KafkaTool,
  args: readonly string[],
  options: KafkaToolOptions = {},
): Promise<KafkaToolResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const running = await spawnKafkaTool(jars, tool, args, options)
  // 'exit' can precede the last stdout bytes; 'close' means every stream is drained.
  const drained = new Promise<void>((resolve) => running.child.once('close', () => resolve()))
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  running.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
  running.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
  running.stdin.on('error', () => {})
  running.stdin.end(options.input ?? '')
  const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString('utf8')

  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, 'timeout')
  })
  try {
    const outcome = await Promise.race([running.exited, timedOut])
    if (outcome === 'timeout') {
      await running.stop(0)
      throw new ToolTimeoutError(tool, timeoutMs, text(stdout), text(stderr))
    }
    await drained
    return { code: outcome.code, stdout: text(stdout), stderr: text(stderr) }
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Starts a long-running Kafka tool (a consumer that follows a topic, a perf test) and returns at once.
 * The tool runs under the harness watchdog: it dies with the test process if nobody stops it.
 */
export async function spawnKafkaTool(
  jars: KafkaJars,
  tool: KafkaTool,
  args: readonly string[],
  options: Omit<KafkaToolOptions, 'input' | 'timeoutMs'> = {},
): Promise<KafkaToolProcess> {
  const mainClass = await resolveMainClass(jars.classpath, jars.version, tool)
  const jvmOptions = options.jvmOptions ?? DEFAULT_TOOL_JVM_OPTIONS
  const watched: WatchedProcess = spawnWatched(
    javaCommand(),
    [...jvmOptions, `-Dorg.slf4j.simpleLogger.defaultLogLevel=${options.logLevel ?? 'warn'}`, mainClass, ...args],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, CLASSPATH: jars.classpath },
      graceMs: 5_000,
    },
  )
  const pid = await watched.pid
  const exited = watched.exited.then(({ code }) => ({ code }))
  const { child } = watched
  const output = { stdout: drainTail(child.stdout!), stderr: drainTail(child.stderr!) }
  return {
    child,
    stdin: child.stdin!,
    stdout: child.stdout!,
    stderr: child.stderr!,
    pid,
    exited,
    output,
    async stop(graceMs = 10_000) {
      await watched.signal('SIGTERM')
      let timer: NodeJS.Timeout | undefined
      const escalate = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs)
      }).then(() => watched.signal('SIGKILL'))
      try {
        await Promise.race([exited, escalate])
        return await exited
      } finally {
        clearTimeout(timer)
      }
    },
  }
}
