import { hostname } from 'node:os'

/**
 * The tap filter's configuration: where tapped records go (clusters), what is tapped (taps), how much may wait
 * (queue), and the admin endpoint's control of taps at run time (control). A tap posted to the admin endpoint is
 * checked by the same parseTapSpec as one in the file.
 */

export type Direction = 'produce' | 'fetch'
export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'
export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'

export interface TapMatch {
  /** Directions this tap copies: records clients produce, records clients fetch, or both. */
  readonly directions: readonly Direction[]
  readonly clientId?: string
  readonly clientIdRegex?: string
  readonly principal?: string
  readonly principalRegex?: string
  /** Topics by exact name, by prefix, or by a regular expression: a topic matches when any of them does. None: every topic. */
  readonly topics?: readonly string[]
  readonly topicPrefixes?: readonly string[]
  readonly topicRegex?: string
}

export interface TapSample {
  /** Share of records (or batches) copied, 0 < rate <= 1. */
  readonly rate: number
  readonly by: 'records' | 'batches'
}

export interface TapSpec {
  readonly name: string
  /** The destination topic. */
  readonly topic: string
  /** A cluster of `clusters` by name; undefined: the upstream cluster, through the sidecar's own client. */
  readonly cluster?: string
  readonly acks: 0 | 1 | -1
  readonly compression: CompressionName
  readonly match: TapMatch
  readonly sample: TapSample
  /** Copy sizes and header names only, never keys, values or header values. */
  readonly metadataOnly: boolean
  /** JSON fields of record values replaced by "[REDACTED]" (dot paths; `*` one level, `**` any depth). */
  readonly redact: readonly string[]
  /**
   * Create the destination topic when it does not exist: undefined leaves it to the operator; `partitions` and
   * `replicationFactor` -1 take the cluster's defaults. More partitions let the tap producer send more at once.
   */
  readonly createTopic?: { readonly partitions: number; readonly replicationFactor: number }
  /** Admin taps only: the tap stops by itself this long after it started. */
  readonly durationMs?: number
}

export interface ClusterTls {
  readonly ca?: string
  readonly cert?: string
  readonly key?: string
  readonly servername?: string
  readonly verifyHostname: boolean
  readonly insecureSkipVerify: boolean
}

export interface ClusterSasl {
  readonly mechanism: SaslMechanism
  readonly username: string
  readonly password?: string
  /** Read when the filter is configured, relative to the configuration file. */
  readonly passwordFile?: string
}

/** Another Kafka cluster to tap into, with its own bootstrap, TLS and SASL settings. */
export interface ClusterSpec {
  readonly bootstrap: readonly string[]
  readonly clientId: string
  readonly tls?: ClusterTls
  readonly sasl?: ClusterSasl
  readonly connectTimeoutMs: number
  readonly requestTimeoutMs: number
  /** How long the tap producer keeps trying a batch before it counts its records as failed. */
  readonly deliveryTimeoutMs: number
}

export interface TapFilterConfig {
  /** Names this sidecar in the ksc.tap.sidecar header. */
  readonly instance: string
  readonly queue: { readonly maxBytes: number; readonly maxRecords: number }
  readonly control: {
    readonly enabled: boolean
    /** Accept tap control from addresses other than loopback (the admin endpoint may listen wider for /metrics). */
    readonly allowRemote: boolean
    readonly maxDurationMs: number
  }
  readonly clusters: Readonly<Record<string, ClusterSpec>>
  readonly taps: readonly TapSpec[]
}

export class TapConfigError extends Error {
  readonly code = 'KSC_ERR_CONFIG_FILTER'
  constructor(key: string, message: string) {
    super(`filters: tap: ${key}: ${message}`)
  }
}

export const QUEUE_DEFAULTS = { maxBytes: 8 * 1024 * 1024, maxRecords: 10_000 }
export const CONTROL_DEFAULTS = { enabled: true, allowRemote: false, maxDurationMs: 3_600_000 }
const CLUSTER_DEFAULTS = { clientId: 'kafka-sidecar-tap', connectTimeoutMs: 10_000, requestTimeoutMs: 30_000 }
/** Shorter than a producer's usual two minutes: a tap record that late is of little use, and it holds queue room. */
const DELIVERY_TIMEOUT_MS = 30_000
const TAP_NAME = /^[A-Za-z0-9._-]{1,100}$/
const COMPRESSIONS: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']
const SASL_MECHANISMS: readonly SaslMechanism[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']

type Raw = Record<string, unknown>

function mapping(value: unknown, key: string, known: readonly string[]): Raw {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TapConfigError(key, `expected a mapping with ${known.join(', ')}, got ${JSON.stringify(value)}`)
  }
  for (const k of Object.keys(value)) {
    if (!known.includes(k)) throw new TapConfigError(`${key}.${k}`, `unknown key; known: ${known.join(', ')}`)
  }
  return value as Raw
}

function int(value: unknown, key: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
    throw new TapConfigError(key, `expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`)
  }
  return v as number
}

function bool(value: unknown, key: string, fallback: boolean): boolean {
  const v = value ?? fallback
  if (typeof v !== 'boolean') throw new TapConfigError(key, `expected true or false, got ${JSON.stringify(value)}`)
  return v
}

function str(value: unknown, key: string, what: string): string {
  if (typeof value !== 'string' || value === '')
    throw new TapConfigError(key, `expected ${what}, got ${JSON.stringify(value)}`)
  return value
}

function optionalStr(value: unknown, key: string, what: string): string | undefined {
  return value === undefined || value === null ? undefined : str(value, key, what)
}

function regex(value: unknown, key: string): string | undefined {
  const pattern = optionalStr(value, key, 'a regular expression')
  if (pattern === undefined) return undefined
  try {
    new RegExp(pattern)
  } catch (err) {
    throw new TapConfigError(key, `not a valid regular expression: ${(err as Error).message}`)
  }
  return pattern
}

function strings(value: unknown, key: string, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0) throw new TapConfigError(key, `expected ${what} or a list of them, got an empty list`)
  return list.map((v, i) => str(v, `${key}[${i}]`, what))
}

function choice<T extends string>(value: unknown, key: string, fallback: T, choices: readonly T[]): T {
  const v = value ?? fallback
  if (!choices.includes(v as T)) {
    throw new TapConfigError(key, `expected one of ${choices.join(', ')}, got ${JSON.stringify(value)}`)
  }
  return v as T
}

function directions(value: unknown, key: string): Direction[] {
  const v = choice(value, key, 'produce', ['produce', 'fetch', 'both'] as const)
  return v === 'both' ? ['produce', 'fetch'] : [v]
}

function parseMatch(raw: unknown, key: string): TapMatch {
  const m = mapping(raw ?? {}, key, [
    'direction',
    'clientId',
    'clientIdRegex',
    'principal',
    'principalRegex',
    'topics',
    'topicPrefixes',
    'topicRegex',
  ])
  if (m.clientId !== undefined && m.clientIdRegex !== undefined) {
    throw new TapConfigError(key, 'has both clientId and clientIdRegex: keep one')
  }
  if (m.principal !== undefined && m.principalRegex !== undefined) {
    throw new TapConfigError(key, 'has both principal and principalRegex: keep one')
  }
  const match: { -readonly [K in keyof TapMatch]: TapMatch[K] } = {
    directions: directions(m.direction, `${key}.direction`),
  }
  const clientId = optionalStr(m.clientId, `${key}.clientId`, 'a client id')
  if (clientId !== undefined) match.clientId = clientId
  const clientIdRegex = regex(m.clientIdRegex, `${key}.clientIdRegex`)
  if (clientIdRegex !== undefined) match.clientIdRegex = clientIdRegex
  const principal = optionalStr(m.principal, `${key}.principal`, 'a principal')
  if (principal !== undefined) match.principal = principal
  const principalRegex = regex(m.principalRegex, `${key}.principalRegex`)
  if (principalRegex !== undefined) match.principalRegex = principalRegex
  const topics = strings(m.topics, `${key}.topics`, 'a topic name')
  if (topics !== undefined) match.topics = topics
  const prefixes = strings(m.topicPrefixes, `${key}.topicPrefixes`, 'a topic name prefix')
  if (prefixes !== undefined) match.topicPrefixes = prefixes
  const topicRegex = regex(m.topicRegex, `${key}.topicRegex`)
  if (topicRegex !== undefined) match.topicRegex = topicRegex
  return match
}

function parseSample(raw: unknown, key: string): TapSample {
  if (raw === undefined || raw === null) return { rate: 1, by: 'records' }
  const m = typeof raw === 'number' ? { rate: raw } : mapping(raw, key, ['rate', 'by'])
  const rate = m.rate ?? 1
  if (typeof rate !== 'number' || !(rate > 0 && rate <= 1)) {
    throw new TapConfigError(`${key}.rate`, `expected a number above 0 and at most 1, got ${JSON.stringify(m.rate)}`)
  }
  return { rate, by: choice(m.by, `${key}.by`, 'records', ['records', 'batches'] as const) }
}

function parseRedact(raw: unknown, key: string): string[] {
  const list = strings(raw, key, 'a JSON field path such as user.email or **.password') ?? []
  for (const [i, path] of list.entries()) {
    if (path.split('.').some((s) => s === '')) {
      throw new TapConfigError(
        `${key}[${i}]`,
        `"${path}" has an empty segment; write paths like user.email or **.password`,
      )
    }
  }
  return list
}

/**
 * One tap, from the file (`taps:`) or from a POST to the admin endpoint. `admin` taps must say how long they run
 * (durationMs, at most `maxDurationMs`); taps in the file run until the file says otherwise.
 */
export function parseTapSpec(
  raw: unknown,
  key: string,
  options: { readonly admin?: { readonly maxDurationMs: number }; readonly clusters?: readonly string[] } = {},
): TapSpec {
  const known = [
    'name',
    'topic',
    'cluster',
    'acks',
    'compression',
    'match',
    'sample',
    'metadataOnly',
    'redact',
    'createTopic',
  ]
  const m = mapping(raw, key, options.admin ? [...known, 'durationMs'] : known)
  const name = str(m.name, `${key}.name`, 'a tap name')
  if (!TAP_NAME.test(name)) {
    throw new TapConfigError(`${key}.name`, `"${name}" may use letters, digits, '.', '_' and '-' only (at most 100)`)
  }
  const cluster = optionalStr(m.cluster, `${key}.cluster`, 'a cluster name from clusters')
  if (cluster !== undefined && options.clusters !== undefined && !options.clusters.includes(cluster)) {
    const known = options.clusters.length === 0 ? 'none is defined' : `defined: ${options.clusters.join(', ')}`
    throw new TapConfigError(`${key}.cluster`, `no cluster "${cluster}" under clusters (${known})`)
  }
  const acks = m.acks ?? 1
  if (acks !== 0 && acks !== 1 && acks !== -1 && acks !== 'all') {
    throw new TapConfigError(`${key}.acks`, `expected 0, 1, -1 or all, got ${JSON.stringify(m.acks)}`)
  }
  const spec: { -readonly [K in keyof TapSpec]: TapSpec[K] } = {
    name,
    topic: str(m.topic, `${key}.topic`, 'the destination topic'),
    acks: acks === 'all' ? -1 : acks,
    compression: choice(m.compression, `${key}.compression`, 'none', COMPRESSIONS),
    match: parseMatch(m.match, `${key}.match`),
    sample: parseSample(m.sample, `${key}.sample`),
    metadataOnly: bool(m.metadataOnly, `${key}.metadataOnly`, false),
    redact: parseRedact(m.redact, `${key}.redact`),
  }
  const createTopic = parseCreateTopic(m.createTopic, `${key}.createTopic`)
  if (createTopic !== undefined) spec.createTopic = createTopic
  if (cluster !== undefined) spec.cluster = cluster
  if (spec.metadataOnly && spec.redact.length > 0) {
    throw new TapConfigError(key, 'metadataOnly copies no values, so redact has nothing to do: keep one')
  }
  if (options.admin) {
    if (m.durationMs === undefined) {
      throw new TapConfigError(
        `${key}.durationMs`,
        `is missing: how long the tap runs (at most ${options.admin.maxDurationMs} ms)`,
      )
    }
    spec.durationMs = int(m.durationMs, `${key}.durationMs`, 0, 1, options.admin.maxDurationMs)
  }
  return spec
}

function parseCreateTopic(raw: unknown, key: string): TapSpec['createTopic'] {
  if (raw === undefined || raw === null || raw === false) return undefined
  if (raw === true) return { partitions: -1, replicationFactor: -1 }
  const m = mapping(raw, key, ['partitions', 'replicationFactor'])
  const partitions = int(m.partitions, `${key}.partitions`, -1, -1, 10_000)
  const replicationFactor = int(m.replicationFactor, `${key}.replicationFactor`, -1, -1, 32_767)
  if (partitions === 0 || replicationFactor === 0) {
    throw new TapConfigError(key, 'partitions and replicationFactor are at least 1 (or -1: the cluster default)')
  }
  return { partitions, replicationFactor }
}

function parseTls(raw: unknown, key: string): ClusterTls | undefined {
  if (raw === undefined || raw === null) return undefined
  const m = mapping(raw, key, ['ca', 'cert', 'key', 'servername', 'verifyHostname', 'insecureSkipVerify'])
  const tls: { -readonly [K in keyof ClusterTls]: ClusterTls[K] } = {
    verifyHostname: bool(m.verifyHostname, `${key}.verifyHostname`, true),
    insecureSkipVerify: bool(m.insecureSkipVerify, `${key}.insecureSkipVerify`, false),
  }
  for (const k of ['ca', 'cert', 'key', 'servername'] as const) {
    const v = optionalStr(m[k], `${key}.${k}`, k === 'servername' ? 'a host name' : 'a PEM file path')
    if (v !== undefined) tls[k] = v
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new TapConfigError(key, 'cert and key go together: set both or neither')
  }
  return tls
}

function parseSasl(raw: unknown, key: string): ClusterSasl | undefined {
  if (raw === undefined || raw === null) return undefined
  const m = mapping(raw, key, ['mechanism', 'username', 'password', 'passwordFile'])
  if ((m.password === undefined) === (m.passwordFile === undefined)) {
    throw new TapConfigError(key, 'needs exactly one of password and passwordFile')
  }
  const sasl: { -readonly [K in keyof ClusterSasl]: ClusterSasl[K] } = {
    mechanism: choice(m.mechanism, `${key}.mechanism`, 'SCRAM-SHA-512', SASL_MECHANISMS),
    username: str(m.username, `${key}.username`, 'the user the tap producer logs in as'),
  }
  if (m.password !== undefined) sasl.password = str(m.password, `${key}.password`, 'a password')
  if (m.passwordFile !== undefined) sasl.passwordFile = str(m.passwordFile, `${key}.passwordFile`, 'a file path')
  return sasl
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/

function parseCluster(raw: unknown, key: string): ClusterSpec {
  const m = mapping(raw, key, [
    'bootstrap',
    'clientId',
    'tls',
    'sasl',
    'connectTimeoutMs',
    'requestTimeoutMs',
    'deliveryTimeoutMs',
  ])
  const bootstrap = strings(m.bootstrap, `${key}.bootstrap`, 'host:port')
  if (bootstrap === undefined)
    throw new TapConfigError(`${key}.bootstrap`, 'is missing: the brokers of the tap cluster (host:port)')
  for (const [i, hp] of bootstrap.entries()) {
    if (!HOST_PORT.test(hp)) throw new TapConfigError(`${key}.bootstrap[${i}]`, `"${hp}" is not host:port`)
  }
  const cluster: { -readonly [K in keyof ClusterSpec]: ClusterSpec[K] } = {
    bootstrap,
    clientId: optionalStr(m.clientId, `${key}.clientId`, 'a client id') ?? CLUSTER_DEFAULTS.clientId,
    connectTimeoutMs: int(m.connectTimeoutMs, `${key}.connectTimeoutMs`, CLUSTER_DEFAULTS.connectTimeoutMs, 100),
    requestTimeoutMs: int(m.requestTimeoutMs, `${key}.requestTimeoutMs`, CLUSTER_DEFAULTS.requestTimeoutMs, 100),
    deliveryTimeoutMs: int(m.deliveryTimeoutMs, `${key}.deliveryTimeoutMs`, DELIVERY_TIMEOUT_MS, 1000),
  }
  const tls = parseTls(m.tls, `${key}.tls`)
  if (tls !== undefined) cluster.tls = tls
  const sasl = parseSasl(m.sasl, `${key}.sasl`)
  if (sasl !== undefined) cluster.sasl = sasl
  return cluster
}

/** The hostname of a Kubernetes pod is its name: what an operator reading the tap topic wants to see. */
export function defaultInstance(): string {
  return process.env.HOSTNAME || hostname()
}

export function parseConfig(raw: unknown): TapFilterConfig {
  const m = mapping(raw ?? {}, 'config', ['instance', 'queue', 'control', 'clusters', 'taps'])
  const q = mapping(m.queue ?? {}, 'queue', ['maxBytes', 'maxRecords'])
  const c = mapping(m.control ?? {}, 'control', ['enabled', 'allowRemote', 'maxDurationMs'])
  const clustersRaw = mapping(m.clusters ?? {}, 'clusters', Object.keys(m.clusters ?? {}))
  const clusters: Record<string, ClusterSpec> = {}
  for (const [name, spec] of Object.entries(clustersRaw)) {
    if (!TAP_NAME.test(name))
      throw new TapConfigError(`clusters.${name}`, "a cluster name may use letters, digits, '.', '_' and '-' only")
    clusters[name] = parseCluster(spec, `clusters.${name}`)
  }
  if (m.taps !== undefined && m.taps !== null && !Array.isArray(m.taps)) {
    throw new TapConfigError('taps', `expected a list of taps, got ${JSON.stringify(m.taps)}`)
  }
  const taps = ((m.taps as unknown[] | undefined | null) ?? []).map((t, i) =>
    parseTapSpec(t, `taps[${i}]`, { clusters: Object.keys(clusters) }),
  )
  const seen = new Set<string>()
  for (const [i, t] of taps.entries()) {
    if (seen.has(t.name)) throw new TapConfigError(`taps[${i}].name`, `"${t.name}" is used by another tap`)
    seen.add(t.name)
  }
  return {
    instance: optionalStr(m.instance, 'instance', 'a name for this sidecar') ?? defaultInstance(),
    queue: {
      maxBytes: int(q.maxBytes, 'queue.maxBytes', QUEUE_DEFAULTS.maxBytes, 1024),
      maxRecords: int(q.maxRecords, 'queue.maxRecords', QUEUE_DEFAULTS.maxRecords, 1),
    },
    control: {
      enabled: bool(c.enabled, 'control.enabled', CONTROL_DEFAULTS.enabled),
      allowRemote: bool(c.allowRemote, 'control.allowRemote', CONTROL_DEFAULTS.allowRemote),
      maxDurationMs: int(c.maxDurationMs, 'control.maxDurationMs', CONTROL_DEFAULTS.maxDurationMs, 1000),
    },
    clusters,
    taps,
  }
}
