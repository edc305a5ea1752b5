/**
 * The schema-validation filter's configuration: what `filters: [{ name: schema-validation, config }]` may say, checked
 * with errors that name the key, the value and what was expected (a bad hot-reloaded file is refused before anything
 * changes). Paths stay as written here; configure() resolves them against the config file's directory.
 */

export type SchemaFormat = 'avro' | 'json-schema' | 'protobuf'
/**
 * Where a record says which registry schema it was written with:
 * - confluent: magic byte 0, a 4-byte big-endian schema id, then (Protobuf) the message indexes, then the payload
 *   (https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format).
 * - apicurio-header: the payload alone, the id in a record header `apicurio.<key|value>.contentId` (8-byte big-endian
 *   long), as Apicurio's serdes write it with `apicurio.registry.headers.enabled=true` (KafkaSerdeHeaders,
 *   DefaultHeadersHandler of apicurio-registry-serde-kafka-common).
 */
export type Framing = 'confluent' | 'apicurio-header'
/**
 * Which subject the id must belong to (Confluent's subject name strategies, io.confluent.kafka.serializers.subject):
 * topic = `<topic>-<key|value>` (TopicNameStrategy, the serializers' default), record = the record's full name
 * (RecordNameStrategy), topic-record = `<topic>-<full name>` (TopicRecordNameStrategy), any = any id the registry knows.
 */
export type SubjectStrategy = 'topic' | 'record' | 'topic-record' | 'any'
export type RegistryDownPolicy = 'fail-open' | 'fail-closed'

export type SchemaSource =
  | { readonly kind: 'registry'; readonly framing: Framing; readonly subject: SubjectStrategy }
  /** A local file; records carry the bare encoding (no framing). `message`: the Protobuf message to decode. */
  | { readonly kind: 'file'; readonly path: string; readonly message?: string }

export interface PartRule {
  /** Required for files; for the registry, the type the schema must have (any when absent). */
  readonly format: SchemaFormat | undefined
  readonly source: SchemaSource
  /** A null key or value (a tombstone) passes unchecked. */
  readonly allowNull: boolean
}

export type TopicMatch =
  | { readonly kind: 'exact'; readonly topic: string }
  | { readonly kind: 'prefix'; readonly prefix: string }
  | { readonly kind: 'regex'; readonly regex: RegExp }

export interface Rule {
  /** For messages, metrics and logs: `name`, or the match as written. */
  readonly name: string
  readonly match: TopicMatch
  readonly key: PartRule | undefined
  readonly value: PartRule | undefined
  readonly requiredHeaders: readonly string[]
  readonly onRegistryDown: RegistryDownPolicy
}

export type RegistryAuth =
  | { readonly kind: 'basic'; readonly username: string; readonly password?: string; readonly passwordFile?: string }
  | { readonly kind: 'bearer'; readonly token?: string; readonly tokenFile?: string }

export interface RegistryConfig {
  /** Base URL of the Confluent-compatible API, e.g. http://registry:8080/apis/ccompat/v7. */
  readonly url: string
  readonly auth: RegistryAuth | undefined
  /** PEM CA file for an https registry (default: Node's trusted CAs). */
  readonly ca: string | undefined
  readonly insecureSkipVerify: boolean
  readonly timeoutMs: number
  /** Schemas kept by id at most (least recently used go first). */
  readonly cacheMaxSchemas: number
  /** How long a schema's subjects are trusted before they are asked again; the schema itself stays while the registry is down. */
  readonly cacheTtlMs: number
  /** How long "this id is unknown" is remembered, so a broken producer does not hammer the registry. */
  readonly unknownIdTtlMs: number
  /** After a failed call, calls wait this long before the registry is tried again (failures answer at once meanwhile). */
  readonly retryBackoffMs: number
}

export interface SchemaValidationConfig {
  readonly registry: RegistryConfig | undefined
  readonly rules: readonly Rule[]
}

export class SchemaValidationConfigError extends Error {
  readonly code = 'KSC_ERR_CONFIG_FILTER'
  constructor(key: string, message: string) {
    super(`filters: schema-validation: ${key}: ${message}`)
  }
}

const REGISTRY_DEFAULTS = {
  timeoutMs: 5000,
  cacheMaxSchemas: 1000,
  cacheTtlMs: 300_000,
  unknownIdTtlMs: 10_000,
  retryBackoffMs: 1000,
}

type Raw = Record<string, unknown>

function mapping(v: unknown, key: string, what: string): Raw {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new SchemaValidationConfigError(key, `expected a mapping (${what}), got ${JSON.stringify(v)}`)
  }
  return v as Raw
}

function onlyKeys(r: Raw, key: string, known: readonly string[]): void {
  for (const k of Object.keys(r)) {
    if (!known.includes(k)) {
      throw new SchemaValidationConfigError(`${key}.${k}`, `unknown key; known: ${known.join(', ')}`)
    }
  }
}

function str(r: Raw, k: string, key: string, required: true): string
function str(r: Raw, k: string, key: string, required?: false): string | undefined
function str(r: Raw, k: string, key: string, required = false): string | undefined {
  const v = r[k]
  if (v === undefined) {
    if (required) throw new SchemaValidationConfigError(`${key}.${k}`, 'required')
    return undefined
  }
  if (typeof v !== 'string' || v === '') {
    throw new SchemaValidationConfigError(`${key}.${k}`, `expected a non-empty string, got ${JSON.stringify(v)}`)
  }
  return v
}

function oneOf<T extends string>(r: Raw, k: string, key: string, options: readonly T[], fallback: T): T {
  const v = r[k] ?? fallback
  if (!options.includes(v as T)) {
    throw new SchemaValidationConfigError(
      `${key}.${k}`,
      `expected one of ${options.join(', ')}, got ${JSON.stringify(v)}`,
    )
  }
  return v as T
}

function int(r: Raw, k: string, key: string, fallback: number, min: number): number {
  const v = r[k] ?? fallback
  if (!Number.isInteger(v) || (v as number) < min) {
    throw new SchemaValidationConfigError(
      `${key}.${k}`,
      `expected an integer of at least ${min}, got ${JSON.stringify(v)}`,
    )
  }
  return v as number
}

function bool(r: Raw, k: string, key: string, fallback: boolean): boolean {
  const v = r[k] ?? fallback
  if (typeof v !== 'boolean')
    throw new SchemaValidationConfigError(`${key}.${k}`, `expected true or false, got ${JSON.stringify(v)}`)
  return v
}

const FORMATS: readonly SchemaFormat[] = ['avro', 'json-schema', 'protobuf']

function parseRegistry(raw: unknown): RegistryConfig {
  const key = 'registry'
  const r = mapping(raw, key, 'url, auth, ca, timeoutMs, ...')
  onlyKeys(r, key, ['url', 'auth', 'ca', 'insecureSkipVerify', ...Object.keys(REGISTRY_DEFAULTS)])
  const url = str(r, 'url', key, true)
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new SchemaValidationConfigError(
      `${key}.url`,
      `not a URL: ${JSON.stringify(url)}; expected http(s)://host:port/apis/ccompat/v7`,
    )
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new SchemaValidationConfigError(
      `${key}.url`,
      `expected an http:// or https:// URL, got ${JSON.stringify(url)}`,
    )
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new SchemaValidationConfigError(`${key}.url`, 'put credentials under registry.auth, not in the URL')
  }
  return {
    url: url.replace(/\/+$/, ''),
    auth: r.auth === undefined ? undefined : parseAuth(r.auth),
    ca: str(r, 'ca', key),
    insecureSkipVerify: bool(r, 'insecureSkipVerify', key, false),
    timeoutMs: int(r, 'timeoutMs', key, REGISTRY_DEFAULTS.timeoutMs, 1),
    cacheMaxSchemas: int(r, 'cacheMaxSchemas', key, REGISTRY_DEFAULTS.cacheMaxSchemas, 1),
    cacheTtlMs: int(r, 'cacheTtlMs', key, REGISTRY_DEFAULTS.cacheTtlMs, 0),
    unknownIdTtlMs: int(r, 'unknownIdTtlMs', key, REGISTRY_DEFAULTS.unknownIdTtlMs, 0),
    retryBackoffMs: int(r, 'retryBackoffMs', key, REGISTRY_DEFAULTS.retryBackoffMs, 0),
  }
}

function parseAuth(raw: unknown): RegistryAuth {
  const key = 'registry.auth'
  const r = mapping(raw, key, '{ basic: { username, password | passwordFile } } or { bearer: { token | tokenFile } }')
  onlyKeys(r, key, ['basic', 'bearer'])
  if ((r.basic === undefined) === (r.bearer === undefined)) {
    throw new SchemaValidationConfigError(key, 'expected exactly one of basic or bearer')
  }
  if (r.basic !== undefined) {
    const b = mapping(r.basic, `${key}.basic`, 'username, password | passwordFile')
    onlyKeys(b, `${key}.basic`, ['username', 'password', 'passwordFile'])
    const password = str(b, 'password', `${key}.basic`)
    const passwordFile = str(b, 'passwordFile', `${key}.basic`)
    if ((password === undefined) === (passwordFile === undefined)) {
      throw new SchemaValidationConfigError(`${key}.basic`, 'expected exactly one of password or passwordFile')
    }
    return { kind: 'basic', username: str(b, 'username', `${key}.basic`, true), password, passwordFile }
  }
  const t = mapping(r.bearer, `${key}.bearer`, 'token | tokenFile')
  onlyKeys(t, `${key}.bearer`, ['token', 'tokenFile'])
  const token = str(t, 'token', `${key}.bearer`)
  const tokenFile = str(t, 'tokenFile', `${key}.bearer`)
  if ((token === undefined) === (tokenFile === undefined)) {
    throw new SchemaValidationConfigError(`${key}.bearer`, 'expected exactly one of token or tokenFile')
  }
  return { kind: 'bearer', token, tokenFile }
}

function parsePart(raw: unknown, key: string): PartRule {
  const r = mapping(raw, key, 'format, and registry or file')
  onlyKeys(r, key, ['format', 'registry', 'file', 'message', 'allowNull'])
  const format = r.format === undefined ? undefined : oneOf(r, 'format', key, FORMATS, 'avro')
  const allowNull = bool(r, 'allowNull', key, true)
  if ((r.registry === undefined) === (r.file === undefined)) {
    throw new SchemaValidationConfigError(
      key,
      'expected exactly one of registry (a schema id in each record) or file (a local schema)',
    )
  }
  if (r.file !== undefined) {
    const path = str(r, 'file', key, true)
    if (format === undefined) {
      throw new SchemaValidationConfigError(`${key}.format`, `required with file: one of ${FORMATS.join(', ')}`)
    }
    const message = str(r, 'message', key)
    if (message !== undefined && format !== 'protobuf') {
      throw new SchemaValidationConfigError(`${key}.message`, 'only for format protobuf')
    }
    return { format, allowNull, source: { kind: 'file', path, message } }
  }
  if (r.message !== undefined) {
    throw new SchemaValidationConfigError(
      `${key}.message`,
      'only with file: registry records name their message themselves',
    )
  }
  const reg = r.registry === true ? {} : mapping(r.registry, `${key}.registry`, 'framing, subject')
  onlyKeys(reg, `${key}.registry`, ['framing', 'subject'])
  return {
    format,
    allowNull,
    source: {
      kind: 'registry',
      framing: oneOf(reg, 'framing', `${key}.registry`, ['confluent', 'apicurio-header'] as const, 'confluent'),
      subject: oneOf(reg, 'subject', `${key}.registry`, ['topic', 'record', 'topic-record', 'any'] as const, 'topic'),
    },
  }
}

function parseMatch(r: Raw, key: string): { match: TopicMatch; text: string } {
  const given = ['topic', 'topicPrefix', 'topicRegex'].filter((k) => r[k] !== undefined)
  if (given.length !== 1) {
    throw new SchemaValidationConfigError(key, 'expected exactly one of topic (exact name), topicPrefix or topicRegex')
  }
  if (r.topic !== undefined) {
    const topic = str(r, 'topic', key, true)
    return { match: { kind: 'exact', topic }, text: topic }
  }
  if (r.topicPrefix !== undefined) {
    const prefix = str(r, 'topicPrefix', key, true)
    return { match: { kind: 'prefix', prefix }, text: `${prefix}*` }
  }
  const source = str(r, 'topicRegex', key, true)
  let regex: RegExp
  try {
    regex = new RegExp(source)
  } catch (err) {
    throw new SchemaValidationConfigError(`${key}.topicRegex`, `not a regular expression: ${(err as Error).message}`)
  }
  return { match: { kind: 'regex', regex }, text: `/${source}/` }
}

function parseRule(raw: unknown, i: number, defaultPolicy: RegistryDownPolicy): Rule {
  const key = `rules[${i}]`
  const r = mapping(raw, key, 'topic | topicPrefix | topicRegex, key, value, requiredHeaders, onRegistryDown')
  onlyKeys(r, key, ['name', 'topic', 'topicPrefix', 'topicRegex', 'key', 'value', 'requiredHeaders', 'onRegistryDown'])
  const { match, text } = parseMatch(r, key)
  const headers = r.requiredHeaders ?? []
  if (!Array.isArray(headers) || headers.some((h) => typeof h !== 'string' || h === '')) {
    throw new SchemaValidationConfigError(
      `${key}.requiredHeaders`,
      `expected a list of header names, got ${JSON.stringify(headers)}`,
    )
  }
  const rule: Rule = {
    name: str(r, 'name', key) ?? text,
    match,
    key: r.key === undefined ? undefined : parsePart(r.key, `${key}.key`),
    value: r.value === undefined ? undefined : parsePart(r.value, `${key}.value`),
    requiredHeaders: headers as string[],
    onRegistryDown: oneOf(r, 'onRegistryDown', key, ['fail-open', 'fail-closed'] as const, defaultPolicy),
  }
  if (rule.key === undefined && rule.value === undefined && rule.requiredHeaders.length === 0) {
    throw new SchemaValidationConfigError(key, 'checks nothing: give key, value or requiredHeaders')
  }
  return rule
}

export function parseSchemaValidationConfig(raw: unknown): SchemaValidationConfig {
  const r = mapping(raw, 'config', 'registry, rules, onRegistryDown')
  onlyKeys(r, 'config', ['registry', 'rules', 'onRegistryDown'])
  const policy = oneOf(r, 'onRegistryDown', 'config', ['fail-open', 'fail-closed'] as const, 'fail-closed')
  if (!Array.isArray(r.rules) || r.rules.length === 0) {
    throw new SchemaValidationConfigError('rules', 'expected a non-empty list of rules')
  }
  const rules = r.rules.map((raw, i) => parseRule(raw, i, policy))
  const registry = r.registry === undefined ? undefined : parseRegistry(r.registry)
  rules.forEach((rule, i) => {
    for (const part of ['key', 'value'] as const) {
      if (rule[part]?.source.kind === 'registry' && registry === undefined) {
        throw new SchemaValidationConfigError(
          `rules[${i}].${part}.registry`,
          'needs the registry section (registry.url)',
        )
      }
    }
  })
  return { registry, rules }
}
