/**
 * Starts a throwaway Kafka cluster from the Maven jars for manual testing and prints where it listens.
 *   npm run kafka -- [--nodes 3] [--kafka-version 3.9.2] [--advertised-host 127.0.0.2] [--port 9092]
 *                    [--data-dir DIR] [--json]
 * stdout gets one line a script can use (KAFKA_BOOTSTRAP_SERVERS=... or, with --json, the cluster description);
 * everything for humans goes to stderr. Ctrl-C stops the brokers and removes the temporary data.
 */
import { parseArgs } from 'node:util'
import { HarnessError } from './errors.js'
import { KafkaCluster } from './kafka-cluster.js'
import { DEFAULT_KAFKA_VERSION } from './kafka-jars.js'

const USAGE = `Usage: node dist/test/harness/cli.js [options]
  --nodes <n>              combined broker+controller nodes (default 1)
  --kafka-version <v>      Kafka release from Maven Central (default ${DEFAULT_KAFKA_VERSION})
  --advertised-host <h>    address the brokers bind and advertise (default 127.0.0.2)
  --port <p>               PLAINTEXT port of node 1; node n gets p+n-1 (default: free ports)
  --data-dir <dir>         keep config, data and logs there (default: a temporary directory, removed on exit)
  --json                   print the cluster description as one JSON line instead of KAFKA_BOOTSTRAP_SERVERS=...
  -h, --help               this text`

function fail(message: string): never {
  process.stderr.write(`${message}\n`)
  process.exit(2)
}

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < 1) fail(`--${name} must be a positive integer, got "${value}"\n\n${USAGE}`)
  return parsed
}

async function main(): Promise<void> {
  let values: ReturnType<typeof parseCli>
  try {
    values = parseCli()
  } catch (err) {
    fail(`${(err as Error).message}\n\n${USAGE}`)
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const nodes = positiveInteger('nodes', values.nodes) ?? 1
  const port = positiveInteger('port', values.port)
  const say = (message: string): boolean => process.stderr.write(`[kafka] ${message}\n`)

  let cluster: KafkaCluster | undefined
  let stopping = false
  const onSignal = (signal: NodeJS.Signals): void => {
    // A second Ctrl-C, or one before the cluster is up: leave now, the JVM watchdogs clean up behind us.
    if (stopping || !cluster) process.exit(signal === 'SIGINT' ? 130 : 143)
    stopping = true
    say(`${signal}: stopping the cluster...`)
    cluster.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        say(`stop failed: ${(err as Error).message}`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  say(`starting Kafka ${values['kafka-version'] ?? DEFAULT_KAFKA_VERSION} with ${nodes} node(s)...`)
  cluster = await KafkaCluster.start({
    nodes,
    ...(values['kafka-version'] !== undefined && { version: values['kafka-version'] }),
    ...(values['advertised-host'] !== undefined && { advertisedHost: values['advertised-host'] }),
    ...(values['data-dir'] !== undefined && { dataDir: values['data-dir'] }),
    ...(port !== undefined && { brokerPorts: Array.from({ length: nodes }, (_, i) => port + i) }),
    log: say,
  })
  for (const node of cluster.nodes)
    say(`node ${node.id}: ${node.host}:${node.port}  pid ${node.pid}  log ${node.logFile}`)
  say(`data in ${cluster.rootDir}; press Ctrl-C to stop`)
  process.stdout.write(
    values.json ? `${JSON.stringify(cluster.describe())}\n` : `KAFKA_BOOTSTRAP_SERVERS=${cluster.bootstrapServers}\n`,
  )
}

function parseCli() {
  return parseArgs({
    options: {
      nodes: { type: 'string' },
      'kafka-version': { type: 'string' },
      'advertised-host': { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  }).values
}

main().catch((err: unknown) => {
  const prefix = err instanceof HarnessError ? `error ${err.code}` : 'error'
  process.stderr.write(`${prefix}: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
