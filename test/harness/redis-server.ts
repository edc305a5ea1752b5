import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { allocatePorts } from './free-port.js'
import { waitFor } from './wait-for.js'
import { spawnWatched, type WatchedProcess } from './watchdog.js'

/**
 * A real Redis server for the rate-limit filter's cluster-wide budgets: Debian's `redis-server` (installed with the
 * other system tools, test/harness/system-tools.ts), on a free loopback port, with no persistence and under the
 * harness watchdog, so it dies with the process that started it. test/global-setup.ts starts one for the whole run
 * (tests read its URL with `inject('redisUrl')`); a test that must stop Redis mid-run starts its own.
 */
export interface RedisServer {
  readonly url: string
  readonly port: number
  readonly pid: number
  /** SIGKILL: Redis gone at once, as a crashed or evicted pod. */
  kill(): Promise<void>
  /** Starts it again on the same port, empty (no persistence), as a restarted Redis is. */
  restart(): Promise<void>
  stop(): Promise<void>
}

export async function startRedisServer(options: { port?: number } = {}): Promise<RedisServer> {
  const port = options.port ?? (await allocatePorts('127.0.0.1', 1))[0]!
  const dir = mkdtempSync(join(tmpdir(), 'ksc-redis-'))
  let watched = await launch(port, dir)
  let pid = await watched.pid
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return pid
    },
    async kill() {
      await watched.signal('SIGKILL')
      await watched.exited
    },
    async restart() {
      await watched.signal('SIGKILL')
      await watched.exited
      watched = await launch(port, dir)
      pid = await watched.pid
    },
    async stop() {
      await watched.signal('SIGTERM')
      const killed = setTimeout(() => void watched.signal('SIGKILL'), 5000)
      await watched.exited
      clearTimeout(killed)
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return server
}

async function launch(port: number, dir: string): Promise<WatchedProcess> {
  const watched = spawnWatched(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], graceMs: 2000, cleanupDir: dir },
  )
  let stderr = ''
  watched.child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const exited = watched.exited.then(({ code }) => {
    throw new Error(`redis-server exited (code ${code}) before it listened on 127.0.0.1:${port}: ${stderr.trim()}`)
  })
  exited.catch(() => {})
  await Promise.race([
    waitFor(`redis-server to answer PING on 127.0.0.1:${port}`, () => answersPing(port), {
      timeoutMs: 15_000,
      intervalMs: 50,
    }),
    exited,
  ])
  return watched
}

/** A bare RESP PING, so the harness needs no Redis client of its own. */
export function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write('*1\r\n$4\r\nPING\r\n'))
    const done = (ok: boolean) => {
      s.destroy()
      resolve(ok)
    }
    s.setTimeout(1000, () => done(false))
    s.once('data', (d) => done(d.toString('utf8').startsWith('+PONG')))
    s.once('error', () => done(false))
  })
}
