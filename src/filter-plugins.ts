import { apiVersionsPlugin } from '../filters/api-versions/index.js'
import { brokerAddressPlugin } from '../filters/broker-address/index.js'
import { durabilityGuardPlugin } from '../filters/durability-guard/index.js'
import { parseRateLimitConfig } from '../filters/rate-limit/config.js'
import { parseSchemaValidationConfig } from '../filters/schema-validation/config.js'
import { statsPlugin } from '../filters/stats/index.js'
import { parseConfig as parseTapConfig } from '../filters/tap/config.js'
import { topicRewritePlugin } from '../filters/topic-rewrite/index.js'
import type { SidecarConfig } from './config/schema.js'
import type { ConfiguredFilter, FilterPlugin, FilterSetupContext } from './pipeline/filter-api.js'

/**
 * The one place src/ learns about filters/. Everything else in the runtime knows filters only through the filter
 * API (src/pipeline/filter-api.ts).
 */

/** A filter that always runs, configured from its own section of the configuration rather than `filters:`. */
export interface BuiltInFilter<C = unknown> {
  readonly plugin: FilterPlugin<C>
  /** Its configuration taken from the sidecar's, or null when it is not installed for this configuration. */
  install(sidecar: SidecarConfig): { readonly config: C } | null
}

function builtIn<C>(plugin: FilterPlugin<C>, install: BuiltInFilter<C>['install']): BuiltInFilter {
  return { plugin, install } as BuiltInFilter
}

/**
 * Built-in filters, in chain order, ahead of the configured ones. Statistics come first: on requests it sees what the
 * client sent, and on responses (which run in reverse) what the client receives, after every other filter. The
 * ApiVersions narrowing and broker address rewriting follow, so on the way back they run after every feature
 * filter: clients only ever see rewritten addresses and versions the codec can decode.
 */
export const BUILT_IN_FILTERS: readonly BuiltInFilter[] = [
  // Nothing to decode when neither per-topic figures nor the audit log are wanted: frames pass undecoded.
  builtIn(statsPlugin, (c) =>
    c.stats.topics || c.stats.audit.enabled
      ? { config: { topics: c.stats.topics, audit: c.stats.audit.enabled } }
      : null,
  ),
  builtIn(apiVersionsPlugin, () => ({ config: undefined })),
  builtIn(brokerAddressPlugin, () => ({ config: undefined })),
]

/**
 * The filters users can name under `filters:` in the configuration, in no particular order (the configuration
 * gives the order). Each feature filter (rate limiting, topic rewriting, schema validation, tap) registers here.
 */
/**
 * A filter whose implementation is loaded when it is first configured: only its config check is loaded with the
 * registry. Schema validation (ajv, avsc, protobufjs), the tap and rate limiting (ioredis) add 16, 5 and 3 MB of RSS
 * when loaded; a sidecar that does not use them should not carry them.
 */
function loadedOnUse<C>(
  name: string,
  parseConfig: (raw: unknown) => C,
  load: () => Promise<FilterPlugin<C>>,
): FilterPlugin<C> {
  let plugin: Promise<FilterPlugin<C>> | undefined
  return {
    name,
    parseConfig,
    configure: async (config: C, setup: FilterSetupContext, previous?: ConfiguredFilter) => {
      if (plugin === undefined) plugin = load()
      return (await plugin).configure(config, setup, previous)
    },
  }
}

export const FILTER_PLUGINS: readonly FilterPlugin[] = [
  durabilityGuardPlugin as FilterPlugin,
  topicRewritePlugin as FilterPlugin,
  loadedOnUse(
    'rate-limit',
    parseRateLimitConfig,
    async () => (await import('../filters/rate-limit/index.js')).rateLimitPlugin,
  ) as FilterPlugin,
  loadedOnUse(
    'schema-validation',
    parseSchemaValidationConfig,
    async () => (await import('../filters/schema-validation/index.js')).schemaValidationPlugin,
  ) as FilterPlugin,
  loadedOnUse('tap', parseTapConfig, async () => (await import('../filters/tap/index.js')).tapPlugin) as FilterPlugin,
]
