/**
 * The sidecar the soak's clients go through, as deployed (`node <flags> dist/src/cli.js run --config FILE`), on
 * fixed ports so that another process can take its place: a generation is one sidecar process. Two faults act on it:
 *
 * - reload: the config file is replaced (write, then rename, as editors and ConfigMap updates do) with the
 *   rate-limit filter switched on or off (limits far above what the soak moves), and the generation's log must say
 *   "configuration reloaded".
 * - handover: a new generation takes the ports, the old one gets SIGTERM. When the sidecar's Node has SO_REUSEPORT
 *   (22.12 and later: `--sidecar-node`, e.g. the image's Node from .ci/image-node), the config sets
 *   listen.reusePort and the handover is the one the README gives operators: the successor starts and listens beside
 *   the old process, then the old one gets SIGTERM and drains. On Node 20 two processes cannot listen on one port at
 *   once; SIGTERM closes every listener at once and only then drains the open connections
 *   (Listeners.stopAccepting), so the successor is started as soon as the old bootstrap port refuses connections,
 *   while the old process still finishes its in-flight requests: clients meet refused connects for as long as the
 *   new process takes to start. Either way a probe connects to the bootstrap port every 10 ms during the handover
 *   and counts the connects refused.
 *
 * A generation that exits without being told to is a crash: counted, and replaced so the run goes on.
 */

import { execFileSync } from 'node:child_process'
import { closeSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { SIDECAR_MALLOC_ENV } from '../../../src/runtime/malloc-env.js'
import { reusePortSupported } from '../../../src/runtime/node-features.js'
import { SIDECAR_NODE_FLAGS } from '../../../src/runtime/node-flags.js'
import { allocatePorts, freePortRange } from '../../../test/harness/free-port.js'
import { waitFor } from '../../../test/harness/wait-for.js'
import { spawnWatched, type WatchedProcess } from '../../../test/harness/watchdog.js'
import { repoFile } from './repo-file.js'

/** Node ids 1..3 at base+1..base+3, bootstrap at base; controllers would be at base+1000+id. */
const PORT_SPAN = 4
const CONTROLLER_PORT_OFFSET = 1000

export interface Generation {
  readonly number: number
  readonly pid: number
  readonly logFile: string
  readonly startedAt: number
  /** Set when it exited: when, how, and whether the soak asked for it. */
  exit?: { at: number; code: number | null; expected: boolean }
}

export interface HandoverOutcome {
  /** reuse-port: successor first, then SIGTERM; sequential: SIGTERM, then the successor once the port is free. */
  mode: 'reuse-port' | 'sequential'
  /** From the start of the handover to the successor listening. */
  successorListeningMs: number
  /** The probe's connects to the bootstrap port during the handover, and how many were refused. */
  probes: number
  refusedConnects: number
  /** From SIGTERM to the old process's exit (its drain). */
  drainMs: number
  oldExitCode: number | null
}

export interface SoakSidecarOptions {
  upstream: string
  logDir: string
  log: (message: string) => void
  /** The Node binary the sidecar runs on; default: this process's. */
  node?: string
}

export class SoakSidecar {
  readonly #o: SoakSidecarOptions
  readonly #configFile: string
  readonly #cli = repoFile('dist/src/cli.js')
  readonly #node: string
  /** Whether the sidecar's Node binds with SO_REUSEPORT, which makes the handover successor-first. */
  readonly reusePort: boolean
  #portBase = 0
  #current: { generation: Generation; watched: WatchedProcess } | undefined
  readonly generations: Generation[] = []
  #rateLimitOn = false
  reloads = 0
  crashes = 0

  constructor(options: SoakSidecarOptions) {
    this.#o = options
    this.#configFile = join(options.logDir, 'sidecar.yaml')
    this.#node = options.node ?? process.execPath
    const version = execFileSync(this.#node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()
    this.reusePort = reusePortSupported(version)
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.#portBase}`
  }

  get current(): Generation | undefined {
    return this.#current?.generation
  }

  async start(): Promise<void> {
    this.#portBase = await freePortRange(PORT_SPAN, [CONTROLLER_PORT_OFFSET])
    this.#writeConfig()
    await this.#startGeneration()
  }

  /** Switches the rate-limit filter on or off through the config file; resolves once the sidecar has applied it. */
  async reload(timeoutMs = 30_000): Promise<{ filters: string; appliedMs: number }> {
    const current = this.#current
    if (!current) throw new Error('no sidecar is running')
    const logOffset = statSync(current.generation.logFile).size
    this.#rateLimitOn = !this.#rateLimitOn
    const started = Date.now()
    this.#writeConfig()
    await waitFor(
      `sidecar generation ${current.generation.number} to apply the reloaded config`,
      () => {
        const lines = readFileSync(current.generation.logFile, 'utf8').slice(logOffset)
        if (/"msg":"(config )?reload rejected/.test(lines)) throw new Error(`reload rejected: ${lines.slice(0, 500)}`)
        return /"msg":"configuration reloaded"/.test(lines)
      },
      { timeoutMs, intervalMs: 100 },
    )
    this.reloads++
    return { filters: this.#rateLimitOn ? 'rate-limit' : 'none', appliedMs: Date.now() - started }
  }

  /** A new generation on the same ports and SIGTERM to the running one, in the order the Node allows (module comment). */
  async handover(timeoutMs = 60_000): Promise<HandoverOutcome> {
    const old = this.#current
    if (!old) throw new Error('no sidecar is running')
    const probe = probeConnects(this.#portBase)
    const started = Date.now()
    let signalled: number
    let successorListening: number
    try {
      if (this.reusePort) {
        await this.#startGeneration()
        successorListening = Date.now()
        old.generation.exit = { at: 0, code: null, expected: true }
        signalled = Date.now()
        await old.watched.signal('SIGTERM')
      } else {
        old.generation.exit = { at: 0, code: null, expected: true }
        signalled = Date.now()
        await old.watched.signal('SIGTERM')
        await waitFor(
          `generation ${old.generation.number} to stop listening`,
          async () => !(await accepts(this.#portBase)),
          { timeoutMs, intervalMs: 10 },
        )
        await this.#startGeneration()
        successorListening = Date.now()
      }
    } catch (err) {
      await probe.stop()
      throw err
    }
    const timer = setTimeout(() => void old.watched.signal('SIGKILL'), timeoutMs)
    const { code } = await old.watched.exited
    clearTimeout(timer)
    const drainMs = Date.now() - signalled
    const seen = await probe.stop()
    return {
      mode: this.reusePort ? 'reuse-port' : 'sequential',
      successorListeningMs: successorListening - started,
      probes: seen.probes,
      refusedConnects: seen.refused,
      drainMs,
      oldExitCode: code,
    }
  }

  /** Graceful stop of the running generation (SIGTERM, drain). */
  async stop(): Promise<void> {
    const current = this.#current
    if (!current) return
    current.generation.exit = { at: 0, code: null, expected: true }
    await current.watched.signal('SIGTERM')
    const timer = setTimeout(() => void current.watched.signal('SIGKILL'), 45_000)
    await current.watched.exited
    clearTimeout(timer)
    this.#current = undefined
  }

  #writeConfig(): void {
    const base = this.#portBase
    const config = {
      listen: { host: '127.0.0.1', port: base, ...(this.reusePort && { reusePort: true }) },
      brokers: { host: '127.0.0.1', advertisedHost: '127.0.0.1', portBase: base },
      upstream: { bootstrap: this.#o.upstream.split(',') },
      // Info: the soak reads "configuration reloaded" from the log (and connection lines are rate-limited).
      log: { level: 'info' },
      filters: this.#rateLimitOn ? [rateLimitFilter()] : [],
    }
    // Write then rename: the watcher must never read a half-written file. JSON is YAML.
    const temporary = `${this.#configFile}.tmp`
    writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`)
    renameSync(temporary, this.#configFile)
  }

  async #startGeneration(): Promise<void> {
    const number = this.generations.length + 1
    const logFile = join(this.#o.logDir, `sidecar-${number}.log`)
    const [adminPort] = await allocatePorts('127.0.0.1', 1)
    const fd = openSync(logFile, 'a')
    let watched: WatchedProcess
    try {
      watched = spawnWatched(
        this.#node,
        [
          ...SIDECAR_NODE_FLAGS,
          this.#cli,
          'run',
          '--config',
          this.#configFile,
          // Each generation an admin port of its own: the old one keeps its admin endpoint while it drains.
          '--admin',
          `127.0.0.1:${adminPort}`,
        ],
        { stdio: ['ignore', fd, fd], graceMs: 5_000, env: { ...process.env, ...SIDECAR_MALLOC_ENV } },
      )
    } finally {
      closeSync(fd)
    }
    const generation: Generation = { number, pid: await watched.pid, logFile, startedAt: Date.now() }
    const entry = { generation, watched }
    const exitedEarly = watched.exited.then(({ code }) => {
      throw new Error(`sidecar generation ${number} exited (code ${code}) before it listened; see ${logFile}`)
    })
    exitedEarly.catch(() => {})
    // With SO_REUSEPORT the port may be another generation's still: this one's own log says when it listens.
    const listening = this.reusePort
      ? () => /"listener":"bootstrap"[^\n]*"msg":"listening"/.test(readFileSync(logFile, 'utf8'))
      : () => accepts(this.#portBase)
    await Promise.race([
      waitFor(`sidecar generation ${number} to listen`, listening, { timeoutMs: 60_000, intervalMs: 10 }),
      exitedEarly,
    ])
    this.generations.push(generation)
    this.#current = entry
    void watched.exited.then(({ code }) => {
      const expected = generation.exit?.expected ?? false
      generation.exit = { at: Date.now(), code, expected }
      if (expected) return
      this.crashes++
      this.#o.log(`sidecar generation ${number} exited on its own (code ${code}); see ${logFile}. Starting another`)
      if (this.#current === entry) {
        this.#current = undefined
        void this.#startGeneration().catch((err: Error) => this.#o.log(`sidecar restart failed: ${err.message}`))
      }
    })
  }
}

function rateLimitFilter(): Record<string, unknown> {
  return {
    name: 'rate-limit',
    config: {
      rules: [
        {
          match: 'default',
          limits: {
            produceBytesPerSecond: 10_000_000_000,
            fetchBytesPerSecond: 10_000_000_000,
            requestsPerSecond: 10_000_000,
          },
        },
      ],
    },
  }
}

/** Connects to the bootstrap port every 10 ms until stopped, counting the connects refused. */
function probeConnects(port: number): { stop: () => Promise<{ probes: number; refused: number }> } {
  let running = true
  let probes = 0
  let refused = 0
  const loop = (async () => {
    while (running) {
      probes++
      if (!(await accepts(port))) refused++
      await new Promise((r) => setTimeout(r, 10))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return { probes, refused }
    },
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
