/**
 * The sidecar the soak's clients go through, as deployed (`node <flags> dist/src/cli.js run --config FILE`), on
 * fixed ports so that another process can take its place: a generation is one sidecar process. Two faults act on it:
 *
 * - reload: the config file is replaced (write, then rename, as editors and ConfigMap updates do) with the
 *   rate-limit filter switched on or off (limits far above what the soak moves), and the generation's log must say
 *   "configuration reloaded".
 * - handover: SIGTERM, then a new generation on the same ports. The sidecar binds without SO_REUSEPORT (Node 20's
 *   net has no such option), so two processes cannot listen on one port at once; but SIGTERM closes every
 *   listener at once and only then drains the open connections (Listeners.stopAccepting), so the successor is
 *   started as soon as the old bootstrap port refuses connections, while the old process still finishes its
 *   in-flight requests. A client sees its connection close after its last answer and a refused connect for as long
 *   as the new process takes to start: a reconnect, which its retries cover.
 *
 * A generation that exits without being told to is a crash: counted, and replaced so the run goes on.
 */
import { closeSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { SIDECAR_MALLOC_ENV } from '../../../src/runtime/malloc-env.js'
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
  /** From SIGTERM to the old bootstrap listener refusing connections. */
  stopListeningMs: number
  /** From the old listener closing to the new one accepting: what clients wait to reconnect. */
  gapMs: number
  /** From SIGTERM to the old process's exit (its drain). */
  drainMs: number
  oldExitCode: number | null
}

export interface SoakSidecarOptions {
  upstream: string
  logDir: string
  log: (message: string) => void
}

export class SoakSidecar {
  readonly #o: SoakSidecarOptions
  readonly #configFile: string
  readonly #cli = repoFile('dist/src/cli.js')
  #portBase = 0
  #current: { generation: Generation; watched: WatchedProcess } | undefined
  readonly generations: Generation[] = []
  #rateLimitOn = false
  reloads = 0
  crashes = 0

  constructor(options: SoakSidecarOptions) {
    this.#o = options
    this.#configFile = join(options.logDir, 'sidecar.yaml')
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

  /** SIGTERM to the running generation and a new one on the same ports (see the module comment). */
  async handover(timeoutMs = 60_000): Promise<HandoverOutcome> {
    const old = this.#current
    if (!old) throw new Error('no sidecar is running')
    old.generation.exit = { at: 0, code: null, expected: true }
    const signalled = Date.now()
    await old.watched.signal('SIGTERM')
    await waitFor(
      `generation ${old.generation.number} to stop listening`,
      async () => !(await accepts(this.#portBase)),
      {
        timeoutMs,
        intervalMs: 10,
      },
    )
    const closed = Date.now()
    await this.#startGeneration()
    const listening = Date.now()
    const timer = setTimeout(() => void old.watched.signal('SIGKILL'), timeoutMs)
    const { code } = await old.watched.exited
    clearTimeout(timer)
    return {
      stopListeningMs: closed - signalled,
      gapMs: listening - closed,
      drainMs: Date.now() - signalled,
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
      listen: { host: '127.0.0.1', port: base },
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
        process.execPath,
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
    await Promise.race([
      waitFor(`sidecar generation ${number} to listen`, () => accepts(this.#portBase), {
        timeoutMs: 60_000,
        intervalMs: 10,
      }),
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

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
