import { fileURLToPath } from 'node:url'
import { javaCommand } from '../harness/kafka-jars.js'
import { runCommand } from '../harness/run-command.js'

/** test/support/java/TransactionalProducer.java: launched as a single source file, nothing to build. */
export const TRANSACTIONAL_PRODUCER_SOURCE = fileURLToPath(
  new URL('./java/TransactionalProducer.java', import.meta.url),
)

export interface TransactionalProducerOptions {
  /** Default: tx-<random uuid>. */
  transactionalId?: string
  clientId?: string
  compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'
  /** Also commit offset `committed` of <topic>-0 for this group inside the committed transaction. */
  offsetsGroup?: string
  /** Any other producer properties. */
  properties?: Readonly<Record<string, string | number | boolean>>
  /** Kill the JVM after this long. Default 120 s (compiling the source and initTransactions take a while on 2 cores). */
  timeoutMs?: number
}

export interface TransactionalProducerResult {
  committed: number
  aborted: number
  topic: string
  transactionalId: string
  /** Partitions written to, ascending. */
  partitions: number[]
  stdout: string
  stderr: string
}

const JVM_OPTIONS = [
  '-Xmx256m',
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-XX:-UsePerfData',
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
]
const SUMMARY =
  /^TransactionalProducer committed=(\d+) aborted=(\d+) topic=(\S+) transactionalId=(\S+) partitions=(\S*)$/m

/**
 * Runs the Java transactional producer with the Kafka client jars of `jars` (a KafkaCluster or its
 * description): `committed` records "committed-<i>" in a committed transaction, then `aborted` records
 * "aborted-<i>" in an aborted one. Resolves with its summary; rejects with the JVM's output when it fails.
 */
export async function runTransactionalProducer(
  jars: { classpath: string },
  bootstrap: string,
  topic: string,
  committed: number,
  aborted: number,
  options: TransactionalProducerOptions = {},
): Promise<TransactionalProducerResult> {
  const args = [...JVM_OPTIONS, TRANSACTIONAL_PRODUCER_SOURCE, bootstrap, topic, String(committed), String(aborted)]
  if (options.transactionalId !== undefined) args.push('--transactional-id', options.transactionalId)
  if (options.clientId !== undefined) args.push('--client-id', options.clientId)
  if (options.compression !== undefined) args.push('--compression', options.compression)
  if (options.offsetsGroup !== undefined) args.push('--offsets-group', options.offsetsGroup)
  for (const [key, value] of Object.entries(options.properties ?? {})) args.push('--property', `${key}=${value}`)
  // CLASSPATH rather than -cp: the source launcher honours it, and `ps` stays readable.
  const result = await runCommand(javaCommand(), args, {
    env: { ...process.env, CLASSPATH: jars.classpath },
    timeoutMs: options.timeoutMs ?? 120_000,
  })
  const match = SUMMARY.exec(result.stdout)
  if (result.code !== 0 || !match) {
    const why = result.timedOut ? 'timed out' : `exited with ${result.code ?? result.signal}`
    throw new Error(`TransactionalProducer ${why}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`)
  }
  return {
    committed: Number(match[1]),
    aborted: Number(match[2]),
    topic: match[3]!,
    transactionalId: match[4]!,
    partitions: match[5] === '' ? [] : match[5]!.split(',').map(Number),
    stdout: result.stdout,
    stderr: result.stderr,
  }
}
