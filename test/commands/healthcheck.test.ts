import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { flagValue, healthTarget, probe, serverCommandLine } from '../../src/commands/healthcheck.js'

/** A /proc with the given command lines (pid -> argv). */
function fakeProc(processes: Record<number, string[]>): string {
  const root = mkdtempSync(join(tmpdir(), 'ksc-proc-'))
  for (const [pid, argv] of Object.entries(processes)) {
    mkdirSync(join(root, pid))
    writeFileSync(join(root, pid, 'cmdline'), `${argv.join('\0')}\0`)
  }
  mkdirSync(join(root, 'self'))
  return root
}

describe('healthcheck: finding the server beside it', () => {
  it('takes the lowest-numbered process running a server command of this CLI (PID 1 in a container)', () => {
    const proc = fakeProc({
      1: ['node', '--single-threaded-gc', 'dist/src/cli.js', 'run', '--admin', '0.0.0.0:9700'],
      7: ['node', 'dist/src/cli.js', 'healthcheck'],
      9: ['sh', '-c', 'sleep 5'],
    })
    expect(serverCommandLine(proc, 7)).toEqual(['run', '--admin', '0.0.0.0:9700'])
    expect(serverCommandLine(fakeProc({ 3: ['node', '/app/dist/src/cli.js', 'top'] }), 0)).toBeUndefined()
    expect(serverCommandLine(join(tmpdir(), 'no-such-proc'), 0)).toBeUndefined()
  })

  it('reads flags as yargs does (last one wins, --flag=value too)', () => {
    expect(flagValue(['run', '--admin', 'a:1', '--admin=b:2'], 'admin')).toBe('b:2')
    expect(flagValue(['run'], 'admin')).toBeUndefined()
  })
})

describe('healthcheck: where to probe', () => {
  it('the health port first (flag, then variable), then the admin endpoint, then the bootstrap listener', () => {
    expect(healthTarget(['run', '--health-port', '9700'], {})).toEqual({
      kind: 'http',
      address: { host: '127.0.0.1', port: 9700 },
      path: '/healthz',
    })
    expect(healthTarget(['run'], { KAFKA_SIDECAR_HEALTH_PORT: '9645' }).address).toEqual({
      host: '127.0.0.1',
      port: 9645,
    })
    expect(healthTarget(['run', '--admin', '0.0.0.0:9701'], {})).toEqual({
      kind: 'http',
      address: { host: '127.0.0.1', port: 9701 },
      path: '/healthz',
    })
    expect(healthTarget(undefined, { KAFKA_SIDECAR_ADMIN: '[::]:9702' }).address).toEqual({ host: '::1', port: 9702 })
    const dir = mkdtempSync(join(tmpdir(), 'ksc-hc-'))
    const file = join(dir, 'config.yaml')
    writeFileSync(file, 'admin: { enabled: false }\nlisten: { host: 127.0.0.3, port: 19092 }\n')
    expect(healthTarget(['run', '--config', file], {})).toEqual({
      kind: 'tcp',
      address: { host: '127.0.0.3', port: 19092 },
    })
    writeFileSync(file, 'admin: { healthPort: 9800 }\n')
    expect(healthTarget(['dev', `--config=${file}`], {}).address).toEqual({ host: '127.0.0.1', port: 9800 })
  })

  it('the injector on its HTTPS port', () => {
    expect(healthTarget(['inject-webhook', '--listen=0.0.0.0:8443'], {})).toEqual({
      kind: 'https',
      address: { host: '127.0.0.1', port: 8443 },
      path: '/healthz',
    })
  })

  it('probe: healthy on 200, otherwise the reason', async () => {
    const server = http.createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? 200 : 503
      res.end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    try {
      expect(await probe({ kind: 'http', address: { host: '127.0.0.1', port }, path: '/healthz' })).toBeUndefined()
      expect(await probe({ kind: 'http', address: { host: '127.0.0.1', port }, path: '/readyz' })).toBe(
        `http://127.0.0.1:${port}/readyz answered 503`,
      )
      expect(await probe({ kind: 'tcp', address: { host: '127.0.0.1', port } })).toBeUndefined()
    } finally {
      server.close()
    }
    expect(await probe({ kind: 'tcp', address: { host: '127.0.0.1', port } })).toMatch(
      /^cannot connect to 127\.0\.0\.1:/,
    )
  })
})
