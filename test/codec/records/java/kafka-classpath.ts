import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

/**
 * The Kafka jars' classpath from Maven (test/harness/maven/pom.xml), for the Java interop test.
 * A stand-in until the test harness's cached resolver (test/harness/kafka-jars.ts) is on main.
 */
export const KAFKA_VERSION = '4.3.1'

const POM = fileURLToPath(new URL('../../../harness/maven/pom.xml', import.meta.url))

export async function kafkaClasspath(version = KAFKA_VERSION): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ksc-classpath-'))
  const output = join(dir, 'classpath.txt')
  const args = [
    '-q',
    '-B',
    '-f',
    POM,
    'dependency:build-classpath',
    `-Dmdep.outputFile=${output}`,
    `-Dkafka.version=${version}`,
  ]
  const run = promisify(execFile)
  try {
    // Offline first: the jars are usually in ~/.m2 already.
    await run('mvn', ['-o', ...args]).catch(() => run('mvn', args, { maxBuffer: 64 * 1024 * 1024 }))
    return (await readFile(output, 'utf8')).trim()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export function javaCommand(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java'
}
