import type { FilterPlugin } from './pipeline/filter-api.js'

/**
 * The filters users can name under `filters:` in the configuration. The built-in ones (ApiVersions narrowing,
 * broker address rewriting) always run and are not listed here. Each feature filter (rate limiting, topic
 * rewriting, schema validation, tap) registers itself here when it lands.
 */
export const FILTER_PLUGINS: readonly FilterPlugin[] = []
