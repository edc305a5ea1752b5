import type { Argv } from 'yargs'
import { AdminServer, type Readiness } from '../admin/admin-server.js'
import { HealthServer } from '../admin/health-server.js'
import {
  ConfigError,
  type ConfigIssue,
  configFileOption,
  configFlagOptions,
  type HostPort,
  type LoadConfigInput,
  loadConfig,
  type SidecarConfig,
} from '../config/index.js'
import { ConfigWatcher } from '../config/reload.js'
import { SidecarError } from '../errors.js'
import { FILTER_PLUGINS } from '../filter-plugins.js'
import { withFilterChecks } from '../filter-registry.js'
import { createLogger, frameLoggingEnabled, type Logger, setFrameLogging } from '../logger.js'
import { warnOnMissingMallocEnv } from '../runtime/malloc-env.js'
import { MemoryReturn } from '../runtime/memory-return.js'
import { missingNodeFlags, SIDECAR_NODE_FLAGS } from '../runtime/node-flags.js'
import { Sidecar } from '../server/sidecar.js'
import { StatsService } from '../stats/index.js'
import type { CliCommand } from './command.js'

/**
 * `kafka-sidecar run`: the sidecar as deployed. Loads the configuration (file < environment < flags), starts the
 * listeners and the admin endpoint, reloads on SIGHUP and file changes, and drains on SIGTERM.
 */

export interface RunningSidecar {
  readonly sidecar: Sidecar
  readonly admin: AdminServer | undefined
  /** The health-only listener (admin.healthPort or --health-port), when there is one. */
  readonly health?: HealthServer | undefined
  /** Per-client statistics behind /metrics and /stats, and the audit log. */
  readonly stats: StatsService
  readonly config: () => SidecarConfig
  /** Graceful stop: drain (bounded by limits.drainTimeoutMs), close the admin endpoint and the watcher. */
  stop(): Promise<void>
}

/** Starts everything `run` runs, without touching process signals other than through the config watcher. */
export async function startSidecarProcess(
  input: LoadConfigInput,
  log: Logger,
  initial: SidecarConfig = loadConfig(input),
  watchConfig = true,
  /** Where the health-only listener binds; default: admin.healthPort/healthHost of `initial`. */
  healthAddress: HostPort | undefined = healthAddressOf(initial),
): Promise<RunningSidecar> {
  const stats = new StatsService(initial.stats, log)
  let sidecar: Sidecar
  // Made before the sidecar, so that filters can add their routes while they are configured (FilterSetupContext.admin);
  // it listens once the sidecar runs.
  const admin = initial.admin.enabled ? new AdminServer(() => readiness(sidecar), log) : undefined
  try {
    sidecar = await Sidecar.start(initial, {
      log,
      plugins: FILTER_PLUGINS,
      observer: stats.statistics,
      statistics: stats.statistics,
      audit: stats.auditSink,
      metricsRegistry: stats.registry,
      ...(configFileOf(input) !== undefined ? { configFile: configFileOf(input) } : {}),
      ...(admin !== undefined ? { adminRoutes: admin } : {}),
    })
  } catch (err) {
    await stats.close()
    throw err
  }
  let current = initial

  if (admin !== undefined) {
    stats.routes(admin)
    await admin.listen({ host: initial.admin.host, port: initial.admin.port }, { reusePort: initial.listen.reusePort })
  }
  let health: HealthServer | undefined
  if (healthAddress !== undefined) {
    health = new HealthServer(() => readiness(sidecar), log)
    await health.listen(healthAddress, { reusePort: initial.listen.reusePort })
  }

  let watcher: ConfigWatcher | undefined
  // SIGHUP also re-reads the TLS certificate files (they are watched anyway; this is for file systems that do
  // not report changes, and for operators used to SIGHUP).
  const onHangup = (): void => sidecar.reloadTls()
  if (watchConfig) {
    process.on('SIGHUP', onHangup)
    watcher = new ConfigWatcher({ ...input, logger: log, initial })
    watcher.on('change', (change) => {
      if (change.requiresRestart.length > 0) {
        log.warn(
          { sections: change.requiresRestart },
          'these settings change only after a restart; the running values stay',
        )
      }
      // The stats section first: the filters rebuilt by reload take the audit log it opens.
      if (change.changed.includes('stats')) void stats.apply(change.config.stats)
      sidecar.reload(change.config).then(
        () => {
          current = change.config
          log.info({ changed: change.changed, trigger: change.trigger }, 'configuration reloaded')
        },
        (err: Error) =>
          log.error(
            { err: err.message, code: (err as SidecarError).code },
            'reload rejected; the old configuration stays',
          ),
      )
    })
    watcher.start()
  }

  // Gives back the memory a burst left in dead Buffers, which a quiet process would otherwise keep (memory-return.ts).
  const memoryReturn = new MemoryReturn({ log })
  memoryReturn.start()

  return {
    sidecar,
    admin,
    health,
    stats,
    config: () => current,
    async stop() {
      memoryReturn.stop()
      watcher?.close()
      process.off('SIGHUP', onHangup)
      await sidecar.shutdown(current.limits.drainTimeoutMs)
      await admin?.close()
      await health?.close()
      await stats.close()
    },
  }
}

/** The health listener's address from the configuration (admin.healthPort, admin.healthHost). */
export function healthAddressOf(config: SidecarConfig): HostPort | undefined {
  const { healthPort, healthHost } = config.admin
  return healthPort === undefined ? undefined : { host: healthHost ?? '0.0.0.0', port: healthPort }
}

/**
 * `--health-port` / KAFKA_SIDECAR_HEALTH_PORT over the file's admin.healthPort (the sidecar injector sets the
 * variable, whatever config file a pod brings). Applied beside the configuration rather than into it, so that a
 * reload of the file does not see a changed admin section. A value that is no port comes back as a config issue.
 */
export function healthAddressOverride(
  config: SidecarConfig,
  flag: unknown,
  env: NodeJS.ProcessEnv,
): HostPort | undefined | { issue: ConfigIssue } {
  const fromFlag = flag !== undefined && flag !== null && String(flag).trim() !== ''
  const raw = fromFlag ? String(flag).trim() : env[HEALTH_PORT_ENV]?.trim()
  if (raw === undefined || raw === '') return healthAddressOf(config)
  const port = Number(raw)
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) {
    const origin = fromFlag ? '--health-port' : HEALTH_PORT_ENV
    return { issue: { path: 'admin.healthPort', message: `${JSON.stringify(raw)} is not a port (1-65535)`, origin } }
  }
  return { host: config.admin.healthHost ?? '0.0.0.0', port }
}

export const HEALTH_PORT_ENV = 'KAFKA_SIDECAR_HEALTH_PORT'

/** Ready when the bootstrap listener is up and some upstream broker answers at the TCP/TLS level. */
/** /readyz: the bootstrap listener listens, an upstream broker answers, and no filter reports a dependency it needs down. */
export async function readiness(sidecar: Pick<Sidecar, 'status' | 'checkUpstream'>): Promise<Readiness> {
  const status = sidecar.status()
  const detail = status.filters
  if (status.bootstrap === undefined) return { ready: false, reason: 'the bootstrap listener is not listening', detail }
  if (!(await sidecar.checkUpstream())) {
    return {
      ready: false,
      reason: `no upstream broker reachable: ${sidecar.status().upstreamError ?? 'unknown'}`,
      detail,
    }
  }
  const down = detail.filter((f) => !f.ready)
  if (down.length > 0) {
    return { ready: false, reason: down.map((f) => `filter ${f.name}: ${f.detail ?? 'not ready'}`).join('; '), detail }
  }
  return { ready: true, detail }
}

/**
 * Process plumbing shared by `run` and `dev`: SIGTERM/SIGINT drain and exit (a second one exits at once),
 * SIGUSR2 toggles frame-level debug logging.
 */
export function handleSignals(log: Logger, stop: () => Promise<void>): void {
  let stopping = false
  const onStop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting without waiting')
      process.exit(1)
    }
    stopping = true
    log.info({ signal }, 'shutting down: no new connections, draining in-flight requests')
    stop().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ err: err.message }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', onStop)
  process.on('SIGINT', onStop)
  process.on('SIGUSR2', () => {
    const on = !frameLoggingEnabled(log)
    setFrameLogging(log, on)
    log.info({ frames: on }, 'frame logging toggled (SIGUSR2)')
  })
}

/** Runs a command body, turning configuration and startup errors into one clear line and exit code. */
export async function runOrExit(log: () => Logger | undefined, body: () => Promise<void>): Promise<void> {
  try {
    await body()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(1)
    }
    if (err instanceof SidecarError) {
      const l = log()
      if (l) l.fatal({ code: err.code, err: err.message }, 'cannot start')
      else process.stderr.write(`error ${err.code}: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
}

export function flagsOf(args: Record<string, unknown>): Record<string, unknown> {
  const flags: Record<string, unknown> = {}
  for (const key of Object.keys(configFlagOptions())) if (args[key] !== undefined) flags[key] = args[key]
  return flags
}

export const runCommand: CliCommand = {
  command: 'run',
  describe: 'Run the sidecar in front of the upstream brokers',
  builder: (y: Argv) =>
    y
      .options({ ...configFileOption(), ...configFlagOptions() })
      .option('health-port', {
        type: 'string',
        requiresArg: true,
        describe: `a listener on 0.0.0.0 (admin.healthHost) serving only /healthz and /readyz, for probes from the pod IP (admin.healthPort) [env ${HEALTH_PORT_ENV}]`,
      })
      .example('$0 run --upstream broker-1:9092,broker-2:9092', 'proxy localhost:9092 to a cluster')
      .example(
        '$0 run --config /etc/kafka-sidecar/config.yaml',
        'everything from a file (reloaded on change and SIGHUP)',
      ),
  handler: async (args: Record<string, unknown>) => {
    // The same checks as validate-config (filters included), on start and on every reload.
    const input = withFilterChecks({ file: args.config as string | undefined, env: process.env, flags: flagsOf(args) })
    let log: Logger | undefined
    await runOrExit(
      () => log,
      async () => {
        const config = loadConfig(input)
        log = createLogger({ level: config.log.level, frames: config.log.frames, format: config.log.format })
        warnOnMissingNodeFlags(log)
        warnOnMissingMallocEnv(log)
        const health = healthAddressOverride(config, args['health-port'], process.env)
        if (health !== undefined && 'issue' in health) throw new ConfigError([health.issue])
        const running = await startSidecarProcess(input, log, config, true, health)
        handleSignals(log, () => running.stop())
      },
    )
  },
}

/** Says once, at start, when the process runs without the Node flags it is tuned for (src/runtime/node-flags.ts). */
export function warnOnMissingNodeFlags(log: Logger): void {
  const missing = missingNodeFlags()
  if (missing.length === 0) return
  log.warn(
    { missing },
    `node was started without ${missing.join(' ')}: the sidecar works, but uses more CPU and memory per byte; ` +
      `start it as \`node ${SIDECAR_NODE_FLAGS.join(' ')} <path>/dist/src/cli.js\` (as the container image does)`,
  )
}

/** The configuration file `run` reads, as loadConfig finds it (the flag, else KAFKA_SIDECAR_CONFIG). */
function configFileOf(input: LoadConfigInput): string | undefined {
  return input.file ?? input.env?.KAFKA_SIDECAR_CONFIG ?? undefined
}
