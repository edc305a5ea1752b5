import type {
  ConfiguredFilter,
  ConnectionView,
  Filter,
  FilterHealth,
  FilterPlugin,
  FilterSetupContext,
} from '../../src/pipeline/filter-api.js'
import { TAP_ROUTE, tapRoute } from './admin.js'
import { parseConfig, type TapFilterConfig } from './config.js'
import { TapConnection } from './connection.js'
import type { DestinationHealth } from './destinations.js'
import { TapEngine } from './engine.js'

/**
 * tap: mirrors live traffic into a Kafka topic without slowing it. Taps (from the file, or started at run time
 * through the admin endpoint with a time limit) select records by client id, principal, topic, direction and a
 * sampling rate; each selected record is copied with its key, value, headers and timestamp, decorated with headers
 * saying where it came from (decorate.ts), optionally redacted or reduced to metadata, and produced to a topic on the
 * upstream cluster or another one.
 *
 * The filter only observes: the runtime forwards every message first and hands the tap the decoded message after,
 * and the tap takes a copy of the selected records within a bounded budget (dropping and counting what does not
 * fit); everything else happens off that call (engine.ts). A slow or dead tap cluster fills the budget, and costs
 * the clients nothing but the copies dropped.
 */
export class TapFilter implements ConfiguredFilter {
  readonly name = 'tap'
  /** A newer instance (a hot reload) took the engine over: closing this one must leave it running. */
  private handedOver = false

  constructor(readonly engine: TapEngine) {}

  forConnection(connection: ConnectionView): Filter {
    return new TapConnection(this.engine, connection)
  }

  /** Takes the engine over for a newer instance (hot reload). */
  handOver(): TapEngine {
    this.handedOver = true
    return this.engine
  }

  /**
   * How the tap destinations are: for /readyz detail. A failing tap never makes the sidecar unready: the clients'
   * traffic does not depend on it.
   */
  health(): FilterHealth & { readonly delivering: boolean; readonly destinations: readonly DestinationHealth[] } {
    const destinations = this.engine.health()
    const failing = destinations.filter((d) => !d.delivering)
    return {
      ready: true,
      ...(failing.length > 0
        ? {
            detail: failing
              .map(
                (d) =>
                  `tap destination ${d.name} not delivering: ${d.lastError ?? 'unknown'} (records are dropped and counted)`,
              )
              .join('; '),
          }
        : {}),
      delivering: failing.length === 0,
      destinations,
    }
  }

  async close(): Promise<void> {
    if (!this.handedOver) await this.engine.close()
  }
}

function configure(config: TapFilterConfig, setup: FilterSetupContext, previous?: ConfiguredFilter): TapFilter {
  let engine: TapEngine
  if (previous instanceof TapFilter) {
    engine = previous.handOver()
    engine.reconfigure(config, setup)
  } else engine = new TapEngine(config, setup)
  const filter = new TapFilter(engine)
  // The route asks for the engine at each request: after the filter is removed by a reload, it says so.
  setup.admin?.route(
    TAP_ROUTE,
    tapRoute(() => (engine.isClosed ? undefined : engine)),
  )
  return filter
}

export const tapPlugin: FilterPlugin<TapFilterConfig> = {
  name: 'tap',
  parseConfig,
  configure,
}
