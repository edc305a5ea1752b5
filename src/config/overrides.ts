import { resolve as resolvePath } from 'node:path'
import type { ConfigIssue } from './errors.js'
import { parseHostPort } from './host-port.js'
import { LOG_FORMATS, LOG_LEVELS } from './log-section.js'
import { describeValue, type PathSegment } from './validator.js'

/** Environment variable naming the config file (a --config flag given to the loader as `file` wins). */
export const CONFIG_FILE_ENV = 'KAFKA_SIDECAR_CONFIG'

/**
 * How an override's text becomes config values:
 *   hostport  `host:port` sets `<key>.host` and `<key>.port` (other keys of that section stay as they were)
 *   list      comma- or space-separated, repeatable flag
 *   scalar    passed through; the schema checks and converts it like a YAML value
 *   path      a file path, made absolute against the working directory (where the command was typed), unlike
 *             relative paths in the config file, which are relative to the file
 */
export type OverrideKind = 'hostport' | 'list' | 'scalar' | 'path'

/** One setting that can come from an environment variable and/or a CLI flag, over the config file. */
export interface ConfigOverride {
  /** Flag name without the dashes (`listen` for --listen). */
  readonly flag: string
  readonly env?: string
  /** The config key it sets. */
  readonly key: readonly string[]
  readonly kind: OverrideKind
  /** For --help. */
  readonly describe: string
  /** What the value looks like, for --help: `host:port`. */
  readonly placeholder: string
  readonly choices?: readonly string[]
}

/**
 * Every override, in --help order. The loader and the CLI both read this list, so --help and the precedence rules
 * cannot drift apart. Precedence: defaults < config file < environment < flags.
 */
export const CONFIG_OVERRIDES: readonly ConfigOverride[] = [
  {
    flag: 'upstream',
    env: 'KAFKA_SIDECAR_UPSTREAM',
    key: ['upstream', 'bootstrap'],
    kind: 'list',
    describe: 'upstream bootstrap brokers, comma-separated',
    placeholder: 'host:port,...',
  },
  {
    flag: 'listen',
    env: 'KAFKA_SIDECAR_LISTEN',
    key: ['listen'],
    kind: 'hostport',
    describe: 'bootstrap listener that clients connect to',
    placeholder: 'host:port',
  },
  {
    flag: 'admin',
    env: 'KAFKA_SIDECAR_ADMIN',
    key: ['admin'],
    kind: 'hostport',
    describe: 'admin HTTP endpoint (/metrics, /healthz, /readyz, /stats)',
    placeholder: 'host:port',
  },
  {
    flag: 'broker-port-base',
    env: 'KAFKA_SIDECAR_BROKER_PORT_BASE',
    key: ['brokers', 'portBase'],
    kind: 'scalar',
    describe: 'broker node N gets a local listener on port base + N',
    placeholder: 'port',
  },
  {
    flag: 'broker-host',
    key: ['brokers', 'host'],
    kind: 'scalar',
    describe: 'bind host of the per-broker listeners',
    placeholder: 'host',
  },
  {
    flag: 'advertised-host',
    env: 'KAFKA_SIDECAR_ADVERTISED_HOST',
    key: ['brokers', 'advertisedHost'],
    kind: 'scalar',
    describe: 'host name clients are told to connect to for each broker',
    placeholder: 'host',
  },
  {
    flag: 'tls-cert',
    env: 'KAFKA_SIDECAR_TLS_CERT',
    key: ['listen', 'tls', 'cert'],
    kind: 'path',
    describe: 'TLS on the client listeners: the sidecar certificate (PEM)',
    placeholder: 'file',
  },
  {
    flag: 'tls-key',
    env: 'KAFKA_SIDECAR_TLS_KEY',
    key: ['listen', 'tls', 'key'],
    kind: 'path',
    describe: 'TLS on the client listeners: the private key of that certificate (PEM)',
    placeholder: 'file',
  },
  {
    flag: 'tls-client-ca',
    env: 'KAFKA_SIDECAR_TLS_CLIENT_CA',
    key: ['listen', 'tls', 'ca'],
    kind: 'path',
    describe: 'mTLS: CA bundle that issues client certificates (clients must present one)',
    placeholder: 'file',
  },
  {
    flag: 'tls-principal-from',
    env: 'KAFKA_SIDECAR_TLS_PRINCIPAL_FROM',
    key: ['listen', 'tls', 'principal', 'from'],
    kind: 'scalar',
    describe: 'where the client principal comes from, first present wins (spiffe, dns, cn)',
    placeholder: 'spiffe,cn',
  },
  {
    flag: 'log-level',
    env: 'KAFKA_SIDECAR_LOG_LEVEL',
    key: ['log', 'level'],
    kind: 'scalar',
    describe: 'log level',
    placeholder: 'level',
    choices: LOG_LEVELS,
  },
  {
    flag: 'log-format',
    env: 'KAFKA_SIDECAR_LOG_FORMAT',
    key: ['log', 'format'],
    kind: 'scalar',
    describe: 'log format: json lines, or pretty for a terminal (default json; dev: pretty when stdout is a terminal)',
    placeholder: 'format',
    choices: LOG_FORMATS,
  },
  {
    flag: 'max-frame-bytes',
    key: ['limits', 'maxFrameBytes'],
    kind: 'scalar',
    describe: 'largest Kafka frame accepted from a client or broker',
    placeholder: 'bytes',
  },
]

/** Config values from one source (the environment, or the flags), with where each came from. */
export interface OverrideLayer {
  /** A partial raw config, merged over the file. */
  readonly raw: Record<string, unknown>
  /** The keys this layer set and the variable or flag that set them. */
  readonly origins: readonly { readonly key: readonly PathSegment[]; readonly origin: string }[]
  /** Values that could not even be split into keys (a malformed host:port). */
  readonly issues: readonly ConfigIssue[]
}

/** The environment's overrides. Empty variables count as unset (a common result of templating). */
export function environmentLayer(env: Readonly<Record<string, string | undefined>>): OverrideLayer {
  return buildLayer((o) => {
    if (o.env === undefined) return undefined
    const value = env[o.env]
    return value === undefined || value.trim() === '' ? undefined : { value, origin: o.env }
  })
}

/**
 * The flags' overrides. `flags` is what the argument parser produced: keys are flag names (`broker-port-base`) or
 * their camelCase forms (`brokerPortBase`, as yargs also sets); other keys are ignored.
 */
export function flagLayer(flags: Readonly<Record<string, unknown>>): OverrideLayer {
  return buildLayer((o) => {
    const value = flags[o.flag] ?? flags[camelCase(o.flag)]
    return value === undefined ? undefined : { value, origin: `--${o.flag}` }
  })
}

function buildLayer(pick: (o: ConfigOverride) => { value: unknown; origin: string } | undefined): OverrideLayer {
  const raw: Record<string, unknown> = {}
  const origins: { key: readonly PathSegment[]; origin: string }[] = []
  const issues: ConfigIssue[] = []
  for (const o of CONFIG_OVERRIDES) {
    const picked = pick(o)
    if (picked === undefined) continue
    const { value, origin } = picked
    switch (o.kind) {
      case 'hostport': {
        const text = lastValue(value)
        const hp = typeof text === 'string' ? parseHostPort(text) : { error: 'expected host:port' }
        if ('error' in hp) {
          issues.push({
            path: o.key.join('.'),
            message: `${describeValue(text)} is not a valid host:port (${hp.error})`,
            origin,
          })
          continue
        }
        setIn(raw, [...o.key, 'host'], hp.host)
        setIn(raw, [...o.key, 'port'], hp.port)
        break
      }
      case 'list': {
        const items = (Array.isArray(value) ? value : [value]).flatMap((v) =>
          String(v)
            .split(/[\s,]+/)
            .filter((s) => s !== ''),
        )
        setIn(raw, o.key, items)
        break
      }
      case 'scalar':
        setIn(raw, o.key, lastValue(value))
        break
      case 'path': {
        const text = lastValue(value)
        setIn(raw, o.key, typeof text === 'string' && text.trim() !== '' ? resolvePath(text) : text)
        break
      }
    }
    origins.push({ key: o.key, origin })
  }
  return { raw, origins, issues }
}

/** A flag given twice arrives as an array; the last one wins, as with most CLIs. */
function lastValue(value: unknown): unknown {
  return Array.isArray(value) ? value[value.length - 1] : value
}

function camelCase(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

function setIn(target: Record<string, unknown>, key: readonly string[], value: unknown): void {
  let node = target
  for (const k of key.slice(0, -1)) {
    const next = node[k]
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) node = next as Record<string, unknown>
    else node = node[k] = {}
  }
  node[key[key.length - 1]!] = value
}

/** The --config option of commands that load a config file (`run`, `dev`). */
export function configFileOption(): Record<'config', { type: 'string'; describe: string; requiresArg: true }> {
  return {
    config: { type: 'string', describe: `YAML config file [env ${CONFIG_FILE_ENV}]`, requiresArg: true },
  }
}

/** Option definitions for yargs (or any parser taking the same shape), generated from CONFIG_OVERRIDES. */
export function configFlagOptions(): Record<
  string,
  { type: 'string'; describe: string; requiresArg: true; choices?: string[] }
> {
  const options: Record<string, { type: 'string'; describe: string; requiresArg: true; choices?: string[] }> = {}
  for (const o of CONFIG_OVERRIDES) {
    const env = o.env === undefined ? '' : ` [env ${o.env}]`
    options[o.flag] = {
      type: 'string',
      describe: `${o.describe} (${o.placeholder}; config ${o.key.join('.')})${env}`,
      requiresArg: true,
      ...(o.choices === undefined ? {} : { choices: [...o.choices] }),
    }
  }
  return options
}
