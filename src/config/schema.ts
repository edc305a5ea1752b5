/**
 * The whole configuration: the SidecarConfig the sections make up, the table of defaults, and validateConfig, which
 * runs each section's checks (the *-section.ts and *-sections.ts modules beside this one), then the checks across
 * sections.
 */
import { type FilterCheck, type FilterEntry, filtersSection } from './filters-section.js'
import { LIMITS_DEFAULTS, type LimitsConfig, limitsSection } from './limits-section.js'
import {
  ADMIN_DEFAULTS,
  ADMIN_HEALTH_HOST_DEFAULT,
  type AdminConfig,
  adminSection,
  BROKERS_DEFAULTS,
  type BrokersConfig,
  brokersSection,
  checkPortClashes,
  LISTEN_DEFAULTS,
  type ListenConfig,
  listenSection,
} from './listener-sections.js'
import { LOG_DEFAULTS, type LogConfig, type LogFormat, logSection } from './log-section.js'
import { STATS_DEFAULTS, type StatsConfig, statsSection } from './stats-section.js'
import { LISTEN_TLS_DEFAULTS } from './tls-sections.js'
import { UPSTREAM_DEFAULTS, type UpstreamConfig, upstreamSection } from './upstream-section.js'
import { type RawIssue, Validator } from './validator.js'

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

/** Every setting's default, section by section; each section's module holds its part. */
export const DEFAULTS = {
  listen: LISTEN_DEFAULTS,
  listenTls: LISTEN_TLS_DEFAULTS,
  brokers: BROKERS_DEFAULTS,
  upstream: UPSTREAM_DEFAULTS,
  limits: LIMITS_DEFAULTS,
  admin: ADMIN_DEFAULTS,
  adminHealthHost: ADMIN_HEALTH_HOST_DEFAULT,
  log: LOG_DEFAULTS,
  stats: STATS_DEFAULTS,
} as const

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

  checkPortClashes(v, listen, admin, brokers)

  if (v.issues.length > 0) return { issues: v.issues }
  const config: SidecarConfig = { listen, brokers, upstream, limits, admin, log, stats, filters }
  return { config: deepFreeze(config), issues: [] }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
