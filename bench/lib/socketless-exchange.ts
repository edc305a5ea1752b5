import { dirname } from 'node:path'
import type { Logger } from 'pino'
import { loadConfig } from '../../src/config/index.js'
import { BUILT_IN_FILTERS } from '../../src/filter-plugins.js'
import { parseFilterEntry } from '../../src/filter-registry.js'
import { BrokerVersions } from '../../src/pipeline/broker-versions.js'
import { SYSTEM_CLOCK } from '../../src/pipeline/clock.js'
import { ConnectionState } from '../../src/pipeline/connection-state.js'
import { Exchange, type ExchangePort } from '../../src/pipeline/exchange.js'
import type {
  ConfiguredFilter,
  FilterMetrics,
  FilterSetupContext,
  UpstreamClientService,
} from '../../src/pipeline/filter-api.js'
import { FilterChain } from '../../src/pipeline/filter-chain.js'
import { newLease } from '../../src/pipeline/read-lease.js'
import { TopicDirectory } from '../../src/pipeline/topic-directory.js'
import { Statistics } from '../../src/stats/statistics.js'

/**
 * The message path without sockets, as bench/exchange-cost.ts and bench/tap-cost.ts drive it: statistics and the
 * built-in filters as shipped, the filters of a sidecar configuration file after them, and Exchanges whose port
 * writes nowhere and throws on anything a healthy exchange never does (a protocol error, a close).
 */

/** The statistics with per-topic figures, as the sidecar ships them. */
export function benchStatistics(): Statistics {
  return new Statistics({
    maxClientIds: 100,
    maxTopics: 200,
    maxGroups: 100,
    topics: true,
    clientExpiryMs: 0,
    audit: { enabled: false, file: '-' },
  })
}

/** The built-in filters, then those of `configFile` (none when undefined), configured with `setup`. */
export async function configureFilters(
  setup: FilterSetupContext,
  configFile: string | undefined,
): Promise<ConfiguredFilter[]> {
  const sidecarConfig = { stats: { topics: true, audit: { enabled: false } } } as Parameters<
    (typeof BUILT_IN_FILTERS)[number]['install']
  >[0]
  const configured: ConfiguredFilter[] = []
  for (const b of BUILT_IN_FILTERS) {
    const installed = b.install(sidecarConfig)
    if (installed !== null) configured.push(await b.plugin.configure(installed.config, setup))
  }
  if (configFile !== undefined) {
    const config = loadConfig({ file: configFile, env: {}, requireUpstream: false })
    for (const entry of config.filters) {
      const { plugin, config: parsed } = parseFilterEntry(entry)
      configured.push(await plugin.configure(parsed, setup))
    }
  }
  return configured
}

/** The setup the filters get: the clock, the file's directory, counters (none kept by default), an upstream. */
export function benchSetup(
  log: Logger,
  statistics: Statistics,
  configFile: string | undefined,
  more: { counter?: FilterMetrics['counter']; upstream?: UpstreamClientService } = {},
): FilterSetupContext {
  return {
    log,
    metrics: { counter: more.counter ?? (() => ({ inc() {} })), gauge: () => ({ set() {}, inc() {}, dec() {} }) },
    clock: SYSTEM_CLOCK,
    configDir: configFile === undefined ? '.' : dirname(configFile),
    upstream: more.upstream,
    statistics,
    audit: undefined,
  }
}

const fail = (what: string) => (e: unknown) => {
  throw new Error(`${what}: ${(e as Error).message}`)
}

const PORT: ExchangePort = {
  toUpstream() {},
  toClient() {},
  pauseClient() {},
  resumeClient() {},
  muteClient() {},
  report() {},
  protocolError: (_side, e) => fail('protocol error')(e),
  internalError: (what, e) => fail(what)(e),
  close: (reason) => fail('closed')(new Error(reason)),
  phase: 'open',
  settled() {},
}

export interface BenchConnection {
  readonly state: ConnectionState
  readonly exchange: Exchange
}

/** One client connection's exchange over `configured`, opened in `stats`. */
export function benchConnection(
  connectionId: number,
  configured: readonly ConfiguredFilter[],
  stats: Statistics,
  log: Logger,
): BenchConnection {
  const state = new ConnectionState(
    {
      connectionId,
      peer: { address: '127.0.0.1', port: connectionId },
      listener: { kind: 'broker', nodeId: 1, port: 9094 },
      principal: undefined,
      tls: false,
    },
    log,
  )
  stats.opened(state)
  const exchange = new Exchange(
    state,
    new FilterChain(configured.map((f) => f.forConnection(state))),
    PORT,
    {
      observer: stats,
      limits: { maxUnauthenticatedFrameBytes: 524_288, maxNonRecordRequestBytes: 8 << 20 },
      services: {
        brokers: { localEndpointFor: () => ({ host: '127.0.0.1', port: 9094 }) },
        clock: SYSTEM_CLOCK,
        topics: new TopicDirectory(),
        versions: new BrokerVersions(),
        upstream: undefined,
      },
      maxInflightRequests: 100,
      frameLogging: () => false,
    },
    newLease(),
    newLease(),
  )
  return { state, exchange }
}
