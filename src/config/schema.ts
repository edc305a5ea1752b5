import { accessSync, constants } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { readTlsMaterial, TLS_VERSIONS, type TlsVersion } from '../tls/material.js'
import {
  compileRule,
  PRINCIPAL_SOURCES,
  type PrincipalConfig,
  type PrincipalRuleConfig,
  type PrincipalSource,
} from '../tls/principal.js'
import { type HostPort, isWildcardHost, parseHost, parseHostPort } from './host-port.js'
import { type UpstreamClientConfig, upstreamClientSection } from './upstream-client-section.js'
import { describeValue, type PathSegment, type RawIssue, Validator } from './validator.js'

/**
 * The sidecar's configuration after validation: every key present, defaults filled in, frozen.
 * Plain data (no Maps, no classes) so that it can be compared, printed and diffed as JSON.
 */
export interface SidecarConfig {
  /** The bootstrap listener that clients are pointed at. */
  readonly listen: ListenConfig
  readonly brokers: BrokersConfig
  readonly upstream: UpstreamConfig
  readonly limits: LimitsConfig
  readonly admin: AdminConfig
  readonly log: LogConfig
  /** Per-client statistics (/metrics, /stats, `top`) and the audit log. */
  readonly stats: StatsConfig
  /** Filters in pipeline order; each filter validates its own `config` when it is created. */
  readonly filters: readonly FilterEntry[]
}

export interface ListenConfig extends HostPort {
  /** TLS termination on every client-facing listener (the bootstrap and the per-broker ones); absent: plaintext. */
  readonly tls?: ListenTlsConfig
}

/** The sidecar's server side of TLS, with client certificates (mTLS) when `ca` is set. */
export interface ListenTlsConfig {
  /** Absolute paths (relative ones are resolved against the config file's directory). Watched: rotation needs no restart. */
  readonly cert: string
  readonly key: string
  /** CA bundle that issues client certificates; setting it asks clients for a certificate. */
  readonly ca?: string
  /** Default: true when `ca` is set. False: a certificate is asked for but optional (no certificate: no principal). */
  readonly requireClientCert: boolean
  /** Default TLSv1.2. */
  readonly minVersion: TlsVersion
  /** OpenSSL cipher list / TLS 1.3 suites; default: Node's. */
  readonly ciphers?: string
  /** A client that has not finished the handshake by then is closed. Default 10000. */
  readonly handshakeTimeoutMs: number
  readonly principal: PrincipalConfig
}

export type { PrincipalConfig, PrincipalRuleConfig, PrincipalSource, TlsVersion }

/** One local listener per upstream broker node id, at a port that depends only on the node id. */
export interface BrokersConfig {
  /** Bind host of the per-broker listeners. Default: listen.host. */
  readonly host: string
  /** Host name clients are told in Metadata and FindCoordinator. Default: listen.host, or localhost for 0.0.0.0/::. */
  readonly advertisedHost: string
  /** Node N listens on portBase + N unless `ports` names it. */
  readonly portBase: number
  /** Explicit ports by node id (decimal string keys, as in the YAML). */
  readonly ports: Readonly<Record<string, number>>
}

export interface UpstreamConfig {
  /** Bootstrap brokers; required for `run` (from the file, KAFKA_SIDECAR_UPSTREAM or --upstream). */
  readonly bootstrap: readonly HostPort[]
  readonly connectTimeoutMs: number
  readonly metadataRefreshMs: number
  readonly tls: UpstreamTlsConfig
  /** The sidecar's own connections to the cluster (tap, shadow produce), with credentials of their own. */
  readonly client: UpstreamClientConfig
}

export interface UpstreamTlsConfig {
  /** Default: true when any of ca, cert, key, servername is set, else false. */
  readonly enabled: boolean
  /** Absolute paths (relative ones are resolved against the config file's directory). */
  readonly ca?: string
  readonly cert?: string
  readonly key?: string
  /** SNI and the name checked against the certificate; default: the host being connected to. */
  readonly servername?: string
  readonly verifyHostname: boolean
  /** Accept any certificate. For tests only; the sidecar logs a warning when it is on. */
  readonly insecureSkipVerify: boolean
}

export interface LimitsConfig {
  readonly maxFrameBytes: number
  /** Close client connections idle this long; 0 never closes them. */
  readonly idleTimeoutMs: number
  readonly maxInflightRequests: number
  /** How long shutdown waits for in-flight requests. */
  readonly drainTimeoutMs: number
  /**
   * Largest ApiVersions, SaslHandshake, SaslAuthenticate request or bare SASL v0 token: what a client sends before it
   * is known. Kafka's broker caps these at sasl.server.max.receive.size, 524288 by default.
   */
  readonly maxUnauthenticatedFrameBytes: number
  /** Largest request that carries no records (every API but Produce): Metadata, commits, admin requests. */
  readonly maxNonRecordRequestBytes: number
  /** Bytes one connection may hold (requests being assembled or waiting for filters, answers waiting for the client). */
  readonly maxBufferedBytesPerConnection: number
  /** Bytes all connections together may hold; over it, reading pauses, and the largest holder is closed if it persists. */
  readonly memoryBudgetBytes: number
  /** Longest time one request may take to arrive once it has begun (slowloris); 0 never limits it. */
  readonly requestAssemblyTimeoutMs: number
  /**
   * Client connections one listener (the bootstrap, or one broker's) keeps open. When it is full, the oldest
   * connection that has sent nothing for 2 s is closed to make room; if every one has spoken, the new connection is
   * closed as soon as it is accepted. 0: no limit.
   */
  readonly maxClientConnections: number
}

export interface AdminConfig {
  readonly host: string
  readonly port: number
  readonly enabled: boolean
  /**
   * A second listener that serves only /healthz and /readyz (status, no reasons), for probes from outside the
   * process's network namespace (the kubelet probes the pod IP) while /stats and /metrics stay on `host`.
   * Absent: no such listener. Independent of `enabled`.
   */
  readonly healthPort?: number
  /** Bind host of the health listener; present when healthPort is. Default 0.0.0.0. */
  readonly healthHost?: string
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export const LOG_FORMATS = ['json', 'pretty'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

export interface LogConfig {
  readonly level: LogLevel
  /** Log every frame (api, version, correlation id, size) at debug; can be switched at runtime. */
  readonly frames: boolean
  /**
   * json: one JSON object per line, for log pipelines (the default). pretty: one readable line per entry (time,
   * level, message, then the fields), for a terminal; `dev` uses it when stdout is one.
   */
  readonly format: LogFormat
}

/**
 * Statistics. Label sets are capped: the first `maxClientIds` (client id, principal) pairs, `maxTopics` topics and
 * `maxGroups` consumer groups get their own; later ones are folded into "other" (and counted).
 */
export interface StatsConfig {
  readonly maxClientIds: number
  readonly maxTopics: number
  readonly maxGroups: number
  /** Decode Produce, Fetch, Metadata and group requests/responses for per-topic figures, throttle and lag. */
  readonly topics: boolean
  /** A client id with no open connection is forgotten (its slot freed) after this long; 0 keeps it for ever. */
  readonly clientExpiryMs: number
  readonly audit: AuditConfig
}

export interface AuditConfig {
  readonly enabled: boolean
  /** Absolute path of the file lines are appended to, or '-' for stdout. */
  readonly file: string
}

export interface FilterEntry {
  readonly name: string
  readonly config?: Readonly<Record<string, unknown>>
}

export type ConfigSection = keyof SidecarConfig
export const CONFIG_SECTIONS: readonly ConfigSection[] = [
  'listen',
  'brokers',
  'upstream',
  'limits',
  'admin',
  'log',
  'stats',
  'filters',
]

const INT32_MAX = 2_147_483_647

export const DEFAULTS = {
  listen: { host: '127.0.0.1', port: 9092 },
  listenTls: {
    minVersion: 'TLSv1.2' as TlsVersion,
    handshakeTimeoutMs: 10_000,
    principalFrom: ['spiffe', 'cn'] as readonly PrincipalSource[],
  },
  brokers: { portBase: 9093 },
  upstream: { connectTimeoutMs: 10_000, metadataRefreshMs: 30_000 },
  limits: {
    maxFrameBytes: 104_857_600,
    idleTimeoutMs: 540_000,
    maxInflightRequests: 512,
    drainTimeoutMs: 30_000,
    // BrokerSecurityConfigs.DEFAULT_SASL_SERVER_MAX_RECEIVE_SIZE in kafka-clients ("512KB", sasl.server.max.receive.size).
    maxUnauthenticatedFrameBytes: 524_288,
    maxNonRecordRequestBytes: 8 * 1024 * 1024,
    maxBufferedBytesPerConnection: 32 * 1024 * 1024,
    // Leaves room under a 256 MB pod limit for the ~80 MB an idle sidecar takes and for V8's heap.
    memoryBudgetBytes: 128 * 1024 * 1024,
    requestAssemblyTimeoutMs: 30_000,
    // A client connection costs about 10 KiB of RSS while it has no broker connection, 15-18 KiB with one
    // (measured: 900 and 5,000 idle connections; the bench's 1,000 active connections take the sidecar from 77 to
    // 93 MB). 1,000 per listener keeps that bench's workload working; under a 256 MB pod limit, ~80 MB idle +
    // memoryBudgetBytes (128 MiB) leaves room for about 2,500 connections with broker connections in all, and one
    // application's clients open one connection per broker each, far fewer.
    maxClientConnections: 1000,
  },
  admin: { host: '127.0.0.1', port: 9644, enabled: true },
  // The health listener exists for probes from the pod IP, so it binds every interface unless told otherwise.
  adminHealthHost: '0.0.0.0',
  log: { level: 'info' as LogLevel, frames: false, format: 'json' as LogFormat },
  stats: {
    maxClientIds: 100,
    maxTopics: 200,
    maxGroups: 100,
    topics: true,
    clientExpiryMs: 3_600_000,
    audit: { enabled: false, file: '-' },
  },
} as const

/** A problem with the `filters` entry at `index`: its name, or its config. */
export interface FilterEntryIssue {
  readonly index: number
  readonly key: 'name' | 'config'
  readonly message: string
}

/**
 * Checks `filters` entries against the filters that exist (src/filter-registry.ts). The configuration module does not
 * know the filters; the commands pass this in, so that a file is checked the same way by every command.
 */
export type FilterCheck = (entries: readonly FilterEntry[]) => readonly FilterEntryIssue[]

export interface ValidateOptions {
  /** `run` needs upstream brokers; other commands (validate a partial file) may not. Default true. */
  requireUpstream?: boolean
  /** Check the `filters` entries' names and configs; default: only their shape. */
  checkFilters?: FilterCheck
  /** log.format when the configuration does not set it; default json (`dev` passes pretty on a terminal). */
  defaultLogFormat?: LogFormat
  /** Directory that relative TLS file paths are resolved against (the config file's). Default: cwd. */
  baseDir?: string
  /** Check that TLS files exist and are readable. Default true. */
  checkFiles?: boolean
}

export interface ValidationResult {
  /** Present when there were no issues. */
  readonly config?: SidecarConfig
  readonly issues: readonly RawIssue[]
}

/**
 * Validates a merged raw configuration (file, environment and flags already layered) and fills in defaults.
 * Never throws: problems come back as issues; the loader turns them into one ConfigError.
 */
export function validateConfig(raw: unknown, options: ValidateOptions = {}): ValidationResult {
  const v = new Validator()
  const root = v.mapping(raw, [], CONFIG_SECTIONS)

  const listen = listenSection(v, root.listen, options)
  const admin = adminSection(v, root.admin)
  const brokers = brokersSection(v, root.brokers, listen)
  const upstream = upstreamSection(v, root.upstream, options)
  const limits = limitsSection(v, root.limits)
  const log = logSection(v, root.log, options)
  const stats = statsSection(v, root.stats, options)
  const filters = filtersSection(v, root.filters)
  if (options.checkFilters !== undefined && !v.issues.some((i) => i.segments[0] === 'filters')) {
    for (const issue of options.checkFilters(filters)) v.fail(['filters', issue.index, issue.key], issue.message)
  }

  if (
    admin.enabled &&
    admin.port === listen.port &&
    hostsOverlap(admin.host, listen.host) &&
    !v.issues.some((i) => i.segments[0] === 'admin' || i.segments[0] === 'listen')
  ) {
    v.fail(['admin', 'port'], `${admin.port} is also listen.port: give the admin endpoint its own port`)
  }
  if (
    admin.healthPort === listen.port &&
    hostsOverlap(admin.healthHost ?? '', listen.host) &&
    !v.issues.some((i) => i.segments[0] === 'admin' || i.segments[0] === 'listen')
  ) {
    v.fail(['admin', 'healthPort'], `${admin.healthPort} is also listen.port: give the health listener its own port`)
  }
  for (const [node, port] of Object.entries(brokers.ports)) {
    const clash =
      port === listen.port && hostsOverlap(brokers.host, listen.host)
        ? 'listen.port'
        : admin.enabled && port === admin.port && hostsOverlap(brokers.host, admin.host)
          ? 'admin.port'
          : undefined
    if (clash !== undefined) v.fail(['brokers', 'ports', node], `${port} is also ${clash}: pick another port`)
  }

  if (v.issues.length > 0) return { issues: v.issues }
  const config: SidecarConfig = { listen, brokers, upstream, limits, admin, log, stats, filters }
  return { config: deepFreeze(config), issues: [] }
}

function hostsOverlap(a: string, b: string): boolean {
  return a === b || isWildcardHost(a) || isWildcardHost(b)
}

function hostPortSection(
  v: Validator,
  value: unknown,
  at: readonly PathSegment[],
  defaults: HostPort,
  extraKeys: readonly string[] = [],
): HostPort {
  // `listen: 0.0.0.0:9092` is accepted as a shorthand for the mapping.
  if (typeof value === 'string') {
    const hp = parseHostPort(value)
    if ('error' in hp) {
      v.fail(at, `${describeValue(value)} is not a valid host:port (${hp.error})`)
      return defaults
    }
    return hp
  }
  const m = v.mapping(value, at, ['host', 'port', ...extraKeys])
  return {
    host: hostValue(v, m.host, [...at, 'host'], defaults.host),
    port: v.int(m.port, [...at, 'port'], defaults.port, 1, 65535, 'a port'),
  }
}

function hostValue(v: Validator, value: unknown, at: readonly PathSegment[], fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value === 'string') {
    const host = parseHost(value.trim())
    if (host !== undefined) return host
  }
  v.fail(at, `${describeValue(value)} is not a host name or IP address`)
  return fallback
}

function adminSection(v: Validator, value: unknown): AdminConfig {
  const hp = hostPortSection(v, value, ['admin'], DEFAULTS.admin, ['enabled', 'healthPort', 'healthHost'])
  const enabled = v.isMapping(value) ? v.bool(value.enabled, ['admin', 'enabled'], DEFAULTS.admin.enabled) : true
  const admin = { host: hp.host, port: hp.port, enabled }
  if (!v.isMapping(value) || value.healthPort === undefined || value.healthPort === null) {
    if (v.isMapping(value) && value.healthHost !== undefined) {
      v.fail(['admin', 'healthHost'], 'is set without admin.healthPort: set the port of the health listener too')
    }
    return admin
  }
  const healthPort = v.int(value.healthPort, ['admin', 'healthPort'], -1, 1, 65535, 'a port')
  const healthHost = hostValue(v, value.healthHost, ['admin', 'healthHost'], DEFAULTS.adminHealthHost)
  if (healthPort > 0 && enabled && healthPort === admin.port && hostsOverlap(healthHost, admin.host)) {
    v.fail(['admin', 'healthPort'], `${healthPort} is also admin.port: give the health listener its own port`)
  }
  return healthPort > 0 ? { ...admin, healthPort, healthHost } : admin
}

function brokersSection(v: Validator, value: unknown, listen: HostPort): BrokersConfig {
  const at = ['brokers']
  const m = v.mapping(value, at, ['host', 'advertisedHost', 'portBase', 'ports'])
  const host = hostValue(v, m.host, [...at, 'host'], listen.host)
  const advertisedDefault = isWildcardHost(listen.host) ? 'localhost' : listen.host
  const advertisedHost = hostValue(v, m.advertisedHost, [...at, 'advertisedHost'], advertisedDefault)
  if (isWildcardHost(advertisedHost)) {
    v.fail(
      [...at, 'advertisedHost'],
      `"${advertisedHost}" cannot be told to clients: set the host name or address they can reach the sidecar at`,
    )
  }
  const portBase = v.int(m.portBase, [...at, 'portBase'], DEFAULTS.brokers.portBase, 1, 65535, 'a port')
  const ports: Record<string, number> = {}
  const pm = v.mapping(m.ports, [...at, 'ports'], null)
  const seen = new Map<number, string>()
  for (const [node, port] of Object.entries(pm)) {
    const nodeAt = [...at, 'ports', node]
    if (!/^\d{1,10}$/.test(node) || Number(node) > INT32_MAX) {
      v.fail(nodeAt, `"${node}" is not a broker node id (expected a non-negative integer)`)
      continue
    }
    const p = v.int(port, nodeAt, -1, 1, 65535, 'a port')
    if (p < 0) continue
    const other = seen.get(p)
    if (other !== undefined) v.fail(nodeAt, `port ${p} is already used by node ${other}`)
    seen.set(p, node)
    ports[String(Number(node))] = p
  }
  return { host, advertisedHost, portBase, ports }
}

function listenSection(v: Validator, value: unknown, options: ValidateOptions): ListenConfig {
  const hp = hostPortSection(v, value, ['listen'], DEFAULTS.listen, ['tls'])
  if (!v.isMapping(value) || value.tls === undefined || value.tls === null) return hp
  return { ...hp, tls: listenTlsSection(v, value.tls, ['listen', 'tls'], options) }
}

function listenTlsSection(
  v: Validator,
  value: unknown,
  at: readonly PathSegment[],
  options: ValidateOptions,
): ListenTlsConfig {
  const keys = ['cert', 'key', 'ca', 'requireClientCert', 'minVersion', 'ciphers', 'handshakeTimeoutMs', 'principal']
  const m = v.mapping(value, at, keys)
  const before = v.issues.length
  const cert = tlsFile(v, m, at, 'cert', options)
  const key = tlsFile(v, m, at, 'key', options)
  const ca = tlsFile(v, m, at, 'ca', options)
  for (const [k, got] of [
    ['cert', cert],
    ['key', key],
  ] as const) {
    if (got === undefined && v.isMapping(value)) {
      v.fail(
        [...at, k],
        `missing: a TLS listener needs its ${k === 'cert' ? 'certificate' : 'private key'} (a PEM file; kafka-sidecar certs init makes a development set)`,
      )
    }
  }
  const requireClientCert = v.bool(m.requireClientCert, [...at, 'requireClientCert'], ca !== undefined)
  if (requireClientCert && ca === undefined) {
    v.fail([...at, 'requireClientCert'], 'true needs listen.tls.ca, the CA bundle that issues the client certificates')
  }
  const minVersion = v.choice(m.minVersion, [...at, 'minVersion'], DEFAULTS.listenTls.minVersion, TLS_VERSIONS)
  const ciphers = v.optionalString(m.ciphers, [...at, 'ciphers'], 'an OpenSSL cipher list')
  const handshakeTimeoutMs = v.int(
    m.handshakeTimeoutMs,
    [...at, 'handshakeTimeoutMs'],
    DEFAULTS.listenTls.handshakeTimeoutMs,
    100,
    600_000,
    'milliseconds',
  )
  if (m.principal !== undefined && m.principal !== null && ca === undefined) {
    v.fail(
      [...at, 'principal'],
      'principals come from client certificates: set listen.tls.ca so that clients are asked for one',
    )
  }
  const principal = principalSection(v, m.principal, [...at, 'principal'])
  // Contents (PEM parses, key matches, not expired, ciphers usable) only when every path is readable.
  if (options.checkFiles !== false && v.issues.length === before && cert !== undefined && key !== undefined) {
    const { problems } = readTlsMaterial({ cert, key, ca }, { minVersion, ciphers })
    for (const p of problems) v.fail([...at, p.key], p.message)
  }
  const tls: { -readonly [K in keyof ListenTlsConfig]: ListenTlsConfig[K] } = {
    cert: cert ?? '',
    key: key ?? '',
    requireClientCert,
    minVersion,
    handshakeTimeoutMs,
    principal,
  }
  if (ca !== undefined) tls.ca = ca
  if (ciphers !== undefined) tls.ciphers = ciphers
  return tls
}

function principalSection(v: Validator, value: unknown, at: readonly PathSegment[]): PrincipalConfig {
  const m = v.mapping(value, at, ['from', 'rules'])
  let from: PrincipalSource[] = [...DEFAULTS.listenTls.principalFrom]
  if (m.from !== undefined && m.from !== null) {
    // "spiffe,cn" (environment, flags) or a list.
    const items =
      typeof m.from === 'string'
        ? m.from
            .split(/[\s,]+/)
            .filter((s) => s !== '')
            .map((s, i) => ({ s, i }))
        : v.list(m.from, [...at, 'from'], `sources (${PRINCIPAL_SOURCES.join(', ')})`).map((s, i) => ({ s, i }))
    from = []
    for (const { s, i } of items) {
      const itemAt = typeof m.from === 'string' ? [...at, 'from'] : [...at, 'from', i]
      const source = v.choice(s, itemAt, 'cn', PRINCIPAL_SOURCES)
      if (from.includes(source)) v.fail(itemAt, `"${source}" is listed twice`)
      else from.push(source)
    }
    if (items.length === 0) v.fail([...at, 'from'], `empty: name at least one of ${PRINCIPAL_SOURCES.join(', ')}`)
  }
  const rules: PrincipalRuleConfig[] = []
  v.list(m.rules, [...at, 'rules'], 'rules ({ match, replace })').forEach((item, i) => {
    const ruleAt = [...at, 'rules', i]
    if (!v.isMapping(item)) {
      v.fail(ruleAt, `expected a mapping { match, replace }, got ${describeValue(item)}`)
      return
    }
    const r = v.mapping(item, ruleAt, ['match', 'replace'])
    const match = v.string(r.match, [...ruleAt, 'match'], '', 'a regular expression')
    if (r.match === undefined) v.fail([...ruleAt, 'match'], 'missing: the regular expression to match')
    const replace = typeof r.replace === 'string' ? r.replace : v.string(r.replace, [...ruleAt, 'replace'], '$&')
    if (r.replace === undefined) v.fail([...ruleAt, 'replace'], 'missing: the replacement (e.g. "$1/$2")')
    if (match === '') return
    const compiled = compileRule({ match, replace })
    if ('error' in compiled) {
      v.fail([...ruleAt, compiled.error.startsWith('replace') ? 'replace' : 'match'], compiled.error)
      return
    }
    rules.push({ match, replace })
  })
  return { from, rules }
}

/** A TLS file path: resolved against the config file's directory, checked to be readable. */
function tlsFile(
  v: Validator,
  m: Record<string, unknown>,
  at: readonly PathSegment[],
  k: 'ca' | 'cert' | 'key',
  options: ValidateOptions,
): string | undefined {
  const p = v.optionalString(m[k], [...at, k], 'a file path')
  if (p === undefined) return undefined
  const abs = isAbsolute(p) ? p : resolve(options.baseDir ?? process.cwd(), p)
  if (options.checkFiles !== false) {
    try {
      accessSync(abs, constants.R_OK)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error'
      v.fail([...at, k], `cannot read ${JSON.stringify(abs)} (${code}): check the path and its permissions`)
    }
  }
  return abs
}

function upstreamSection(v: Validator, value: unknown, options: ValidateOptions): UpstreamConfig {
  const at = ['upstream']
  const m = v.mapping(value, at, ['bootstrap', 'connectTimeoutMs', 'metadataRefreshMs', 'tls', 'client'])
  const bootstrap: HostPort[] = []
  const list =
    typeof m.bootstrap === 'string' ? m.bootstrap.split(',') : v.list(m.bootstrap, [...at, 'bootstrap'], 'host:port')
  list.forEach((entry, i) => {
    const entryAt = [...at, 'bootstrap', i]
    if (typeof entry !== 'string') {
      v.fail(entryAt, `${describeValue(entry)} is not a valid host:port (expected a string like broker-1:9092)`)
      return
    }
    const hp = parseHostPort(entry)
    if ('error' in hp) v.fail(entryAt, `${describeValue(entry)} is not a valid host:port (${hp.error})`)
    else bootstrap.push(hp)
  })
  if (bootstrap.length === 0 && list.length === 0 && options.requireUpstream !== false) {
    v.fail(
      [...at, 'bootstrap'],
      'no upstream brokers: list them in upstream.bootstrap, KAFKA_SIDECAR_UPSTREAM or --upstream (host:port, comma-separated)',
    )
  }
  return {
    bootstrap,
    connectTimeoutMs: v.int(
      m.connectTimeoutMs,
      [...at, 'connectTimeoutMs'],
      DEFAULTS.upstream.connectTimeoutMs,
      1,
      INT32_MAX,
      'milliseconds',
    ),
    metadataRefreshMs: v.int(
      m.metadataRefreshMs,
      [...at, 'metadataRefreshMs'],
      DEFAULTS.upstream.metadataRefreshMs,
      1000,
      INT32_MAX,
      'milliseconds',
    ),
    tls: tlsSection(v, m.tls, [...at, 'tls'], options),
    client: upstreamClientSection(v, m.client, [...at, 'client'], options),
  }
}

function tlsSection(
  v: Validator,
  value: unknown,
  at: readonly PathSegment[],
  options: ValidateOptions,
): UpstreamTlsConfig {
  const keys = ['enabled', 'ca', 'cert', 'key', 'servername', 'verifyHostname', 'insecureSkipVerify']
  const m = v.mapping(value, at, keys)
  const before = v.issues.length
  const file = (k: 'ca' | 'cert' | 'key'): string | undefined => tlsFile(v, m, at, k, options)
  const ca = file('ca')
  const cert = file('cert')
  const key = file('key')
  const servername = v.optionalString(m.servername, [...at, 'servername'], 'a host name')
  if ((cert === undefined) !== (key === undefined)) {
    v.fail(
      [...at, cert === undefined ? 'cert' : 'key'],
      'cert and key go together: set both for a client certificate, or neither',
    )
  }
  const implied = ca !== undefined || cert !== undefined || key !== undefined || servername !== undefined
  const tls: { -readonly [K in keyof UpstreamTlsConfig]: UpstreamTlsConfig[K] } = {
    enabled: v.bool(m.enabled, [...at, 'enabled'], implied),
    verifyHostname: v.bool(m.verifyHostname, [...at, 'verifyHostname'], true),
    insecureSkipVerify: v.bool(m.insecureSkipVerify, [...at, 'insecureSkipVerify'], false),
  }
  if (ca !== undefined) tls.ca = ca
  if (cert !== undefined) tls.cert = cert
  if (key !== undefined) tls.key = key
  if (servername !== undefined) tls.servername = servername
  // Contents (PEM parses, the key belongs to the certificate, not expired) once every path is readable.
  if (options.checkFiles !== false && tls.enabled && v.issues.length === before) {
    const { problems } = readTlsMaterial({ ca, cert, key })
    for (const p of problems) v.fail([...at, p.key], p.message)
  }
  return tls
}

function limitsSection(v: Validator, value: unknown): LimitsConfig {
  const at = ['limits']
  const d = DEFAULTS.limits
  const m = v.mapping(value, at, [
    'maxFrameBytes',
    'idleTimeoutMs',
    'maxInflightRequests',
    'drainTimeoutMs',
    'maxUnauthenticatedFrameBytes',
    'maxNonRecordRequestBytes',
    'maxBufferedBytesPerConnection',
    'memoryBudgetBytes',
    'requestAssemblyTimeoutMs',
    'maxClientConnections',
  ])
  const bytes = (key: keyof LimitsConfig, min: number) =>
    v.int(m[key], [...at, key], d[key] as number, min, INT32_MAX, 'bytes')
  const limits: LimitsConfig = {
    maxFrameBytes: v.int(m.maxFrameBytes, [...at, 'maxFrameBytes'], d.maxFrameBytes, 1024, INT32_MAX, 'bytes'),
    idleTimeoutMs: v.int(m.idleTimeoutMs, [...at, 'idleTimeoutMs'], d.idleTimeoutMs, 0, INT32_MAX, 'milliseconds'),
    maxInflightRequests: v.int(
      m.maxInflightRequests,
      [...at, 'maxInflightRequests'],
      d.maxInflightRequests,
      1,
      65536,
      'requests',
    ),
    drainTimeoutMs: v.int(m.drainTimeoutMs, [...at, 'drainTimeoutMs'], d.drainTimeoutMs, 0, INT32_MAX, 'milliseconds'),
    maxUnauthenticatedFrameBytes: bytes('maxUnauthenticatedFrameBytes', 1024),
    maxNonRecordRequestBytes: bytes('maxNonRecordRequestBytes', 1024),
    maxBufferedBytesPerConnection: bytes('maxBufferedBytesPerConnection', 64 * 1024),
    memoryBudgetBytes: bytes('memoryBudgetBytes', 1024 * 1024),
    requestAssemblyTimeoutMs: v.int(
      m.requestAssemblyTimeoutMs,
      [...at, 'requestAssemblyTimeoutMs'],
      d.requestAssemblyTimeoutMs,
      0,
      INT32_MAX,
      'milliseconds',
    ),
    maxClientConnections: v.int(
      m.maxClientConnections,
      [...at, 'maxClientConnections'],
      d.maxClientConnections,
      0,
      INT32_MAX,
      'connections',
    ),
  }
  if (limits.maxBufferedBytesPerConnection > limits.memoryBudgetBytes) {
    v.fail(
      [...at, 'maxBufferedBytesPerConnection'],
      `is ${limits.maxBufferedBytesPerConnection}, more than limits.memoryBudgetBytes (${limits.memoryBudgetBytes}): one connection could take the whole budget; lower it or raise the budget`,
    )
  }
  return limits
}

function logSection(v: Validator, value: unknown, options: ValidateOptions): LogConfig {
  const m = v.mapping(value, ['log'], ['level', 'frames', 'format'])
  return {
    level: v.choice(m.level, ['log', 'level'], DEFAULTS.log.level, LOG_LEVELS),
    frames: v.bool(m.frames, ['log', 'frames'], DEFAULTS.log.frames),
    format: v.choice(m.format, ['log', 'format'], options.defaultLogFormat ?? DEFAULTS.log.format, LOG_FORMATS),
  }
}

function statsSection(v: Validator, value: unknown, options: ValidateOptions): StatsConfig {
  const at = ['stats']
  const d = DEFAULTS.stats
  const m = v.mapping(value, at, ['maxClientIds', 'maxTopics', 'maxGroups', 'topics', 'clientExpiryMs', 'audit'])
  const cap = (key: 'maxClientIds' | 'maxTopics' | 'maxGroups', what: string) =>
    v.int(m[key], [...at, key], d[key], 1, 100_000, what)
  return {
    maxClientIds: cap('maxClientIds', 'client ids'),
    maxTopics: cap('maxTopics', 'topics'),
    maxGroups: cap('maxGroups', 'groups'),
    topics: v.bool(m.topics, [...at, 'topics'], d.topics),
    clientExpiryMs: v.int(m.clientExpiryMs, [...at, 'clientExpiryMs'], d.clientExpiryMs, 0, INT32_MAX, 'milliseconds'),
    audit: auditSection(v, m.audit, [...at, 'audit'], options),
  }
}

function auditSection(v: Validator, value: unknown, at: readonly PathSegment[], options: ValidateOptions): AuditConfig {
  const m = v.mapping(value, at, ['enabled', 'file'])
  const enabled = v.bool(m.enabled, [...at, 'enabled'], DEFAULTS.stats.audit.enabled)
  const given = v.optionalString(m.file, [...at, 'file'], "a file path, or '-' for stdout")
  if (given === undefined || given.trim() === '-') return { enabled, file: '-' }
  const file = isAbsolute(given) ? given : resolve(options.baseDir ?? process.cwd(), given)
  if (enabled && options.checkFiles !== false) {
    // The file may not exist yet (it is created), but its directory must be there and writable.
    const dir = dirname(file)
    try {
      accessSync(dir, constants.W_OK)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error'
      v.fail(
        [...at, 'file'],
        `cannot write in ${JSON.stringify(dir)} (${code}): create the directory or pick another path`,
      )
    }
  }
  return { enabled, file }
}

function filtersSection(v: Validator, value: unknown): readonly FilterEntry[] {
  const entries: FilterEntry[] = []
  v.list(value, ['filters'], 'filters ({ name, config })').forEach((item, i) => {
    const at = ['filters', i]
    if (!v.isMapping(item)) {
      v.fail(at, `expected a mapping { name, config }, got ${describeValue(item)}`)
      return
    }
    const m = v.mapping(item, at, ['name', 'config'])
    const name = v.string(m.name, [...at, 'name'], '', 'the filter name')
    if (m.name === undefined) v.fail([...at, 'name'], 'missing: every filter needs a name')
    if (m.config !== undefined && m.config !== null && !v.isMapping(m.config)) {
      v.fail([...at, 'config'], `expected a mapping of filter settings, got ${describeValue(m.config)}`)
      return
    }
    entries.push(v.isMapping(m.config) ? { name, config: m.config } : { name })
  })
  return entries
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
