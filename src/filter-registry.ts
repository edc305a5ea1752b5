import type { FilterEntry, FilterEntryIssue } from './config/filters-section.js'
import { type LoadConfigInput, loadConfig } from './config/load.js'
import type { SidecarConfig } from './config/schema.js'
import { suggest } from './config/validator.js'
import { SidecarError } from './errors.js'
import { BUILT_IN_FILTERS, FILTER_PLUGINS } from './filter-plugins.js'
import type { FilterPlugin } from './pipeline/filter-api.js'

/**
 * The `filters:` entries of a configuration against the filters that exist: the one check `run`, `dev`,
 * `validate-config`, a hot reload and the sidecar itself share, so that a file `validate-config` accepts is a file
 * `run` starts with. An entry must name a filter users can configure (FILTER_PLUGINS; the built-in ones always run
 * and are not named) and its `config` must pass that plugin's own parseConfig.
 */

export class UnknownFilterError extends SidecarError {
  constructor(name: string, plugins: readonly FilterPlugin[]) {
    super('KSC_ERR_CONFIG_UNKNOWN_FILTER', `filters: ${unknownFilterMessage(name, plugins)}`)
  }
}

/** Why `name` is not a filter one can list under `filters:`, and what to write instead. */
export function unknownFilterMessage(name: string, plugins: readonly FilterPlugin[]): string {
  const builtIn = BUILT_IN_FILTERS.map((b) => b.plugin.name)
  if (builtIn.includes(name) && !plugins.some((p) => p.name === name)) {
    return `"${name}" is built in and always runs: remove it from filters`
  }
  const known = plugins.map((p) => p.name)
  const near = suggest(name, known)
  return (
    `unknown filter "${name}"${near === undefined ? '' : ` (did you mean "${near}"?)`}; ` +
    `the filters one can configure are: ${known.length === 0 ? 'none yet' : known.join(', ')}`
  )
}

/**
 * The plugin an entry names and the configuration its parseConfig made of the entry's `config`. Throws
 * UnknownFilterError, or whatever the plugin's parseConfig throws for a bad config.
 */
export function parseFilterEntry(
  entry: FilterEntry,
  plugins: readonly FilterPlugin[] = FILTER_PLUGINS,
): { readonly plugin: FilterPlugin; readonly config: unknown } {
  const plugin = plugins.find((p) => p.name === entry.name)
  if (plugin === undefined) throw new UnknownFilterError(entry.name, plugins)
  return { plugin, config: plugin.parseConfig(entry.config ?? {}) }
}

/** Every problem with the entries, none thrown: unknown names, and configs their plugin's parseConfig refuses. */
export function checkFilterEntries(
  entries: readonly FilterEntry[],
  plugins: readonly FilterPlugin[] = FILTER_PLUGINS,
): FilterEntryIssue[] {
  const issues: FilterEntryIssue[] = []
  entries.forEach((entry, index) => {
    const plugin = plugins.find((p) => p.name === entry.name)
    if (plugin === undefined) {
      issues.push({ index, key: 'name', message: unknownFilterMessage(entry.name, plugins) })
      return
    }
    try {
      plugin.parseConfig(entry.config ?? {})
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err)
      issues.push({ index, key: 'config', message: `filter "${entry.name}" refuses its config: ${why}` })
    }
  })
  return issues
}

/** `input` with the filters check added: what the config watcher of `run` and `dev` reloads with, too. */
export function withFilterChecks(
  input: LoadConfigInput,
  plugins: readonly FilterPlugin[] = FILTER_PLUGINS,
): LoadConfigInput {
  return { ...input, checkFilters: (entries) => checkFilterEntries(entries, plugins) }
}

/**
 * The configuration as `run`, `dev` and `validate-config` load it: defaults < file < environment < flags,
 * validated, filters included. Throws ConfigError listing every problem (with file:line where there is one).
 */
export function loadSidecarConfig(
  input: LoadConfigInput,
  plugins: readonly FilterPlugin[] = FILTER_PLUGINS,
): SidecarConfig {
  return loadConfig(withFilterChecks(input, plugins))
}
