import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { javaCommand } from '../harness/kafka-jars.js'
import { runCommand } from '../harness/run-command.js'

/** test/support/java/SchemaProducer.java: a Java producer with Apicurio's Avro serde, launched as a single source file. */
export const SCHEMA_PRODUCER_SOURCE = fileURLToPath(new URL('./java/SchemaProducer.java', import.meta.url))
const POM = fileURLToPath(new URL('../harness/maven/apicurio-serdes-pom.xml', import.meta.url))

let classpath: Promise<string> | undefined

/** The serdes' classpath from Maven (offline first; the first run downloads about 40 jars). Once per process. */
export function apicurioSerdesClasspath(): Promise<string> {
  classpath ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ksc-serdes-'))
    try {
      const out = join(dir, 'cp.txt')
      const args = ['-B', '-q', '-f', POM, 'dependency:build-classpath', `-Dmdep.outputFile=${out}`]
      let r = await runCommand('mvn', ['-o', ...args])
      if (r.code !== 0 || !existsSync(out)) r = await runCommand('mvn', args, { timeoutMs: 600_000 })
      if (r.code !== 0 || !existsSync(out))
        throw new Error(`mvn dependency:build-classpath failed: ${(r.stdout + r.stderr).slice(-2000)}`)
      return (await readFile(out, 'utf8')).trim()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })()
  classpath.catch(() => {
    classpath = undefined
  })
  return classpath
}

export interface SchemaProducerOptions {
  readonly records?: number
  readonly invalidAt?: number
  readonly partitions?: readonly number[]
  readonly headers?: boolean
  readonly transactional?: boolean
  readonly compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'
  readonly after?: number
  readonly clientId?: string
}

export interface SchemaProducerLine {
  readonly label: string
  readonly partition: number
  readonly index: number
  readonly ok: boolean
  /** The offset, or the exception class and message. */
  readonly detail: string
}

export interface SchemaProducerResult {
  /** The first batch's values as sent, hex, by "partition/index" (a transactional retry sends the same bytes again). */
  readonly sent: ReadonlyMap<string, string>
  readonly lines: readonly SchemaProducerLine[]
  readonly txn: readonly string[]
  readonly stdout: string
  readonly stderr: string
}

/** Runs SchemaProducer.java to completion (see its header for what it sends). */
export async function runSchemaProducer(
  bootstrap: string,
  registryV3Url: string,
  topic: string,
  options: SchemaProducerOptions = {},
): Promise<SchemaProducerResult> {
  const args = [
    '-Xmx256m',
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    SCHEMA_PRODUCER_SOURCE,
    bootstrap,
    registryV3Url,
    topic,
  ]
  if (options.records !== undefined) args.push('--records', String(options.records))
  if (options.invalidAt !== undefined) args.push('--invalid-at', String(options.invalidAt))
  if (options.partitions !== undefined) args.push('--partitions', options.partitions.join(','))
  if (options.headers) args.push('--headers')
  if (options.transactional) args.push('--transactional')
  if (options.compression !== undefined) args.push('--compression', options.compression)
  if (options.after !== undefined) args.push('--after', String(options.after))
  if (options.clientId !== undefined) args.push('--client-id', options.clientId)
  const result = await runCommand(javaCommand(), args, {
    env: { ...process.env, CLASSPATH: await apicurioSerdesClasspath() },
    timeoutMs: 180_000,
  })
  if (result.code !== 0) {
    throw new Error(`SchemaProducer exited with ${result.code ?? result.signal}\n${result.stdout}\n${result.stderr}`)
  }
  const sent = new Map<string, string>()
  const lines: SchemaProducerLine[] = []
  const txn: string[] = []
  for (const line of result.stdout.split('\n')) {
    const s = /^SENT (\d+) (\d+) ([0-9a-f]*)$/.exec(line)
    if (s && !sent.has(`${s[1]}/${s[2]}`)) sent.set(`${s[1]}/${s[2]}`, s[3]!)
    const r = /^(RESULT|RETRY|AFTER) (\d+) (\d+) (OK|ERR) (.*)$/.exec(line)
    if (r) lines.push({ label: r[1]!, partition: Number(r[2]), index: Number(r[3]), ok: r[4] === 'OK', detail: r[5]! })
    if (line.startsWith('TXN ')) txn.push(line.slice(4))
  }
  return { sent, lines, txn, stdout: result.stdout, stderr: result.stderr }
}
