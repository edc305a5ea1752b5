import http from 'node:http'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { HealthServer } from '../../src/admin/health-server.js'
import { healthAddressOf, healthAddressOverride } from '../../src/commands/run.js'
import { loadConfig } from '../../src/config/index.js'
import { validateConfig } from '../../src/config/schema.js'

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('HealthServer (admin.healthPort)', () => {
  let server: HealthServer | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  async function start(ready: () => Promise<{ ready: boolean; reason?: string }>) {
    server = new HealthServer(ready, pino({ level: 'silent' }))
    return (await server.listen({ host: '127.0.0.1', port: 0 })).port
  }

  it('serves /healthz and /readyz, and readiness without its reason', async () => {
    let ready = false
    const port = await start(async () =>
      ready ? { ready: true } : { ready: false, reason: 'cannot connect to broker 10.0.0.7:9093' },
    )
    expect(await get(port, '/healthz')).toEqual({ status: 200, body: '{"status":"ok"}\n' })
    expect(await get(port, '/readyz')).toEqual({ status: 503, body: '{"status":"not ready"}\n' })
    ready = true
    expect(await get(port, '/readyz?verbose')).toEqual({ status: 200, body: '{"status":"ready"}\n' })
  })

  it('serves nothing else: /stats and /metrics stay on the admin endpoint', async () => {
    const port = await start(async () => ({ ready: true }))
    for (const path of ['/stats', '/metrics', '/']) {
      const r = await get(port, path)
      expect(r.status, path).toBe(404)
      expect(r.body).toContain('serves /healthz and /readyz only')
    }
    expect((await get(port, '/healthz', 'POST')).status).toBe(405)
  })

  it('a failing readiness check is "not ready", not a crash', async () => {
    const port = await start(async () => {
      throw new Error('boom')
    })
    expect(await get(port, '/readyz')).toEqual({ status: 503, body: '{"status":"not ready"}\n' })
  })
})

describe('admin.healthPort and its overrides', () => {
  const issues = (admin: unknown, listen?: unknown) =>
    validateConfig({ upstream: { bootstrap: ['kafka:9092'] }, admin, ...(listen ? { listen } : {}) }).issues.map(
      (i) => `${i.segments.join('.')}: ${i.message}`,
    )

  it('is checked in the config file: a port, its own, and no host without a port', () => {
    const { config } = validateConfig({ upstream: { bootstrap: ['kafka:9092'] }, admin: { healthPort: 9645 } })
    expect(config?.admin).toEqual({
      host: '127.0.0.1',
      port: 9644,
      enabled: true,
      healthPort: 9645,
      healthHost: '0.0.0.0',
    })
    expect(healthAddressOf(config!)).toEqual({ host: '0.0.0.0', port: 9645 })
    expect(issues({ healthPort: 'ninety' })[0]).toMatch(/^admin\.healthPort: "ninety"/)
    expect(issues({ healthPort: 9644 })).toEqual([
      'admin.healthPort: 9644 is also admin.port: give the health listener its own port',
    ])
    expect(issues({ healthPort: 9092 })).toEqual([
      'admin.healthPort: 9092 is also listen.port: give the health listener its own port',
    ])
    expect(issues({ healthHost: '0.0.0.0' })).toEqual([
      'admin.healthHost: is set without admin.healthPort: set the port of the health listener too',
    ])
    // A listener on another host may share the port number.
    expect(issues({ healthPort: 9092, healthHost: '127.0.0.2' }, { host: '127.0.0.1', port: 9092 })).toEqual([])
  })

  it('is off unless set; healthHost defaults to 0.0.0.0', () => {
    const off = loadConfig({ env: {}, flags: { upstream: 'kafka:9092' } })
    expect(off.admin).toEqual({ host: '127.0.0.1', port: 9644, enabled: true })
    expect(healthAddressOf(off)).toBeUndefined()
    expect(healthAddressOverride(off, undefined, {})).toBeUndefined()
    expect(healthAddressOverride(off, undefined, { KAFKA_SIDECAR_HEALTH_PORT: '9645' })).toEqual({
      host: '0.0.0.0',
      port: 9645,
    })
    // The flag wins over the variable.
    expect(healthAddressOverride(off, '9700', { KAFKA_SIDECAR_HEALTH_PORT: '9645' })).toEqual({
      host: '0.0.0.0',
      port: 9700,
    })
    expect(healthAddressOverride(off, undefined, { KAFKA_SIDECAR_HEALTH_PORT: 'x' })).toEqual({
      issue: { path: 'admin.healthPort', message: '"x" is not a port (1-65535)', origin: 'KAFKA_SIDECAR_HEALTH_PORT' },
    })
  })
})
