/**
 * The `topic-rewrite` filter's configuration: rules, each selecting clients and mapping names, plus the shadow
 * producer's bounds. Validated here, with errors that name the key and say what was expected, so a bad file is
 * refused by `validate-config`, by `run` and by a hot reload alike.
 *
 *   rules:
 *     - name: orders-canary           # metrics label; default rule-<index>
 *       mode: rewrite                 # rewrite (default): the client sees its names, the broker the mapped ones
 *                                     # shadow: the client is untouched; its produced records are copied
 *       clients: { ids: [...], idPatterns: [...], principals: [...], principalPatterns: [...], percent: 10, seed: s }
 *       topics: [{ exact: orders, to: orders-canary }, { prefix: a., to: b. }, { regex: '(.*)', to: 'canary.$1' }]
 *       groups: [...]                 # rewrite only, same shape as topics
 *       transactionalIds: [...]       # rewrite only
 *   shadow: { maxQueuedRecords, maxQueuedBytes, acks, compression, partition, transactionTimeoutMs }
 *   regexRefreshMs: 10000             # how old the topic list behind a KIP-848 regex subscription may be
 */

export type RuleMode = 'rewrite' | 'shadow'

/** One name mapping: exactly one of exact, prefix or regex, and the replacement. */
export type NameRuleConfig =
  | { readonly kind: 'exact'; readonly from: string; readonly to: string }
  | { readonly kind: 'prefix'; readonly from: string; readonly to: string }
  | {
      readonly kind: 'regex'
      readonly from: string
      readonly to: string
      /** The way back (real name to client name) when it cannot be derived from the pattern. */
      readonly reverse?: { readonly regex: string; readonly to: string }
    }

export interface ClientSelectionConfig {
  readonly ids: readonly string[]
  readonly idPatterns: readonly string[]
  readonly principals: readonly string[]
  readonly principalPatterns: readonly string[]
  /** Share (0-100) of the clients the lists above admit (all clients when they are empty), by a hash of the client id. */
  readonly percent: number
  /** Mixed into the hash, so two rules with the same percentage choose different clients. */
  readonly seed: string
}

export interface RuleConfig {
  readonly name: string
  readonly mode: RuleMode
  readonly clients: ClientSelectionConfig
  readonly topics: readonly NameRuleConfig[]
  readonly groups: readonly NameRuleConfig[]
  readonly transactionalIds: readonly NameRuleConfig[]
}

export interface ShadowConfig {
  /** Records accepted for the shadow topic and not yet acknowledged by it (or held for an open transaction). */
  readonly maxQueuedRecords: number
  readonly maxQueuedBytes: number
  readonly acks: -1 | 0 | 1
  readonly compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'
  /** same: the record's partition of the original topic; key: Kafka's default partitioner on the shadow topic. */
  readonly partition: 'same' | 'key'
  /** Records of a transaction that never ends are dropped after this long (Kafka's transaction.max.timeout.ms). */
  readonly transactionTimeoutMs: number
}

export interface TopicRewriteConfig {
  readonly rules: readonly RuleConfig[]
  readonly shadow: ShadowConfig
  readonly regexRefreshMs: number
}

export const SHADOW_DEFAULTS: ShadowConfig = {
  maxQueuedRecords: 10_000,
  maxQueuedBytes: 16 * 1024 * 1024,
  acks: -1,
  compression: 'none',
  partition: 'same',
  // Kafka's broker default transaction.max.timeout.ms (TransactionStateManagerConfig): 15 minutes.
  transactionTimeoutMs: 900_000,
}

export class TopicRewriteConfigError extends Error {
  readonly code = 'KSC_ERR_CONFIG_FILTER'
  constructor(key: string, message: string) {
    super(`filters: topic-rewrite: ${key}: ${message}`)
    this.name = 'TopicRewriteConfigError'
  }
}

type Raw = Record<string, unknown>

function mapping(raw: unknown, key: string, known: readonly string[]): Raw {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TopicRewriteConfigError(key, `expected a mapping with ${known.join(', ')}`)
  }
  for (const k of Object.keys(raw)) {
    if (!known.includes(k)) throw new TopicRewriteConfigError(`${key}.${k}`, `unknown key; known: ${known.join(', ')}`)
  }
  return raw as Raw
}

function str(v: unknown, key: string, allowEmpty = false): string {
  if (typeof v !== 'string' || (!allowEmpty && v === '')) {
    throw new TopicRewriteConfigError(
      key,
      `expected a${allowEmpty ? '' : ' non-empty'} string, got ${JSON.stringify(v)}`,
    )
  }
  return v
}

function strings(v: unknown, key: string): string[] {
  if (v === undefined) return []
  const list = typeof v === 'string' ? [v] : v
  if (!Array.isArray(list))
    throw new TopicRewriteConfigError(key, `expected a list of strings, got ${JSON.stringify(v)}`)
  return list.map((s, i) => str(s, `${key}[${i}]`))
}

/** A regular expression as the rules use it: the whole name must match (as Kafka's own patterns match). */
export function fullMatch(source: string, key: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`)
  } catch (err) {
    throw new TopicRewriteConfigError(key, `not a valid regular expression: ${(err as Error).message}`)
  }
}

function int(v: unknown, key: string, min: number, fallback: number): number {
  const value = v ?? fallback
  if (!Number.isInteger(value) || (value as number) < min) {
    throw new TopicRewriteConfigError(key, `expected an integer of at least ${min}, got ${JSON.stringify(v)}`)
  }
  return value as number
}

function nameRules(raw: unknown, key: string): NameRuleConfig[] {
  if (raw === undefined) return []
  if (!Array.isArray(raw)) throw new TopicRewriteConfigError(key, 'expected a list of { exact | prefix | regex, to }')
  return raw.map((r, i) => nameRule(r, `${key}[${i}]`))
}

function nameRule(raw: unknown, key: string): NameRuleConfig {
  const r = mapping(raw, key, ['exact', 'prefix', 'regex', 'to', 'reverse'])
  const kinds = (['exact', 'prefix', 'regex'] as const).filter((k) => r[k] !== undefined)
  if (kinds.length !== 1) {
    throw new TopicRewriteConfigError(
      key,
      `give exactly one of exact, prefix, regex (got ${kinds.join(', ') || 'none'})`,
    )
  }
  const kind = kinds[0]!
  // A prefix may be empty: { prefix: '', to: 'canary-' } maps every name.
  const from = str(r[kind], `${key}.${kind}`, kind === 'prefix')
  const to = str(r.to, `${key}.to`, kind === 'prefix')
  if (kind === 'exact' || kind === 'prefix') {
    if (r.reverse !== undefined) throw new TopicRewriteConfigError(`${key}.reverse`, 'only regex rules take a reverse')
    if (from === to) throw new TopicRewriteConfigError(`${key}.to`, `maps ${JSON.stringify(from)} to itself`)
    return { kind, from, to }
  }
  fullMatch(from, `${key}.regex`)
  if (r.reverse === undefined) return { kind, from, to }
  const rev = mapping(r.reverse, `${key}.reverse`, ['regex', 'to'])
  const reverse = { regex: str(rev.regex, `${key}.reverse.regex`), to: str(rev.to, `${key}.reverse.to`, true) }
  fullMatch(reverse.regex, `${key}.reverse.regex`)
  return { kind, from, to, reverse }
}

const CLIENT_KEYS = ['ids', 'idPatterns', 'principals', 'principalPatterns', 'percent', 'seed'] as const

function clients(raw: unknown, key: string, ruleName: string): ClientSelectionConfig {
  const r = mapping(raw, key, CLIENT_KEYS)
  if (CLIENT_KEYS.filter((k) => k !== 'seed').every((k) => r[k] === undefined)) {
    throw new TopicRewriteConfigError(
      key,
      'select clients with at least one of ids, idPatterns, principals, principalPatterns, percent (percent: 100 selects every client)',
    )
  }
  const idPatterns = strings(r.idPatterns, `${key}.idPatterns`)
  for (const [i, p] of idPatterns.entries()) fullMatch(p, `${key}.idPatterns[${i}]`)
  const principalPatterns = strings(r.principalPatterns, `${key}.principalPatterns`)
  for (const [i, p] of principalPatterns.entries()) fullMatch(p, `${key}.principalPatterns[${i}]`)
  const percent = r.percent ?? 100
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new TopicRewriteConfigError(
      `${key}.percent`,
      `expected a number from 0 to 100, got ${JSON.stringify(r.percent)}`,
    )
  }
  return {
    ids: strings(r.ids, `${key}.ids`),
    idPatterns,
    principals: strings(r.principals, `${key}.principals`),
    principalPatterns,
    percent,
    seed: r.seed === undefined ? ruleName : str(r.seed, `${key}.seed`, true),
  }
}

function rule(raw: unknown, index: number): RuleConfig {
  const key = `rules[${index}]`
  const r = mapping(raw, key, ['name', 'mode', 'clients', 'topics', 'groups', 'transactionalIds'])
  const name = r.name === undefined ? `rule-${index}` : str(r.name, `${key}.name`)
  const mode = r.mode ?? 'rewrite'
  if (mode !== 'rewrite' && mode !== 'shadow') {
    throw new TopicRewriteConfigError(`${key}.mode`, `expected rewrite or shadow, got ${JSON.stringify(r.mode)}`)
  }
  if (r.clients === undefined)
    throw new TopicRewriteConfigError(`${key}.clients`, 'missing: which clients the rule applies to')
  const topics = nameRules(r.topics, `${key}.topics`)
  const groups = nameRules(r.groups, `${key}.groups`)
  const transactionalIds = nameRules(r.transactionalIds, `${key}.transactionalIds`)
  if (mode === 'shadow' && (groups.length > 0 || transactionalIds.length > 0)) {
    throw new TopicRewriteConfigError(
      key,
      'a shadow rule copies produced records only: groups and transactionalIds apply to rewrite rules',
    )
  }
  if (topics.length === 0 && groups.length === 0 && transactionalIds.length === 0) {
    throw new TopicRewriteConfigError(key, 'maps nothing: give topics (and optionally groups, transactionalIds)')
  }
  if (mode === 'shadow' && topics.length === 0) {
    throw new TopicRewriteConfigError(`${key}.topics`, 'a shadow rule needs topics: which topic copies to which')
  }
  return { name, mode, clients: clients(r.clients, `${key}.clients`, name), topics, groups, transactionalIds }
}

function shadow(raw: unknown): ShadowConfig {
  if (raw === undefined) return SHADOW_DEFAULTS
  const r = mapping(raw, 'shadow', Object.keys(SHADOW_DEFAULTS))
  const acks = r.acks ?? SHADOW_DEFAULTS.acks
  if (acks !== -1 && acks !== 0 && acks !== 1 && acks !== 'all') {
    throw new TopicRewriteConfigError('shadow.acks', `expected -1 (all), 0 or 1, got ${JSON.stringify(r.acks)}`)
  }
  const compression = r.compression ?? SHADOW_DEFAULTS.compression
  if (!['none', 'gzip', 'snappy', 'lz4', 'zstd'].includes(compression as string)) {
    throw new TopicRewriteConfigError(
      'shadow.compression',
      `expected none, gzip, snappy, lz4 or zstd, got ${JSON.stringify(r.compression)}`,
    )
  }
  const partition = r.partition ?? SHADOW_DEFAULTS.partition
  if (partition !== 'same' && partition !== 'key') {
    throw new TopicRewriteConfigError('shadow.partition', `expected same or key, got ${JSON.stringify(r.partition)}`)
  }
  return {
    maxQueuedRecords: int(r.maxQueuedRecords, 'shadow.maxQueuedRecords', 1, SHADOW_DEFAULTS.maxQueuedRecords),
    maxQueuedBytes: int(r.maxQueuedBytes, 'shadow.maxQueuedBytes', 1024, SHADOW_DEFAULTS.maxQueuedBytes),
    acks: acks === 'all' ? -1 : (acks as -1 | 0 | 1),
    compression: compression as ShadowConfig['compression'],
    partition,
    transactionTimeoutMs: int(
      r.transactionTimeoutMs,
      'shadow.transactionTimeoutMs',
      1000,
      SHADOW_DEFAULTS.transactionTimeoutMs,
    ),
  }
}

export function parseTopicRewriteConfig(raw: unknown): TopicRewriteConfig {
  const r = mapping(raw ?? {}, 'config', ['rules', 'shadow', 'regexRefreshMs'])
  if (!Array.isArray(r.rules) || r.rules.length === 0) {
    throw new TopicRewriteConfigError('rules', 'expected a non-empty list of rules (clients to select, names to map)')
  }
  const rules = r.rules.map(rule)
  const names = new Set<string>()
  for (const [i, ru] of rules.entries()) {
    if (names.has(ru.name)) throw new TopicRewriteConfigError(`rules[${i}].name`, `"${ru.name}" is used twice`)
    names.add(ru.name)
  }
  return { rules, shadow: shadow(r.shadow), regexRefreshMs: int(r.regexRefreshMs, 'regexRefreshMs', 0, 10_000) }
}
