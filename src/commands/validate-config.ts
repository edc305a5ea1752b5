import {
  CONFIG_FILE_ENV,
  CONFIG_OVERRIDES,
  ConfigError,
  configFileOption,
  configFilePath,
  configFlagOptions,
  type Environment,
  formatHostPort,
  type ListenTlsConfig,
  type SidecarConfig,
} from '../config/index.js'
import { FILTER_PLUGINS } from '../filter-plugins.js'
import { loadSidecarConfig } from '../filter-registry.js'
import type { FilterPlugin } from '../pipeline/filter-api.js'
import { readTlsMaterial } from '../tls/material.js'
import { type CliCommand, type CommandResult, emit } from './command.js'
import { USAGE_EXIT, usageLine } from './usage.js'

/**
 * `kafka-sidecar validate-config [FILE]`: validates a config file as `run` would see it (with the environment's and
 * the given flags' overrides, and the same checks, filters included: src/filter-registry.ts), prints "ok" and a
 * summary, or every problem and exit code 1. The file is named as `run` takes it (--config FILE or
 * KAFKA_SIDECAR_CONFIG), or as the one argument.
 */

export interface ValidateConfigArgs {
  /** Default: KAFKA_SIDECAR_CONFIG. */
  file?: string
  /** Apply KAFKA_SIDECAR_* overrides from `env` (default true). */
  useEnv?: boolean
  env?: Environment
  /** Override flags, keyed as in CONFIG_OVERRIDES. */
  flags?: Readonly<Record<string, unknown>>
  /** The filters `filters:` may name; default: the sidecar's (FILTER_PLUGINS). */
  plugins?: readonly FilterPlugin[]
}

export function runValidateConfig(args: ValidateConfigArgs): CommandResult {
  const env = args.useEnv === false ? {} : (args.env ?? {})
  const file = args.file ?? env[CONFIG_FILE_ENV] ?? args.env?.[CONFIG_FILE_ENV]
  if (file === undefined || file.trim() === '') {
    return {
      exitCode: USAGE_EXIT,
      stdout: '',
      stderr: usageLine(
        `name the config file: kafka-sidecar validate-config FILE, or --config FILE, or set ${CONFIG_FILE_ENV}`,
        'validate-config',
      ),
    }
  }
  const flags = args.flags ?? {}
  try {
    const config = loadSidecarConfig({ file, env, flags }, args.plugins ?? FILTER_PLUGINS)
    const overrides = CONFIG_OVERRIDES.flatMap((o) => [
      ...(o.env !== undefined && env[o.env] !== undefined && env[o.env]!.trim() !== '' ? [o.env] : []),
      ...(flags[o.flag] !== undefined ? [`--${o.flag}`] : []),
    ])
    return { exitCode: 0, stdout: `ok: ${configFilePath({ file })}\n${summarize(config, overrides)}`, stderr: '' }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return { exitCode: 1, stdout: '', stderr: `${err.message}\n` }
  }
}

/** A few lines saying what the sidecar would do with this configuration. */
export function summarize(config: SidecarConfig, overrides: readonly string[] = []): string {
  const { brokers, upstream, limits, admin, log, stats, filters } = config
  const explicit = Object.entries(brokers.ports).map(([node, port]) => `node ${node}: ${port}`)
  const tls = upstream.tls.enabled
    ? `TLS on${upstream.tls.insecureSkipVerify ? ', certificates NOT verified' : ''}${upstream.tls.cert !== undefined ? ', client certificate' : ''}`
    : 'TLS off'
  const lines: [string, string][] = [
    [
      'listen',
      config.listen.tls === undefined
        ? formatHostPort(config.listen)
        : `${formatHostPort(config.listen)} (${describeListenTls(config.listen.tls)})`,
    ],
    [
      'brokers',
      `bind ${brokers.host}, advertised as ${brokers.advertisedHost}, port ${brokers.portBase} + node id${explicit.length > 0 ? ` (${explicit.join(', ')})` : ''}`,
    ],
    [
      'upstream',
      `${upstream.bootstrap.map(formatHostPort).join(', ')} (${tls}; connect timeout ${upstream.connectTimeoutMs} ms, metadata refresh ${upstream.metadataRefreshMs} ms)`,
    ],
    [
      'limits',
      `max frame ${limits.maxFrameBytes} bytes, idle timeout ${limits.idleTimeoutMs === 0 ? 'off' : `${limits.idleTimeoutMs} ms`}, ${limits.maxInflightRequests} in-flight requests, drain ${limits.drainTimeoutMs} ms`,
    ],
    ['admin', admin.enabled ? formatHostPort(admin) : 'disabled'],
    ['log', `${log.level}, ${log.format} (frames ${log.frames ? 'on' : 'off'})`],
    [
      'stats',
      `up to ${stats.maxClientIds} client ids, ${stats.maxTopics} topics, ${stats.maxGroups} groups; per-topic decoding ${stats.topics ? 'on' : 'off'}; audit ${stats.audit.enabled ? (stats.audit.file === '-' ? 'to stdout' : `to ${stats.audit.file}`) : 'off'}`,
    ],
    ['filters', filters.length === 0 ? 'none' : filters.map((f) => f.name).join(' -> ')],
  ]
  if (overrides.length > 0) lines.push(['overrides', overrides.join(', ')])
  return lines.map(([k, v]) => `  ${k.padEnd(10)}${v}\n`).join('')
}

/** `mTLS, client certificate required (CA ...), principal from spiffe, cn (1 rule), TLS 1.2+, certificate ...`. */
function describeListenTls(tls: ListenTlsConfig): string {
  const parts: string[] = []
  if (tls.ca === undefined) parts.push('TLS, no client certificates')
  else {
    parts.push(`mTLS, client certificate ${tls.requireClientCert ? 'required' : 'optional'} (CA ${tls.ca})`)
    const rules = tls.principal.rules.length
    parts.push(
      `principal from ${tls.principal.from.join(', ')}${rules > 0 ? ` (${rules} rule${rules > 1 ? 's' : ''})` : ''}`,
    )
  }
  parts.push(`${tls.minVersion.replace('TLSv', 'TLS ')}+${tls.ciphers === undefined ? '' : `, ciphers ${tls.ciphers}`}`)
  const { material } = readTlsMaterial({ cert: tls.cert, key: tls.key })
  parts.push(
    material?.leaf === undefined
      ? `certificate ${tls.cert}`
      : `certificate ${material.leaf.subject} until ${material.leaf.validTo}`,
  )
  return parts.join('; ')
}

export const validateConfigCommand: CliCommand = {
  command: 'validate-config [file]',
  describe: 'Check a config file (with environment and flag overrides applied) and summarize it',
  builder: (y) =>
    y
      .positional('file', {
        type: 'string',
        describe: `YAML config file, as --config takes it (default: $${CONFIG_FILE_ENV})`,
      })
      .options(configFileOption())
      .option('env', {
        type: 'boolean',
        default: true,
        describe: 'apply KAFKA_SIDECAR_* environment overrides (--no-env: the file alone)',
      })
      .options(configFlagOptions())
      .example('$0 validate-config /etc/kafka-sidecar/config.yaml', 'check a file')
      .example('$0 validate-config --config /etc/kafka-sidecar/config.yaml', 'the same, named as run takes it')
      .example(
        '$0 validate-config config.yaml --upstream broker-1:9092',
        'check it as `run --upstream ...` would see it',
      )
      .epilogue('Exit codes: 0 valid, 1 problems found (all are listed), 2 usage.'),
  handler: (parsed) => {
    const argv = parsed as unknown as { file?: string; config?: string; env: boolean } & Record<string, unknown>
    if (argv.file !== undefined && argv.config !== undefined && argv.file !== argv.config) {
      emit({
        exitCode: USAGE_EXIT,
        stdout: '',
        stderr: usageLine(
          `two config files, ${JSON.stringify(argv.file)} and --config ${JSON.stringify(argv.config)}: name one`,
          'validate-config',
        ),
      })
      return
    }
    const args: ValidateConfigArgs = { useEnv: argv.env, env: process.env, flags: argv }
    const file = argv.file ?? argv.config
    if (file !== undefined) args.file = file
    emit(runValidateConfig(args))
  },
}
