/**
 * The sidecar's configuration: a YAML file, environment variables and CLI flags (in that order of precedence,
 * over the defaults), validated into one frozen SidecarConfig, and reloaded on SIGHUP or file change.
 */
export { ConfigError, ConfigFileUnreadableError, type ConfigIssue, formatIssue } from './errors.js'
export { formatHostPort, type HostPort, isWildcardHost, parseHostPort } from './host-port.js'
export { configFilePath, type Environment, type LoadConfigInput, loadConfig, parseConfigText } from './load.js'
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
export {
  type AdminConfig,
  type AuditConfig,
  type BrokersConfig,
  CONFIG_SECTIONS,
  type ConfigSection,
  DEFAULTS,
  type FilterCheck,
  type FilterEntry,
  type FilterEntryIssue,
  type LimitsConfig,
  type ListenConfig,
  type ListenTlsConfig,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogConfig,
  type LogFormat,
  type LogLevel,
  type PrincipalConfig,
  type PrincipalRuleConfig,
  type PrincipalSource,
  type SidecarConfig,
  type StatsConfig,
  type UpstreamConfig,
  type UpstreamTlsConfig,
  validateConfig,
} from './schema.js'
