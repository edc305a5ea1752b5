/**
 * The running sidecar: listeners, the upstream directory, the filter pipeline and every client connection.
 * Built from a validated SidecarConfig; `reload` applies a new one without dropping connections.
 */
import type net from 'node:net'
import tls from 'node:tls'
import type { Logger } from 'pino'
import { Registry } from 'prom-client'
import type { HostPort } from '../config/host-port.js'
import type { SidecarConfig } from '../config/schema.js'
import { SidecarError } from '../errors.js'
import { applyLogConfig, CauseTracker, frameLoggingEnabled, logOncePerCause } from '../logger.js'
import { BrokerVersions } from '../pipeline/broker-versions.js'
import { SYSTEM_CLOCK } from '../pipeline/clock.js'
import { type ConnectionObserver, NO_OBSERVER, type ObservedConnection } from '../pipeline/connection-observer.js'
import type {
  AdminRouteService,
  AuditService,
  BrokerEndpoint,
  Clock,
  ConfiguredFilter,
  ConnectionInfo,
  FilterPlugin,
  StatisticsService,
  UpstreamClientService,
} from '../pipeline/filter-api.js'
import { FilterChain } from '../pipeline/filter-chain.js'
import type { ContextServices } from '../pipeline/filter-context.js'
import { TopicDirectory } from '../pipeline/topic-directory.js'
import { registerConnectionMetrics } from '../stats/connection-metrics.js'
import { FilterMetricsRegistry } from '../stats/filter-metrics.js'
import type { CertificateSummary } from '../tls/material.js'
import { ReloadingTlsMaterial } from '../tls/reloading-material.js'
import { type BrokerPortPlan, CONTROLLER_PORT_OFFSET, type EndpointKind } from './broker-port-plan.js'
import { ClientConnection } from './client-connection.js'
import { ConnectionLog } from './connection-log.js'
import { ConnectionRefusals } from './connection-refusals.js'
import type { ConnectionRuntime } from './connection-runtime.js'
import { ConnectionSweeper } from './connection-sweeper.js'
import { type FilterHealth, FilterSetup, filterHealth } from './filter-setup.js'
import { type AcceptedClient, Listeners, plainServer, type ServerFactory } from './listeners.js'
import { MemoryBudget } from './memory-budget.js'
import { MetadataRefresher } from './metadata-refresher.js'
import { OwnUpstreamClient } from './own-upstream-client.js'
import { type SecureContextSource, TlsTermination } from './tls-listener.js'
import { TlsThread } from './tls-thread/tls-thread.js'
import { UpstreamConnector } from './upstream-connector.js'
import { UpstreamDirectory } from './upstream-directory.js'
import { upstreamTls } from './upstream-tls.js'

const OWN_CLIENT_CLOSE_MS = 5000

export class AdmissionRefusedError extends SidecarError {
  constructor(filter: string, reason: string) {
    super('KSC_ERR_ADMISSION_REFUSED', `filter ${filter} refused a connection: ${reason}`)
  }
}

export class UnknownNodeError extends SidecarError {
  constructor(kind: EndpointKind, nodeId: number) {
    super(
      'KSC_ERR_UPSTREAM_UNKNOWN_NODE',
      `no address is known for upstream ${kind} ${nodeId} (not in the brokers' metadata); the client will re-bootstrap`,
    )
  }
}

export interface SidecarOptions {
  readonly log: Logger
  /** Filters users can configure, by name. */
  readonly plugins?: readonly FilterPlugin[]
  /** Server for client-facing listeners; default: TLS termination when listen.tls is set, else plain TCP. */
  readonly serverFactory?: ServerFactory
  /** Told about every connection, frame and failure (statistics, metrics, audit). */
  readonly observer?: ConnectionObserver
  /** The process's per-client statistics and audit log, handed to filters at setup (the stats filter reports there). */
  readonly statistics?: StatisticsService
  readonly audit?: AuditService
  /** Where filters' metrics go (served on /metrics); default: a registry of the sidecar's own. */
  readonly metricsRegistry?: Registry
  /** The sidecar's own client of the upstream cluster; default: one built from upstream.client on first use. */
  readonly upstreamClient?: UpstreamClientService
  /** Time as filters see it; default: the system clock. */
  readonly clock?: Clock
  /** The configuration file, for paths in filters' configs; default: the working directory. */
  readonly configFile?: string
  /** The admin endpoint, where filters may add routes under /filters/<name> (FilterSetupContext.admin). */
  readonly adminRoutes?: AdminRouteService
}

export interface SidecarStatus {
  bootstrap: HostPort | undefined
  connections: number
  upstreamReachable: boolean
  upstreamError: string | undefined
  nodeListeners: { kind: EndpointKind; nodeId: number; port: number }[]
  /** The certificate the client-facing listeners present now (listen.tls), after any rotation. */
  listenCertificate: CertificateSummary | undefined
  /** Filters that report on their dependencies (ConfiguredFilter.health), by name. */
  filters: FilterHealth[]
}

export class Sidecar {
  private config: SidecarConfig
  private filters: ConfiguredFilter[] = []
  private readonly connections = new Set<ClientConnection>()
  private nextConnectionId = 1
  private readonly directory: UpstreamDirectory
  private readonly connector: UpstreamConnector
  private readonly refresher: MetadataRefresher
  private readonly listeners: Listeners
  /** The certificate files of the client-facing listeners (listen.tls), watched for rotation. */
  private readonly listenMaterial: ReloadingTlsMaterial | undefined
  /** TLS termination of the client-facing listeners (listen.tls), on its own thread or on this one. */
  private readonly tls: TlsThread | TlsTermination | undefined
  /** Rotating CA / client certificate towards the brokers (upstream.tls). */
  private readonly upstreamMaterial: ReloadingTlsMaterial | undefined
  private shuttingDown = false
  private readonly observer: ConnectionObserver
  /** Per sidecar, so that each instance logs the first failure of every cause. */
  private readonly causes = new CauseTracker()
  /** Topic ids and names, learned from the Metadata that passes (FilterContext.topicNames). */
  private readonly topics = new TopicDirectory()
  /** What the brokers support, from the latest ApiVersions answer on any connection. */
  private readonly brokerVersions = new BrokerVersions()
  private readonly filterSetup: FilterSetup
  /** Connections closed at accept (a full listener, an admission hook), counted by reason. */
  private readonly refusals: ConnectionRefusals
  /** The opened/closed lines, rate-limited under churn. */
  private readonly connectionLog: ConnectionLog
  /** The filters' own client of the cluster (setup service `upstream`), when the caller did not give one. */
  private readonly ownClient: OwnUpstreamClient | undefined
  private readonly upstreamClient: UpstreamClientService
  /** What all client connections together may hold for requests being assembled (limits.memoryBudgetBytes). */
  private readonly budget: MemoryBudget
  private readonly sweeper: ConnectionSweeper

  private constructor(
    config: SidecarConfig,
    private readonly options: SidecarOptions,
  ) {
    this.config = config
    this.observer = options.observer ?? NO_OBSERVER
    this.budget = new MemoryBudget(config.limits.memoryBudgetBytes)
    this.sweeper = new ConnectionSweeper(this.connections, this.budget, (err, conn) =>
      this.reportError(err.code, err, conn.log, conn.state),
    )
    applyLogConfig(options.log, config.log)
    this.directory = new UpstreamDirectory(config.upstream.bootstrap)
    const upstream = upstreamTls(config.upstream.tls, options.log)
    this.upstreamMaterial = upstream?.material
    this.connector = new UpstreamConnector(config.upstream.connectTimeoutMs, upstream?.tls)
    this.ownClient =
      options.upstreamClient === undefined
        ? new OwnUpstreamClient(config.upstream, this.connector, options.log)
        : undefined
    this.upstreamClient = options.upstreamClient ?? this.ownClient!
    this.filterSetup = new FilterSetup(
      options,
      new FilterMetricsRegistry(options.metricsRegistry ?? new Registry(), config.stats.maxClientIds),
      this.upstreamClient,
    )
    this.refresher = new MetadataRefresher(
      this.directory,
      this.connector,
      options.log,
      config.upstream.metadataRefreshMs,
    )
    this.refusals = new ConnectionRefusals(this.causes)
    const listenTls = config.listen.tls
    if (listenTls !== undefined && options.serverFactory === undefined) {
      try {
        this.listenMaterial = new ReloadingTlsMaterial({
          section: 'listen.tls',
          files: { cert: listenTls.cert, key: listenTls.key, ...(listenTls.ca !== undefined && { ca: listenTls.ca }) },
          settings: {
            minVersion: listenTls.minVersion,
            ...(listenTls.ciphers !== undefined && { ciphers: listenTls.ciphers }),
          },
          log: options.log,
        })
      } catch (err) {
        this.upstreamMaterial?.close()
        throw err
      }
      const termination = {
        config: listenTls,
        contexts: contextsOf(this.listenMaterial),
        log: options.log,
        report: (err: SidecarError) => this.reportError(err.code, err, options.log),
        refusals: this.refusals,
      }
      this.tls = listenTls.thread === 'worker' ? new TlsThread(termination) : new TlsTermination(termination)
      this.listenMaterial.start()
    }
    this.connectionLog = new ConnectionLog(options.log)
    if (options.metricsRegistry !== undefined) {
      registerConnectionMetrics(options.metricsRegistry, {
        refusals: this.refusals,
        connectionLog: this.connectionLog,
        connectionsMemory: () => this.budget.heldByConnections,
        ...(this.tls !== undefined && { pendingHandshakes: () => this.pendingHandshakes() }),
      })
    }
    this.listeners = new Listeners(
      config.listen,
      portPlan(config),
      options.serverFactory ?? this.tls?.serverFactory ?? plainServer,
      (socket, listener, client) => this.accept(socket, listener, client),
      options.log,
      {
        maxClientConnections: () => this.config.limits.maxClientConnections,
        refusals: this.refusals,
        memory: this.budget,
      },
    )
    // A node seen anywhere (own metadata refresh, any response) gets its listener at once: clients holding metadata
    // from before a sidecar restart reconnect straight to the node's port, before any Metadata passes through.
    this.directory.onChange((kind, nodeId) => {
      const ready = this.listeners.endpointFor(kind, nodeId)
      if (ready instanceof Promise) ready.catch((err) => this.reportError('KSC_ERR_LISTEN', err, options.log))
    })
  }

  static async start(config: SidecarConfig, options: SidecarOptions): Promise<Sidecar> {
    const sidecar = new Sidecar(config, options)
    try {
      sidecar.filters = await sidecar.filterSetup.configureFilters(config, [])
      if (sidecar.tls instanceof TlsThread) await sidecar.tls.start()
      await sidecar.listeners.start()
    } catch (err) {
      await sidecar.closeTls()
      throw err
    }
    // The first refresh starts the node listeners; start-up does not wait for it (brokers may still be down).
    sidecar.refresher.start()
    return sidecar
  }

  get log(): Logger {
    return this.options.log
  }

  status(): SidecarStatus {
    return {
      bootstrap: this.listeners.bootstrap,
      connections: this.connections.size,
      upstreamReachable: this.refresher.health.reachable,
      upstreamError: this.refresher.health.lastError,
      nodeListeners: this.listeners.nodeListeners(),
      listenCertificate: this.listenMaterial?.current.leaf,
      filters: filterHealth(this.filters),
    }
  }

  /**
   * Re-reads the TLS certificate files now (listen.tls and upstream.tls), as a change on disk would: for SIGHUP.
   * Files that do not pass the checks are rejected with a log line and the current ones stay.
   */
  reloadTls(): void {
    this.listenMaterial?.check()
    this.upstreamMaterial?.check()
  }

  /**
   * Resolves once the TLS thread's reports so far (errors, refusals, pending handshakes) are counted here; at once
   * when TLS runs on this thread or not at all.
   */
  async syncTls(): Promise<void> {
    if (this.tls instanceof TlsThread) await this.tls.sync()
  }

  /** TLS connections whose handshake has not finished, by phase (all zero without listen.tls). */
  pendingHandshakes(): { sniffing: number; queued: number; handshaking: number } {
    return this.tls?.pendingHandshakes() ?? { sniffing: 0, queued: 0, handshaking: 0 }
  }

  /** The open client connections (for statistics and tests). */
  openConnections(): readonly ClientConnection[] {
    return [...this.connections]
  }

  /** Checks upstream reachability now (for /readyz). */
  async checkUpstream(): Promise<boolean> {
    await this.refresher.refresh()
    return this.refresher.health.reachable
  }

  /**
   * Applies a new configuration: filters are rebuilt (new connections use them; open connections keep theirs),
   * log settings change at once. Listener and upstream settings need a restart; the caller reports that.
   * Throws, changing nothing, when a filter rejects its config.
   */
  async reload(config: SidecarConfig): Promise<void> {
    const filters = await this.filterSetup.configureFilters(config, this.filters)
    const old = this.filters
    this.filters = filters
    this.config = config
    applyLogConfig(this.options.log, config.log)
    for (const f of old) if (!filters.includes(f)) void f.close?.()
  }

  private accept(socket: net.Socket, listener: ConnectionInfo['listener'], client?: AcceptedClient): void {
    if (this.shuttingDown) {
      socket.destroy()
      return
    }
    const filters = this.filters
    const info: ConnectionInfo = {
      connectionId: this.nextConnectionId++,
      peer: client?.peer ?? { address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 },
      listener,
      principal: client?.principal,
      tls: client?.tls ?? socket instanceof tls.TLSSocket,
    }
    for (const f of filters) {
      const refusal = f.admit?.(info)
      if (refusal !== undefined) {
        // Refused before anything is read or dialled: the client sees a closed connection and retries later.
        this.reportError(
          'KSC_ERR_ADMISSION_REFUSED',
          new AdmissionRefusedError(f.name, refusal.reason),
          this.options.log,
        )
        socket.destroy()
        return
      }
    }
    const conn = new ClientConnection(socket, info, this.runtimeFor(filters), client?.reads)
    this.connections.add(conn)
    conn.start()
  }

  private runtimeFor(filters: readonly ConfiguredFilter[]): ConnectionRuntime {
    const services: ContextServices = {
      brokers: { localEndpointFor: (nodeId, upstream, kind) => this.localEndpointFor(nodeId, upstream, kind) },
      clock: this.options.clock ?? SYSTEM_CLOCK,
      topics: this.topics,
      versions: this.brokerVersions,
      upstream: this.upstreamClient,
    }
    return {
      log: this.options.log,
      limits: this.config.limits,
      connector: this.connector,
      exchange: {
        observer: this.observer,
        services,
        frameLogging: () => frameLoggingEnabled(this.options.log),
      },
      observer: this.observer,
      budget: this.budget,
      connectionLog: this.connectionLog,
      upstreamCandidates: (listener) => this.upstreamCandidates(listener),
      createChain: (connection) =>
        new FilterChain(
          filters.map((f) => f.forConnection(connection)),
          (_filter, err) => this.reportError('KSC_ERR_FILTER_OBSERVE', err, connection.log, connection),
        ),
      onClosed: (conn) => this.connections.delete(conn),
      reportError: (code, err, conn) => this.reportError(code, err, conn.log, conn.state),
    }
  }

  private localEndpointFor(
    nodeId: number,
    upstream: { host: string; port: number; rack?: string | null },
    kind: EndpointKind,
  ): BrokerEndpoint | Promise<BrokerEndpoint> {
    this.directory.observe(kind, nodeId, { host: upstream.host, port: upstream.port, rack: upstream.rack })
    return this.listeners.endpointFor(kind, nodeId)
  }

  private async upstreamCandidates(listener: ConnectionInfo['listener']): Promise<readonly HostPort[]> {
    if (listener.kind === 'bootstrap') {
      // Spread bootstrap connections over the bootstrap servers, each next one as fallback.
      const servers = this.directory.bootstrap
      const start = this.nextConnectionId % Math.max(1, servers.length)
      return [...servers.slice(start), ...servers.slice(0, start)]
    }
    const nodeId = listener.nodeId!
    let address = this.directory.addressOf(listener.kind, nodeId)
    if (address === undefined && listener.kind === 'broker') {
      await this.refresher.refresh()
      address = this.directory.addressOf(listener.kind, nodeId)
    }
    if (address === undefined) throw new UnknownNodeError(listener.kind, nodeId)
    return [address]
  }

  /** Every failure is counted; the first of each cause is logged in full, the rest summarised (logOncePerCause). */
  private reportError(code: string, err: unknown, log: Logger, conn?: ObservedConnection): void {
    // A generic protocol error whose error names a more specific failure (KSC_ERR_TLS_ON_PLAINTEXT) is counted
    // under that code, the one its log line carries, so each failure has its own counter.
    const counted = code === 'KSC_ERR_PROTOCOL' && err instanceof SidecarError ? err.code : code
    this.observer.error(counted, conn)
    logOncePerCause(log, counted, err, { tracker: this.causes })
  }

  private async closeTls(): Promise<void> {
    this.listenMaterial?.close()
    this.upstreamMaterial?.close()
    await this.tls?.close()
  }

  /**
   * Graceful shutdown: stop accepting, let in-flight requests finish for at most `drainTimeoutMs`, then close
   * whatever is left and release the filters.
   */
  async shutdown(drainTimeoutMs = this.config.limits.drainTimeoutMs): Promise<void> {
    if (this.shuttingDown) return
    this.shuttingDown = true
    this.sweeper.stop()
    this.refresher.stop()
    this.listeners.stopAccepting()
    const open = [...this.connections]
    this.options.log.info({ connections: open.length, drainTimeoutMs }, 'draining connections')
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(open.map((c) => c.drain())),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, drainTimeoutMs)
      }),
    ])
    clearTimeout(timer)
    for (const c of this.connections) c.close('drain timeout')
    // Only now: the TLS thread carries its clients' bytes until their connections are closed.
    await this.closeTls()
    await Promise.all(this.filters.map((f) => f.close?.()))
    // Records the filters' own client still holds get a bounded last chance to go out.
    await this.ownClient?.close(Math.min(drainTimeoutMs, OWN_CLIENT_CLOSE_MS))
    this.connectionLog.close()
    this.causes.flush(true)
    this.causes.close()
    this.options.log.info('shut down')
  }
}

function portPlan(config: SidecarConfig): BrokerPortPlan {
  return {
    bindHost: config.brokers.host,
    advertisedHost: config.brokers.advertisedHost,
    portBase: config.brokers.portBase,
    ports: config.brokers.ports,
    // Controllers (DescribeQuorum, DescribeCluster for controllers) sit above the broker range.
    controllerPortBase: config.brokers.portBase + CONTROLLER_PORT_OFFSET,
  }
}

/** The listen.tls material as the TLS listeners take it: the current context options, and each rotation's. */
function contextsOf(material: ReloadingTlsMaterial): SecureContextSource {
  return {
    get contextOptions() {
      return material.current.contextOptions
    },
    onChange: (listener) => material.on('reloaded', (m) => listener(m.contextOptions)),
  }
}
