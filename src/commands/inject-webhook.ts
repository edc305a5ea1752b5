import { readFileSync } from 'node:fs'
import type { Argv } from 'yargs'
import { parseHostPort } from '../config/host-port.js'
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../config/log-section.js'
import { INJECTOR_DEFAULTS, type InjectorConfig, loadInjectorConfig } from '../inject/injector-config.js'
import { WebhookServer } from '../inject/webhook-server.js'
import { createLogger, type Logger } from '../logger.js'
import type { CliCommand } from './command.js'
import { runOrExit } from './run.js'
import { USAGE_EXIT, usageLine } from './usage.js'

/**
 * `kafka-sidecar inject-webhook`: the mutating admission webhook that adds the sidecar to pods (src/inject/). The
 * Helm chart (helm/kafka-sidecar) runs it from the same image as the sidecar, with the injector's settings in a
 * ConfigMap (--config) and its serving certificate in a Secret (--tls-cert, --tls-key; rotated without restart).
 */

export const INJECTOR_CONFIG_ENV = 'KAFKA_SIDECAR_INJECTOR_CONFIG'
const DEFAULT_LISTEN = '0.0.0.0:8443'

function packageVersion(): string {
  try {
    const url = new URL('../../../package.json', import.meta.url) // dist/src/commands/ -> package.json
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

export const injectWebhookCommand: CliCommand = {
  command: 'inject-webhook',
  describe: 'Run the Kubernetes sidecar injector (a mutating admission webhook over HTTPS)',
  builder: (y: Argv) =>
    y
      .options({
        config: {
          type: 'string',
          requiresArg: true,
          describe: `injector settings (YAML: sidecar image, upstream, resources, ...; the chart renders it) [env ${INJECTOR_CONFIG_ENV}]`,
        },
        listen: { type: 'string', requiresArg: true, default: DEFAULT_LISTEN, describe: 'HTTPS address' },
        'tls-cert': { type: 'string', requiresArg: true, demandOption: true, describe: 'serving certificate (PEM)' },
        'tls-key': { type: 'string', requiresArg: true, demandOption: true, describe: 'its private key (PEM)' },
        'log-level': { type: 'string', requiresArg: true, choices: LOG_LEVELS, default: 'info', describe: 'log level' },
        'log-format': {
          type: 'string',
          requiresArg: true,
          choices: LOG_FORMATS,
          default: 'json',
          describe: 'log format',
        },
      })
      .example(
        '$0 inject-webhook --config injector.yaml --tls-cert /tls/tls.crt --tls-key /tls/tls.key',
        'as the Helm chart runs it',
      )
      .epilogue(
        'Pods are injected through POST /inject (label-selected) and /inject-annotated; see README, Kubernetes.',
      ),
  handler: async (args: Record<string, unknown>) => {
    const listen = parseHostPort(String(args.listen))
    if ('error' in listen) {
      process.stderr.write(
        usageLine(`--listen ${JSON.stringify(args.listen)} is not host:port (${listen.error})`, 'inject-webhook'),
      )
      process.exitCode = USAGE_EXIT
      return
    }
    let log: Logger | undefined
    await runOrExit(
      () => log,
      async () => {
        const file = (args.config as string | undefined) ?? process.env[INJECTOR_CONFIG_ENV]
        const config: InjectorConfig = file === undefined || file === '' ? INJECTOR_DEFAULTS : loadInjectorConfig(file)
        log = createLogger({
          level: args['log-level'] as LogLevel,
          frames: false,
          format: args['log-format'] as LogFormat,
        })
        if (file === undefined)
          log.warn('no --config: injecting with the built-in defaults (image kafka-sidecar:latest)')
        const server = new WebhookServer({
          config,
          tls: { cert: String(args['tls-cert']), key: String(args['tls-key']) },
          log,
          version: packageVersion(),
        })
        await server.listen(listen)
        stopOnSignals(log, () => server.close())
      },
    )
  },
}

/**
 * SIGTERM/SIGINT: stop accepting and exit once the reviews in progress are answered. As PID 1 of a container the
 * process gets no default signal action from the kernel, so without these handlers SIGTERM would do nothing.
 */
function stopOnSignals(log: Logger, close: () => Promise<void>): void {
  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1)
    stopping = true
    log.info({ signal }, 'sidecar injector stopping')
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
