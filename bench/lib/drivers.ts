/** Runs the Node load generators in bench/drivers as child processes and reads what they report. */
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ConnectionsJob } from '../drivers/connections-driver.js'
import type { KafkajsJob, KafkajsResult } from '../drivers/kafkajs-driver.js'

const driver = (name: string): string => fileURLToPath(new URL(`../drivers/${name}.js`, import.meta.url))

/** One kafkajs job in a fresh process; rejects with the driver's stderr when it fails or outlives `timeoutMs`. */
export function runKafkajs(job: KafkajsJob, timeoutMs = 300_000): Promise<KafkajsResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [driver('kafkajs-driver'), JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('close', (code) => {
      clearTimeout(timer)
      if (code !== 0) {
        reject(new Error(`kafkajs driver (${job.mode}) exited with ${code}:\n${stderr.slice(-2000)}`))
        return
      }
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as KafkajsResult)
    })
  })
}

export interface ActiveResult {
  requests: number
  seconds: number
  errors: number
  latencyUs: { p50: number; p99: number; p999: number }
}

/** The connection-scaling driver, one phase at a time (see bench/drivers/connections-driver.ts). */
export class ConnectionsDriver {
  readonly #child: ChildProcess
  readonly #events: AsyncIterator<string>
  #stderr = ''

  private constructor(child: ChildProcess) {
    this.#child = child
    this.#events = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
    // The driver may be gone already (it failed, or finished): writing to it then is not an error of ours.
    child.stdin!.on('error', () => {})
    child.stderr!.on('data', (d: Buffer) => {
      this.#stderr += d
    })
  }

  /** Starts the driver and resolves once every connection is open and has done ApiVersions + Metadata. */
  static async open(job: ConnectionsJob): Promise<{ driver: ConnectionsDriver; connectMs: number }> {
    const child = spawn(process.execPath, [driver('connections-driver'), JSON.stringify(job)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const d = new ConnectionsDriver(child)
    const event = await d.#next('connected', 300_000)
    return { driver: d, connectMs: event.ms as number }
  }

  async active(): Promise<ActiveResult> {
    this.#child.stdin!.write('active\n')
    return (await this.#next('active-done', 300_000)) as unknown as ActiveResult
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.#child.once('close', () => resolve()))
    if (this.#child.exitCode === null) this.#child.stdin!.end('close\n')
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 30_000)
    await exited
    clearTimeout(timer)
  }

  async #next(name: string, timeoutMs: number): Promise<Record<string, unknown>> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connections driver: no ${name} after ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      const line = await Promise.race([this.#events.next(), timeout])
      if (line.done) throw new Error(`connections driver exited before ${name}:\n${this.#stderr.slice(-2000)}`)
      const event = JSON.parse(line.value) as Record<string, unknown>
      if (event.event !== name) throw new Error(`connections driver: expected ${name}, got ${line.value}`)
      return event
    } finally {
      clearTimeout(timer)
    }
  }
}
