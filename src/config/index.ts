/**
 * The sidecar's configuration: a YAML file, environment variables and CLI flags (in that order of precedence,
 * over the defaults), validated into one frozen SidecarConfig, and reloaded on SIGHUP or file change.
 */

export type { PrincipalConfig, PrincipalRuleConfig, PrincipalSource } from '../tls/principal.js'
export { ConfigError, ConfigFileUnreadableError, type ConfigIssue, formatIssue } from './errors.js'
export type { FilterCheck, FilterEntry, FilterEntryIssue } from './filters-section.js'
export { formatHostPort, type HostPort, isWildcardHost, parseHostPort } from './host-port.js'
export type { LimitsConfig } from './limits-section.js'
export type { AdminConfig, BrokersConfig, ListenConfig } from './listener-sections.js'
export { configFilePath, type Environment, type LoadConfigInput, loadConfig, parseConfigText } from './load.js'
export { LOG_FORMATS, LOG_LEVELS, type LogConfig, type LogFormat, type LogLevel } from './log-section.js'
export {
  CONFIG_FILE_ENV,
  CONFIG_OVERRIDES,
  type ConfigOverride,
  configFileOption,
  configFlagOptions,
  environmentLayer,
  flagLayer,
  type OverrideKind,
} from './overrides.js'
export {
  type ConfigChange,
  ConfigWatcher,
  type ConfigWatcherOptions,
  RESTART_REQUIRED_SECTIONS,
  type ReloadLogger,
  type ReloadOutcome,
  type ReloadTrigger,
  type SignalSource,
} from './reload.js'
export { CONFIG_SECTIONS, type ConfigSection, DEFAULTS, type SidecarConfig, validateConfig } from './schema.js'
export type { AuditConfig, StatsConfig } from './stats-section.js'
export type { ListenTlsConfig, UpstreamTlsConfig } from './tls-sections.js'
export type { UpstreamConfig } from './upstream-section.js'
