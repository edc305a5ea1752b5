import { fileURLToPath } from 'node:url'
import { javaCommand } from '../harness/kafka-jars.js'
import { runCommand } from '../harness/run-command.js'

/** test/support/java/CreateTopicsLoop.java: launched as a single source file, nothing to build. */
const SOURCE = fileURLToPath(new URL('./java/CreateTopicsLoop.java', import.meta.url))

const JVM_OPTIONS = [
  '-Xmx256m',
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-XX:-UsePerfData',
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
]

export interface CreateTopicsLoopResult {
  readonly created: number
  readonly calls: number
  /** From the first createTopics call to the last topic created (JVM start and compilation not included). */
  readonly elapsedMs: number
  readonly stderr: string
}

/**
 * Kafka's Java admin client creating `topics` topics named <prefix>-<i> (`partitions` each, `perCall` per
 * createTopics call) with client id `clientId`. Rejects with the JVM's output when a topic could not be created.
 */
export async function runCreateTopicsLoop(
  jars: { classpath: string },
  bootstrap: string,
  options: { prefix: string; topics: number; partitions: number; perCall: number; clientId: string },
): Promise<CreateTopicsLoopResult> {
  const args = [
    ...JVM_OPTIONS,
    SOURCE,
    bootstrap,
    options.prefix,
    String(options.topics),
    String(options.partitions),
    String(options.perCall),
    options.clientId,
  ]
  const result = await runCommand(javaCommand(), args, {
    env: { ...process.env, CLASSPATH: jars.classpath },
    timeoutMs: 120_000,
  })
  const m = /^CreateTopicsLoop created=(\d+) calls=(\d+) elapsedMs=(\d+)$/m.exec(result.stdout)
  if (result.code !== 0 || !m) {
    throw new Error(`CreateTopicsLoop exited with ${result.code ?? result.signal}\n${result.stdout}\n${result.stderr}`)
  }
  return { created: Number(m[1]), calls: Number(m[2]), elapsedMs: Number(m[3]), stderr: result.stderr }
}
