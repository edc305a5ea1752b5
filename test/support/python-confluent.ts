import { existsSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCommand } from '../harness/run-command.js'

/**
 * confluent-kafka-python (Confluent's own client, on librdkafka) with its schema registry serializers, from PyPI into a
 * virtual environment the harness makes once in the cache directory. Needs python3 with venv; the first run downloads
 * the wheels (a few MB).
 */
export const CONFLUENT_KAFKA_VERSION = '2.16.1'
const REQUIREMENT = `confluent-kafka[avro,schemaregistry,protobuf]==${CONFLUENT_KAFKA_VERSION}`
const SCRIPT = fileURLToPath(new URL('./python/confluent_producer.py', import.meta.url))

let python: Promise<string> | undefined

export function confluentKafkaPython(): Promise<string> {
  python ??= (async () => {
    const base = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kafka-sidecar')
    const venv = join(base, `py-confluent-kafka-${CONFLUENT_KAFKA_VERSION}`)
    const bin = join(venv, 'bin', 'python')
    if (existsSync(join(venv, '.complete'))) return bin
    // A venv's scripts name its own path, so it is made in place; the marker says the install finished.
    await mkdir(base, { recursive: true })
    await rm(venv, { recursive: true, force: true })
    const made = await runCommand('python3', ['-m', 'venv', venv])
    if (made.code !== 0)
      throw new Error(`python3 -m venv failed: ${made.stderr} (Debian: apt-get install -y python3-venv)`)
    const pip = await runCommand(join(venv, 'bin', 'pip'), ['install', '-q', REQUIREMENT], { timeoutMs: 600_000 })
    if (pip.code !== 0) throw new Error(`pip install ${REQUIREMENT} failed: ${(pip.stdout + pip.stderr).slice(-2000)}`)
    await writeFile(join(venv, '.complete'), `${REQUIREMENT}\n`)
    return bin
  })()
  python.catch(() => {
    python = undefined
  })
  return python
}

export interface PythonProducerResult {
  readonly sent: readonly string[]
  readonly results: readonly string[]
  readonly stdout: string
  readonly stderr: string
}

/** Runs test/support/python/confluent_producer.py (see its docstring). */
export async function runConfluentPythonProducer(
  bootstrap: string,
  registryUrl: string,
  topic: string,
  kind: 'protobuf' | 'avro',
  count: number,
  invalidAt?: number,
): Promise<PythonProducerResult> {
  const args = [SCRIPT, bootstrap, registryUrl, topic, kind, String(count)]
  if (invalidAt !== undefined) args.push(String(invalidAt))
  // Within the calling test's timeout, so that a run that hangs fails with its output rather than with none.
  const r = await runCommand(await confluentKafkaPython(), args, { timeoutMs: 110_000 })
  if (r.code !== 0) {
    const how = r.timedOut ? 'was killed after 110 s' : `exited with ${r.code}`
    throw new Error(`confluent_producer.py ${how}\n${r.stdout}\n${r.stderr}`)
  }
  const sent: string[] = []
  const results: string[] = []
  for (const line of r.stdout.split('\n')) {
    const s = /^SENT (\d+) ([0-9a-f]*)$/.exec(line)
    if (s) sent[Number(s[1])] = s[2]!
    const m = /^RESULT (\d+) (.*)$/.exec(line)
    if (m) results[Number(m[1])] = m[2]!
  }
  return { sent, results, stdout: r.stdout, stderr: r.stderr }
}
