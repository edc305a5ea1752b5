/**
 * Builds the sidecar's filters from a configuration (the built-in ones the configuration implies, then the `filters`
 * entries, in pipeline order), handing each the setup services it may use (FilterSetupContext), and asks the built
 * filters about their dependencies for /readyz.
 */
import { dirname } from 'node:path'
import type { Logger } from 'pino'
import type { SidecarConfig } from '../config/schema.js'
import { SidecarError } from '../errors.js'
import { BUILT_IN_FILTERS } from '../filter-plugins.js'
import { parseFilterEntry } from '../filter-registry.js'
import { SYSTEM_CLOCK } from '../pipeline/clock.js'
import type {
  AdminRouteService,
  AuditService,
  Clock,
  ConfiguredFilter,
  FilterPlugin,
  FilterSetupContext,
  StatisticsService,
  UpstreamClientService,
} from '../pipeline/filter-api.js'
import type { FilterMetricsRegistry } from '../stats/filter-metrics.js'

/** What filters get at setup, as the sidecar was given it (SidecarOptions). */
export interface FilterSetupOptions {
  readonly log: Logger
  /** Filters users can configure, by name. */
  readonly plugins?: readonly FilterPlugin[]
  readonly statistics?: StatisticsService
  readonly audit?: AuditService
  readonly clock?: Clock
  /** The configuration file, for paths in filters' configs; default: the working directory. */
  readonly configFile?: string
  readonly adminRoutes?: AdminRouteService
}

/** One filter's answer to ConfiguredFilter.health, as SidecarStatus reports it. */
export interface FilterHealth {
  name: string
  ready: boolean
  detail?: string
}

export class FilterSetup {
  constructor(
    private readonly options: FilterSetupOptions,
    private readonly filterMetrics: FilterMetricsRegistry,
    private readonly upstreamClient: UpstreamClientService,
  ) {}

  /**
   * Every filter `config` asks for, configured; a filter of the same name in `previous` is handed to its plugin, which
   * may carry its state over (a reload). Throws when a filter rejects its config.
   */
  async configureFilters(config: SidecarConfig, previous: readonly ConfiguredFilter[]): Promise<ConfiguredFilter[]> {
    const built: ConfiguredFilter[] = []
    const configure = async (plugin: FilterPlugin, parsed: unknown): Promise<void> => {
      const before = previous.find((f) => f.name === plugin.name)
      built.push(await plugin.configure(parsed, this.setupContext(plugin.name), before))
    }
    for (const b of BUILT_IN_FILTERS) {
      const installed = b.install(config)
      if (installed !== null) await configure(b.plugin, installed.config)
    }
    for (const entry of config.filters) {
      const { plugin, config: parsed } = parseFilterEntry(entry, this.options.plugins ?? [])
      await configure(plugin, parsed)
    }
    return built
  }

  private setupContext(filterName: string): FilterSetupContext {
    return {
      log: this.options.log.child({ filter: filterName }),
      metrics: this.filterMetrics.forFilter(filterName),
      clock: this.options.clock ?? SYSTEM_CLOCK,
      configDir: this.options.configFile !== undefined ? dirname(this.options.configFile) : process.cwd(),
      upstream: this.upstreamClient,
      statistics: this.options.statistics,
      audit: this.options.audit,
      admin: adminRoutesFor(filterName, this.options.adminRoutes),
    }
  }
}

/** Filters that report on their dependencies (ConfiguredFilter.health); one that throws counts as not ready. */
export function filterHealth(filters: readonly ConfiguredFilter[]): FilterHealth[] {
  const out: FilterHealth[] = []
  for (const f of filters) {
    if (f.health === undefined) continue
    try {
      const h = f.health()
      out.push({ name: f.name, ready: h.ready, ...(h.detail !== undefined ? { detail: h.detail } : {}) })
    } catch (err) {
      out.push({ name: f.name, ready: false, detail: `health check failed: ${(err as Error).message}` })
    }
  }
  return out
}

/** A filter's routes stay under /filters/<its name>, so filters cannot take each other's paths or the sidecar's. */
function adminRoutesFor(filterName: string, routes: AdminRouteService | undefined): AdminRouteService | undefined {
  if (routes === undefined) return undefined
  const base = `/filters/${filterName}`
  return {
    route(path, handler) {
      if (path !== base && !path.startsWith(`${base}/`)) {
        throw new SidecarError(
          'KSC_ERR_FILTER_ADMIN_ROUTE',
          `filter ${filterName} may serve ${base} and paths below it, not ${path}`,
        )
      }
      routes.route(path, handler)
    },
  }
}
