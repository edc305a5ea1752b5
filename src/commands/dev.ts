import { existsSync } from 'node:fs'
import type { Argv } from 'yargs'
import { formatHostPort } from '../config/host-port.js'
import {
  configFileOption,
  configFlagOptions,
  type LoadConfigInput,
  loadConfig,
  type SidecarConfig,
} from '../config/index.js'
import { SidecarError } from '../errors.js'
import { withFilterChecks } from '../filter-registry.js'
import { createLogger, type Logger } from '../logger.js'
import { warnOnMissingMallocEnv } from '../runtime/malloc-env.js'
import type { CliCommand } from './command.js'
import { flagsOf, handleSignals, runOrExit, startSidecarProcess, warnOnMissingNodeFlags } from './run.js'

/**
 * `kafka-sidecar dev`: the sidecar with a local Kafka behind it, for trying it out and for development. Without an
 * upstream (no --upstream, no KAFKA_SIDECAR_UPSTREAM, none in --config), it starts an embedded Apache Kafka in
 * KRaft mode from the Maven jars (the test harness: Java 17+ and Maven needed; the first start downloads the jars)
 * and puts the sidecar in front of it. With an upstream it is `run`.
 */

/** Every embedded broker is a JVM of its own; more than this does not fit the machines dev runs on. */
const MAX_NODES = 9

interface EmbeddedKafka {
  bootstrapServers: string
  version: string
  nodes: number
  stop(): Promise<void>
}

/** Where the harness is compiled beside the sidecar: a source checkout (or the npm package) has it, the image not. */
const HARNESS_MODULE = new URL('../../test/harness/kafka-cluster.js', import.meta.url)

/** `dev` without an upstream where there is no test harness to start a Kafka with (the container image). */
export class EmbeddedKafkaUnavailableError extends SidecarError {
  constructor() {
    super(
      'KSC_ERR_DEV_NO_EMBEDDED_KAFKA',
      'dev starts an embedded Kafka only from a source checkout (npm ci && npm run dev, with Java 17+ and Maven), ' +
        'and this installation has no test harness (the container image leaves it out): give an upstream instead, ' +
        'kafka-sidecar dev --upstream host:port, or use kafka-sidecar run',
    )
  }
}

async function startEmbeddedKafka(
  nodes: number,
  version: string | undefined,
  progress: (m: string) => void,
): Promise<EmbeddedKafka> {
  // The harness ships compiled beside the sidecar (dist/test/harness); loaded only when dev needs it.
  const { KafkaCluster } = await import('../../test/harness/kafka-cluster.js')
  const cluster = await KafkaCluster.start({ nodes, name: 'dev', log: progress, ...(version ? { version } : {}) })
  const d = cluster.describe()
  return { bootstrapServers: d.bootstrapServers, version: d.version, nodes: d.nodes.length, stop: () => cluster.stop() }
}

function banner(config: SidecarConfig, kafka: EmbeddedKafka | undefined): string {
  const bootstrap = formatHostPort(config.listen)
  const lines = [
    '',
    kafka
      ? `kafka-sidecar dev: embedded Apache Kafka ${kafka.version} (${kafka.nodes} node${kafka.nodes > 1 ? 's' : ''}, KRaft) behind the sidecar`
      : 'kafka-sidecar dev: sidecar in front of the configured upstream',
    `  point clients at   ${bootstrap}`,
    `  upstream brokers   ${kafka ? kafka.bootstrapServers : config.upstream.bootstrap.map(formatHostPort).join(',')}   (clients never see these)`,
    `  broker listeners   ${config.brokers.advertisedHost}:${config.brokers.portBase}+<node id>`,
    ...(config.admin.enabled
      ? [
          `  admin              http://${formatHostPort(config.admin)}/readyz  /metrics  /stats`,
          `  live client view   kafka-sidecar top --admin ${formatHostPort(config.admin)}`,
        ]
      : []),
    '',
    'Try:',
    `  kcat -b ${bootstrap} -L`,
    `  echo hello | kcat -b ${bootstrap} -t demo -P && kcat -b ${bootstrap} -t demo -C -e`,
    `  kafkajs: new Kafka({ brokers: ['${bootstrap}'] })`,
    '',
    `Ctrl-C stops the sidecar${kafka ? ' and the embedded Kafka.' : '.'}`,
    '',
  ]
  return lines.join('\n')
}

export const devCommand: CliCommand = {
  command: 'dev',
  describe: 'Run the sidecar with an embedded local Kafka (when no upstream is given)',
  builder: (y: Argv) =>
    y
      .options({
        ...configFileOption(),
        ...configFlagOptions(),
        nodes: {
          type: 'number',
          default: 1,
          describe: 'Embedded Kafka: number of brokers (KRaft, combined mode)',
          requiresArg: true,
        },
        'kafka-version': {
          type: 'string',
          requiresArg: true,
          describe: 'Embedded Kafka: Apache Kafka version from Maven Central (default: newest 4.x the harness knows)',
        },
      })
      .check((argv) => {
        const nodes = argv.nodes as number
        return Number.isInteger(nodes) && nodes >= 1 && nodes <= MAX_NODES
          ? true
          : `--nodes ${nodes} is not a number of brokers: --nodes 1-${MAX_NODES}`
      })
      .example('$0 dev', 'local Kafka + sidecar on 127.0.0.1:9092')
      .example('$0 dev --nodes 3', 'a 3-broker local cluster behind the sidecar'),
  handler: async (args: Record<string, unknown>) => {
    let log: Logger | undefined
    await runOrExit(
      () => log,
      async () => {
        const base: LoadConfigInput = withFilterChecks({
          file: args.config as string | undefined,
          env: process.env,
          flags: flagsOf(args),
          // Readable lines on a terminal; JSON where a program reads them (log.format and --log-format say otherwise).
          defaultLogFormat: process.stdout.isTTY === true ? 'pretty' : 'json',
        })
        const probe = loadConfig({ ...base, requireUpstream: false })
        log = createLogger({ level: probe.log.level, frames: probe.log.frames, format: probe.log.format })
        warnOnMissingNodeFlags(log)
        warnOnMissingMallocEnv(log)
        let kafka: EmbeddedKafka | undefined
        let input = base
        if (probe.upstream.bootstrap.length === 0) {
          if (!existsSync(HARNESS_MODULE)) throw new EmbeddedKafkaUnavailableError()
          process.stderr.write(
            'No upstream given: starting an embedded Kafka (the first run downloads its jars with Maven)...\n',
          )
          kafka = await startEmbeddedKafka(Number(args.nodes ?? 1), args['kafka-version'] as string | undefined, (m) =>
            process.stderr.write(`[kafka] ${m}\n`),
          )
          input = { ...base, flags: { ...base.flags, upstream: kafka.bootstrapServers } }
        }
        const config = loadConfig(input)
        let running: Awaited<ReturnType<typeof startSidecarProcess>>
        try {
          running = await startSidecarProcess(input, log, config)
        } catch (err) {
          await kafka?.stop()
          throw err
        }
        process.stderr.write(banner(config, kafka))
        handleSignals(log, async () => {
          await running.stop()
          await kafka?.stop()
        })
      },
    )
  },
}
