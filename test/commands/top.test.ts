import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClientSnapshot, StatsSnapshot } from '../../src/stats/snapshot.js'
import { renderTop } from '../../src/stats/top-table.js'

const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname

function client(id: string, over: Partial<ClientSnapshot>): ClientSnapshot {
  return {
    clientId: id,
    principal: null,
    folded: false,
    software: null,
    connections: { open: 1, total: 1 },
    requests: 0,
    errors: 0,
    bytesIn: 0,
    bytesOut: 0,
    throttleMs: 0,
    apis: {},
    sidecarErrors: {},
    produce: {},
    fetch: {},
    groups: [],
    lag: null,
    firstSeen: '2025-01-01T00:00:00.000Z',
    lastSeen: '2025-01-01T00:00:00.000Z',
    ...over,
  }
}

/** Three clients, each first on one sort key: bytes (big-bytes), requests (chatty), lag (laggard). */
function snapshot(time: number): StatsSnapshot {
  return {
    version: 1,
    time: new Date(time).toISOString(),
    uptimeSeconds: 75,
    topicStats: true,
    process: {
      pid: 1,
      rssBytes: 80 * 1024 * 1024,
      heapUsedBytes: 1,
      eventLoopLagMs: { mean: 0.5, p99: 1.25, max: 3 },
      connectionsOpen: 3,
      connectionsTotal: 9,
      errors: {},
      decodeFailures: 0,
      passedThrough: { requests: 0, responses: 0 },
      statsFilterFailures: 0,
    },
    cardinality: {
      maxClientIds: 100,
      clientIds: 3,
      clientIdsFolded: 0,
      maxTopics: 200,
      topics: 1,
      topicsFolded: 0,
      maxGroups: 100,
      groups: 1,
      groupsFolded: 0,
    },
    clients: [
      client('chatty', { requests: 90_000, bytesIn: 2_000, bytesOut: 2_000 }),
      client('big-bytes', {
        requests: 10,
        bytesIn: 50 * 1024 * 1024,
        bytesOut: 1024,
        software: { name: 'apache-kafka-java', version: '4.1.0' },
        produce: { orders: { bytes: 50 * 1024 * 1024, records: 12_345 } },
      }),
      client('laggard', { requests: 100, bytesIn: 10_000, bytesOut: 10_000, lag: 4321, groups: ['billing'] }),
    ],
    groups: [],
  }
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })
}

const order = (lines: string[]) =>
  lines.map((l) => l.split(/\s+/)[0]).filter((w): w is string => w === 'chatty' || w === 'big-bytes' || w === 'laggard')

describe('top table', () => {
  it('sorts by bytes, requests or lag and fits the width', () => {
    const s = snapshot(Date.now())
    const opts = { width: 100, height: 20, source: 'test' }
    expect(order(renderTop(s, undefined, { ...opts, sort: 'bytes' }))).toEqual(['big-bytes', 'laggard', 'chatty'])
    expect(order(renderTop(s, undefined, { ...opts, sort: 'requests' }))).toEqual(['chatty', 'laggard', 'big-bytes'])
    expect(order(renderTop(s, undefined, { ...opts, sort: 'lag' }))).toEqual(['laggard', 'big-bytes', 'chatty'])
    const lines = renderTop(s, undefined, { ...opts, sort: 'bytes' })
    expect(lines.every((l) => l.length <= 100)).toBe(true)
    expect(lines.join('\n')).toContain('50M')
  })

  it('shows rates per second between two snapshots', () => {
    const before = snapshot(Date.now() - 2000)
    const now = snapshot(Date.now())
    now.clients[0] = { ...now.clients[0]!, requests: now.clients[0]!.requests + 400 }
    const lines = renderTop(now, before, { width: 160, height: 20, source: 'test', sort: 'requests' })
    expect(lines[1]).toContain('rates per second')
    expect(lines.find((l) => l.startsWith('chatty'))).toMatch(/^chatty\s+1\s+200\s/)
  })
})

describe('kafka-sidecar top in a pseudo-terminal', () => {
  let server: http.Server
  let admin: string
  let hits = 0

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits++
      if (req.url !== '/stats') {
        res.writeHead(404).end()
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(snapshot(Date.now())))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    admin = `127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve))
  })

  /** What a terminal would show, roughly: the output since the last screen clear/home, escapes removed. */
  const screen = (raw: string) => {
    const last = raw.lastIndexOf('\x1b[H')
    return (last >= 0 ? raw.slice(last) : raw).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '')
  }

  it('renders the table, re-sorts on b/r/l, and quits with q', async () => {
    // script(1) runs the command on a new pseudo-terminal and copies our stdin (the keys) to it.
    const child: ChildProcessWithoutNullStreams = spawn(
      'script',
      [
        '-q',
        '-e',
        '-c',
        `stty cols 140 rows 30; ${process.execPath} ${CLI} top --admin ${admin} --interval 200`,
        '/dev/null',
      ],
      { stdio: 'pipe' },
    )
    let raw = ''
    child.stdout.on('data', (c: Buffer) => {
      raw += c.toString('utf8')
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    const until = async (what: string, check: (s: string) => boolean) => {
      const deadline = Date.now() + 15_000
      while (!check(screen(raw))) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; screen:\n${screen(raw)}`)
        await new Promise((r) => setTimeout(r, 50))
      }
      return screen(raw).split('\n')
    }
    try {
      let lines = await until('the first table', (s) => s.includes('CLIENT ID') && s.includes('laggard'))
      expect(lines[0]).toContain(`kafka-sidecar top - http://${admin}/stats`)
      expect(lines.join('\n')).toContain('keys: [b]ytes [r]equests [l]ag [q]uit')
      expect(lines.join('\n')).toContain('apache-kafka-java/4.1.0')
      expect(order(lines)).toEqual(['big-bytes', 'laggard', 'chatty'])

      child.stdin.write('r')
      lines = await until('sort by requests', (s) => s.includes('sort: requests') && s.includes('laggard'))
      expect(order(lines)).toEqual(['chatty', 'laggard', 'big-bytes'])

      child.stdin.write('l')
      lines = await until('sort by lag', (s) => s.includes('sort: lag') && s.includes('laggard'))
      expect(order(lines)).toEqual(['laggard', 'big-bytes', 'chatty'])
      expect(lines.find((l) => l.startsWith('laggard'))).toContain('4321')
      // It refreshes: /stats is read again and again.
      const seen = hits
      await until('a refresh', () => hits > seen + 2)

      child.stdin.write('q')
      expect(await exited).toBe(0)
      // The terminal is left as it was: cursor shown, alternate screen left.
      expect(raw).toContain('\x1b[?25h\x1b[?1049l')
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('prints one plain table when stdout is not a terminal, and says so when the sidecar is unreachable', async () => {
    // Not spawnSync: the /stats server runs in this process and must keep answering.
    const once = await cli(['top', '--admin', admin, '--sort', 'lag'])
    expect(once.code, once.stderr).toBe(0)
    expect(once.stdout).not.toContain('\x1b[')
    expect(order(once.stdout.split('\n'))).toEqual(['laggard', 'big-bytes', 'chatty'])

    const down = await cli(['top', '--once', '--admin', '127.0.0.1:1'])
    expect(down.code).toBe(1)
    expect(down.stderr).toContain('KSC_ERR_TOP_UNREACHABLE')
  })
})
