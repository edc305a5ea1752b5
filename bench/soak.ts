/**
 * The soak (issue 21): a private 3-node Kafka cluster, producers with acks=all (a Java idempotent producer, a Java
 * transactional producer, kafkajs, kcat, and kafka-producer-perf-test as load) and two consumer groups (kafkajs in a
 * classic group, Kafka's Java consumer in a KIP-848 group), all through one sidecar, while faults come on a schedule:
 * a broker SIGKILLed and restarted, leadership moved (kafka-leader-election, kafka-reassign-partitions), the sidecar's
 * config reloaded, the sidecar sent SIGTERM with a second one taking over its ports, the transactional producer
 * SIGKILLed inside a transaction. At the end every acknowledged record is looked up in the log read straight from the
 * brokers (present exactly once: per record, and as count and checksum per partition), both groups must have
 * committed past the last acknowledged record of every partition, and the sidecar's RSS and open descriptors are
 * given as a least-squares slope over samples every few seconds (bench/lib/soak/*).
 *
 *   npm run soak -- --minutes 30 [--fault-interval-s 45] [--broker-down-s 10] [--kafka-version 4.3.1]
 *       [--sidecar-node PATH]   the sidecar on another Node, e.g. $(.ci/image-node): from 22.12 on, the handover
 *                               starts the successor beside the old process (listen.reusePort), then SIGTERM
 *
 * Prints progress (each fault and its outcome, records acknowledged so far) on stderr and the summary tables on
 * stdout; writes bench/results/soak-<time>.json and .md; logs of the sidecar processes and the Java clients go to a
 * temporary directory named at the start. Exits 1 when anything acknowledged was lost or duplicated, a consumer group
 * did not commit past it, a fault did not complete, or the sidecar exited on its own. Linux only (/proc).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { DEFAULT_OPTIONS, runSoak } from './lib/soak/run-soak.js'
import { renderSummary } from './lib/soak/summary.js'

const { values: opt } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    'fault-interval-s': { type: 'string', default: String(DEFAULT_OPTIONS.faultIntervalSeconds) },
    'broker-down-s': { type: 'string', default: String(DEFAULT_OPTIONS.brokerDownSeconds) },
    'kafka-version': { type: 'string', default: DEFAULT_OPTIONS.kafkaVersion },
    'sidecar-node': { type: 'string' },
  },
})

function positive(name: string, value: string): number {
  const x = Number(value)
  if (!Number.isFinite(x) || x <= 0) {
    process.stderr.write(`--${name} must be a positive number, got ${JSON.stringify(value)}\n`)
    process.exit(2)
  }
  return x
}

/** The Node binary given by --sidecar-node, checked before a cluster is started for nothing. */
function sidecarNode(path: string | undefined): string | undefined {
  if (path === undefined) return undefined
  try {
    execFileSync(path, ['--version'], { stdio: 'ignore' })
    return path
  } catch (err) {
    process.stderr.write(`--sidecar-node ${path}: cannot run it (${(err as Error).message}); give a node binary\n`)
    process.exit(2)
  }
}

const say = (message: string) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}\n`)
const workDir = mkdtempSync(join(tmpdir(), 'ksc-soak-'))
say(`logs of the sidecar processes and clients: ${workDir}`)

const result = await runSoak({
  ...DEFAULT_OPTIONS,
  minutes: positive('minutes', opt.minutes),
  faultIntervalSeconds: positive('fault-interval-s', opt['fault-interval-s']),
  brokerDownSeconds: positive('broker-down-s', opt['broker-down-s']),
  kafkaVersion: opt['kafka-version'],
  ...(opt['sidecar-node'] !== undefined && { sidecarNode: sidecarNode(opt['sidecar-node']) }),
  workDir,
  log: say,
})

const markdown = renderSummary(result)
process.stdout.write(`\n${markdown}`)
const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url))
mkdirSync(resultsDir, { recursive: true })
const stamp = result.startedAt.replace(/[:.]/g, '-')
writeFileSync(join(resultsDir, `soak-${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`)
writeFileSync(join(resultsDir, `soak-${stamp}.md`), markdown)
say(`written: bench/results/soak-${stamp}.json and .md`)
process.exit(result.failures.length === 0 ? 0 : 1)
