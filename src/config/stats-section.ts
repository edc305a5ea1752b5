/** stats: the caps on per-client statistics labels, per-topic decoding, client expiry, and the audit log. */
import { accessSync, constants } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import type { ValidateOptions } from './schema.js'
import { INT32_MAX, type PathSegment, type Validator } from './validator.js'

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

export const STATS_DEFAULTS = {
  maxClientIds: 100,
  maxTopics: 200,
  maxGroups: 100,
  topics: true,
  clientExpiryMs: 3_600_000,
  audit: { enabled: false, file: '-' },
} as const

export function statsSection(v: Validator, value: unknown, options: ValidateOptions): StatsConfig {
  const at = ['stats']
  const d = STATS_DEFAULTS
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
  const enabled = v.bool(m.enabled, [...at, 'enabled'], STATS_DEFAULTS.audit.enabled)
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
