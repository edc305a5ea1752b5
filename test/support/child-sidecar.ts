import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SIDECAR_MALLOC_ENV } from '../../src/runtime/malloc-env.js'
import { SIDECAR_NODE_FLAGS } from '../../src/runtime/node-flags.js'
import { waitFor } from '../harness/wait-for.js'
import { spawnWatched, type WatchedProcess } from '../harness/watchdog.js'
import { freePortBase } from './test-sidecar.js'

const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname

/**
 * The sidecar as deployed, in a process of its own (`node <flags> dist/src/cli.js run --config FILE`, with the
 * shipped malloc settings), so that a test can read what it costs from /proc: its resident memory, its peak, its
 * descriptors. Needs `npm run build` (the tests' pretest does it). Its log lines are in `logFile`, JSON.
 */
export interface ChildSidecar {
  readonly pid: number
  /** host:port clients are pointed at. */
  readonly bootstrap: string
  readonly adminUrl: string
  readonly logFile: string
  /** Resident set size now, MB (VmRSS). */
  rssMb(): number
  /** Peak resident set size since the process started, MB (VmHWM). */
  peakRssMb(): number
  /** Open file descriptors now. */
  fds(): number
  /** The log lines written so far, parsed. */
  logLines(): Record<string, unknown>[]
  metrics(): Promise<string>
  stop(): Promise<void>
}

export async function startChildSidecar(
  bootstrapServers: string,
  config: Record<string, unknown> = {},
): Promise<ChildSidecar> {
  const base = await freePortBase(12)
  const dir = mkdtempSync(join(tmpdir(), 'ksc-child-sidecar-'))
  const configFile = join(dir, 'sidecar.yaml')
  // JSON is YAML.
  writeFileSync(
    configFile,
    JSON.stringify({
      listen: { host: '127.0.0.1', port: base },
      brokers: { host: '127.0.0.1', advertisedHost: '127.0.0.1', portBase: base },
      upstream: { bootstrap: bootstrapServers.split(',') },
      admin: { host: '127.0.0.1', port: base + 11 },
      log: { level: 'info' },
      ...config,
    }),
  )
  const logFile = join(dir, 'sidecar.log')
  const fd = openSync(logFile, 'a')
  let watched: WatchedProcess
  try {
    watched = spawnWatched(process.execPath, [...SIDECAR_NODE_FLAGS, CLI, 'run', '--config', configFile], {
      stdio: ['ignore', fd, fd],
      graceMs: 5_000,
      env: { ...process.env, ...SIDECAR_MALLOC_ENV },
    })
  } finally {
    closeSync(fd)
  }
  const pid = await watched.pid
  const bootstrap = `127.0.0.1:${base}`
  const exited = watched.exited.then(({ code }) => {
    throw new Error(`the sidecar exited (code ${code}) before it listened; see ${logFile}`)
  })
  await Promise.race([
    waitFor('the child sidecar to listen', () => canConnect(base), { timeoutMs: 30_000, intervalMs: 100 }),
    exited,
  ])
  exited.catch(() => {})
  const status = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return Number(m?.[1]) / 1024
  }
  const adminUrl = `http://127.0.0.1:${base + 11}`
  return {
    pid,
    bootstrap,
    adminUrl,
    logFile,
    rssMb: () => status('VmRSS'),
    peakRssMb: () => status('VmHWM'),
    fds: () => readdirSync(`/proc/${pid}/fd`).length,
    logLines: () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    metrics: async () => (await fetch(`${adminUrl}/metrics`)).text(),
    stop: async () => {
      await watched.signal('SIGTERM')
      const killed = setTimeout(() => void watched.signal('SIGKILL'), 10_000)
      await watched.exited
      clearTimeout(killed)
    },
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy()
      resolve(true)
    })
    s.on('error', () => resolve(false))
  })
}

/** The sum of a metric's samples in Prometheus text (optionally only those whose labels contain `labels`). */
export function metricValue(text: string, name: string, labels = ''): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (labels !== '' && !line.includes(labels)) continue
    sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}
