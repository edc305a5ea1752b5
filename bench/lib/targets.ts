/**
 * What a benchmark client connects to: the broker itself (the physical limit), kafka-sidecar, Kroxylicious, or a
 * byte relay (the floor for any proxy).
 * Proxies run as separate processes, as deployed, under the harness watchdog (they die with the benchmark,
 * however it ends), so their CPU and memory can be read from /proc without counting the load generators.
 */

import { closeSync, openSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SIDECAR_MALLOC_ENV } from '../../src/runtime/malloc-env.js'
import { SIDECAR_NODE_FLAGS } from '../../src/runtime/node-flags.js'
import { javaCommand } from '../../test/harness/kafka-jars.js'
import { spawnWatched, type WatchedProcess } from '../../test/harness/watchdog.js'
import { compileLauncher, kroxyliciousConfig, resolveKroxyliciousClasspath } from './kroxylicious.js'
import { freePort, freePortRange, waitForPort } from './ports.js'

export type TargetKind = 'direct' | 'sidecar' | 'kroxylicious' | 'relay'

export interface Target {
  /** 'direct', 'sidecar', 'kroxylicious', 'relay', 'haproxy', or 'sidecar+<label>' (a configuration file). */
  readonly name: string
  readonly kind: TargetKind
  /** bootstrap.servers for clients. */
  readonly bootstrap: string
  /** The proxy's pid (undefined for direct). */
  readonly pid: number | undefined
  /** host:port of the sidecar's admin endpoint (/metrics), for sidecar targets. */
  readonly admin?: string
  /** Where the proxy's stdout and stderr go, for proxies this process started. */
  readonly logFile?: string
  stop(): Promise<void>
}

export function directTarget(bootstrap: string): Target {
  return { name: 'direct', kind: 'direct', bootstrap, pid: undefined, stop: async () => {} }
}

/** Stops a watched process: SIGTERM, then SIGKILL after `graceMs`. */
async function stopWatched(watched: WatchedProcess, graceMs: number): Promise<void> {
  await watched.signal('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs)
  }).then(() => watched.signal('SIGKILL'))
  try {
    await Promise.race([watched.exited, killed])
    await watched.exited
  } finally {
    clearTimeout(timer)
  }
}

/** Spawns under the watchdog with stdout and stderr appended to `logFile`; resolves with the process and its pid. */
async function spawnLogged(
  command: string,
  args: readonly string[],
  logFile: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ watched: WatchedProcess; pid: number }> {
  const fd = openSync(logFile, 'a')
  try {
    const watched = spawnWatched(command, args, {
      stdio: ['ignore', fd, fd],
      graceMs: 5_000,
      ...(env === undefined ? {} : { env }),
    })
    return { watched, pid: await watched.pid }
  } finally {
    closeSync(fd)
  }
}

async function readyOrExit(watched: WatchedProcess, port: number, what: string, logFile: string): Promise<void> {
  const exited = watched.exited.then(({ code }) => {
    throw new Error(`${what} exited (code ${code}) before listening on ${port}; see ${logFile}`)
  })
  await Promise.race([waitForPort('127.0.0.1', port, 60_000), exited])
}

export interface SidecarOptions {
  upstream: string
  /** Highest upstream node id, so the per-node ports base + id are known to be free. */
  maxNodeId: number
  logDir: string
  /** Name suffix: the target is called sidecar+<label> when given. */
  label?: string
  /** A sidecar YAML configuration (filters under test); flags still set listeners and upstream. */
  configFile?: string
  /** Extra node options, e.g. --cpu-prof --cpu-prof-dir=DIR. */
  nodeArgs?: readonly string[]
  /** Environment on top of the shipped malloc settings (src/runtime/malloc-env.ts); undefined removes a variable. */
  env?: Readonly<Record<string, string | undefined>>
  /** --log-level of the sidecar; default warn (connection lines would cost the benchmark's figures). */
  logLevel?: string
  /** The CLI to run: another build's dist/src/cli.js (a before/after comparison); default this build's. */
  cli?: string
}

/** kafka-sidecar as deployed: `node dist/src/cli.js run ...` in a process of its own. */
export async function startSidecar(o: SidecarOptions): Promise<Target> {
  const name = o.label ? `sidecar+${o.label}` : 'sidecar'
  const port = await freePort()
  const portBase = await freePortRange(o.maxNodeId + 1)
  const logFile = join(o.logDir, `${name}-${port}.log`)
  const adminPort = await freePort()
  const cli = o.cli ?? fileURLToPath(new URL('../../src/cli.js', import.meta.url))
  const { watched, pid } = await spawnLogged(
    process.execPath,
    [
      // As shipped: the flags the executable and the image start it with.
      ...SIDECAR_NODE_FLAGS,
      ...(o.nodeArgs ?? []),
      cli,
      'run',
      ...(o.configFile ? ['--config', o.configFile] : []),
      '--upstream',
      o.upstream,
      '--listen',
      `127.0.0.1:${port}`,
      '--broker-port-base',
      String(portBase),
      '--advertised-host',
      '127.0.0.1',
      '--admin',
      `127.0.0.1:${adminPort}`,
      '--log-level',
      o.logLevel ?? 'warn',
    ],
    logFile,
    sidecarEnv(o.env),
  )
  await readyOrExit(watched, port, name, logFile)
  return {
    name,
    kind: 'sidecar',
    bootstrap: `127.0.0.1:${port}`,
    pid,
    admin: `127.0.0.1:${adminPort}`,
    logFile,
    // The sidecar drains on SIGTERM and then exits, which is also when --cpu-prof writes its profile.
    stop: () => stopWatched(watched, 35_000),
  }
}

/** The environment a sidecar is launched with: this process's, the shipped malloc settings, then `extra`. */
function sidecarEnv(extra: Readonly<Record<string, string | undefined>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...SIDECAR_MALLOC_ENV }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }
  return env
}

export interface KroxyliciousOptions {
  upstream: string
  maxNodeId: number
  logDir: string
  version: string
  /** java binary; default the harness's (JAVA_HOME or PATH). javac is taken from the same directory. */
  java?: string
  jvmOptions: readonly string[]
  log: (message: string) => void
}

/** Resolved once per process: the classpath and the compiled launcher. */
let prepared: Promise<{ classpath: string; launcherDir: string }> | undefined

export function prepareKroxylicious(o: Pick<KroxyliciousOptions, 'version' | 'java' | 'log'>) {
  prepared ??= (async () => {
    const classpath = await resolveKroxyliciousClasspath(o.version, o.log)
    const java = o.java ?? javaCommand()
    const javac = java.endsWith('/java') ? `${java}c` : 'javac'
    return { classpath, launcherDir: await compileLauncher(classpath, javac) }
  })()
  return prepared
}

export async function startKroxylicious(o: KroxyliciousOptions): Promise<Target> {
  const { classpath, launcherDir } = await prepareKroxylicious(o)
  // Bootstrap, then one port per node id 0..maxNodeId.
  const bootstrapPort = await freePortRange(o.maxNodeId + 2)
  const configFile = join(o.logDir, `kroxylicious-${bootstrapPort}.yaml`)
  await writeFile(configFile, kroxyliciousConfig(o.upstream, bootstrapPort, o.maxNodeId))
  const logFile = join(o.logDir, `kroxylicious-${bootstrapPort}.log`)
  const { watched, pid } = await spawnLogged(
    o.java ?? javaCommand(),
    [
      ...o.jvmOptions,
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      `${classpath}:${launcherDir}`,
      'Launcher',
      configFile,
    ],
    logFile,
  )
  await readyOrExit(watched, bootstrapPort, 'Kroxylicious', logFile)
  await waitForPort('127.0.0.1', bootstrapPort + 1 + o.maxNodeId, 30_000)
  return {
    name: 'kroxylicious',
    kind: 'kroxylicious',
    bootstrap: `127.0.0.1:${bootstrapPort}`,
    pid,
    stop: () => stopWatched(watched, 15_000),
  }
}

export type RelayKind = 'node' | 'haproxy'

export interface RelayOptions {
  kind: RelayKind
  /** Where the relay listens (the port the broker's RELAYED listener advertises). */
  port: number
  /** The broker's RELAYED listener. */
  target: { host: string; port: number }
  logDir: string
}

/**
 * A byte relay in front of a broker (single node): bench/relay.ts (Node, the sidecar's own I/O) or HAProxy in TCP
 * mode (C, one thread, splice where the kernel allows), if installed. The floor for any proxy on this machine.
 */
export async function startRelay(o: RelayOptions): Promise<Target> {
  const name = o.kind === 'node' ? 'relay' : 'haproxy'
  const logFile = join(o.logDir, `${name}-${o.port}.log`)
  let command: string
  let args: string[]
  if (o.kind === 'node') {
    command = process.execPath
    args = [
      ...SIDECAR_NODE_FLAGS,
      fileURLToPath(new URL('../relay.js', import.meta.url)),
      String(o.port),
      o.target.host,
      String(o.target.port),
    ]
  } else {
    const cfg = join(o.logDir, `haproxy-${o.port}.cfg`)
    await writeFile(
      cfg,
      [
        'global',
        '  maxconn 4096',
        '  nbthread 1',
        '  tune.bufsize 262144',
        'defaults',
        '  mode tcp',
        '  timeout connect 5s',
        '  timeout client 10m',
        '  timeout server 10m',
        '  option splice-auto',
        'listen kafka',
        `  bind 127.0.0.1:${o.port}`,
        `  server broker ${o.target.host}:${o.target.port}`,
        '',
      ].join('\n'),
    )
    command = 'haproxy'
    args = ['-f', cfg, '-db']
  }
  const { watched, pid } = await spawnLogged(command, args, logFile)
  await readyOrExit(watched, o.port, name, logFile)
  return { name, kind: 'relay', bootstrap: `127.0.0.1:${o.port}`, pid, stop: () => stopWatched(watched, 5_000) }
}
