import { execFileSync, spawnSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { runCertsInit } from '../../src/commands/certs.js'
import { loadConfig } from '../../src/config/index.js'
import { readTlsMaterial } from '../../src/tls/material.js'

const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname

/** `openssl x509 -noout -ext ...` output, an independent reading of what node-forge wrote. */
function opensslExt(file: string, ext: string): string {
  return execFileSync('openssl', ['x509', '-in', file, '-noout', '-ext', ext], { encoding: 'utf8' })
}

describe('kafka-sidecar certs init', () => {
  let dir: string
  let first: ReturnType<typeof runCertsInit>

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ksc-certs-'))
    first = runCertsInit({
      dir,
      clients: ['orders:spiffe://example.org/ns/shop/sa/orders', 'reporting'],
      hosts: ['sidecar.shop.svc'],
      days: 30,
      force: false,
    })
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('writes a CA, a server certificate and client certificates that openssl verifies', () => {
    expect(first.exitCode, first.stderr).toBe(0)
    const f = (n: string) => join(dir, n)
    const verify = execFileSync(
      'openssl',
      ['verify', '-CAfile', f('ca.pem'), f('server.pem'), f('client-orders.pem'), f('client-reporting.pem')],
      { encoding: 'utf8' },
    )
    expect(verify.trim().split('\n')).toEqual([
      `${f('server.pem')}: OK`,
      `${f('client-orders.pem')}: OK`,
      `${f('client-reporting.pem')}: OK`,
    ])
    expect(opensslExt(f('ca.pem'), 'basicConstraints,keyUsage')).toMatch(
      /critical\s+CA:TRUE[\s\S]*critical\s+Certificate Sign, CRL Sign/,
    )
    const serverSan = opensslExt(f('server.pem'), 'subjectAltName')
    expect(serverSan).toContain('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:sidecar.shop.svc')
    expect(opensslExt(f('server.pem'), 'extendedKeyUsage')).toContain('TLS Web Server Authentication')
    expect(opensslExt(f('client-orders.pem'), 'subjectAltName')).toContain('URI:spiffe://example.org/ns/shop/sa/orders')
    expect(opensslExt(f('client-orders.pem'), 'extendedKeyUsage')).toContain('TLS Web Client Authentication')
    expect(new X509Certificate(readFileSync(f('client-reporting.pem'))).subject).toContain('CN=reporting')
    // Each key belongs to its certificate, and the files pass the sidecar's own checks.
    for (const name of ['server', 'client-orders', 'client-reporting']) {
      expect(readTlsMaterial({ cert: f(`${name}.pem`), key: f(`${name}.key`), ca: f('ca.pem') }).problems).toEqual([])
    }
  })

  it('keys are private (0600), keys are PKCS#8, the Java keystore holds key then certificate', () => {
    for (const name of ['ca.key', 'server.key', 'client-orders.key', 'client-orders.keystore.pem']) {
      expect((statSync(join(dir, name)).mode & 0o777).toString(8), name).toBe('600')
    }
    expect((statSync(join(dir, 'ca.pem')).mode & 0o777).toString(8)).toBe('644')
    expect(readFileSync(join(dir, 'server.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/)
    expect(readFileSync(join(dir, 'client-orders.keystore.pem'), 'utf8')).toMatch(
      /^-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\n$/,
    )
    const props = readFileSync(join(dir, 'client-orders.properties'), 'utf8')
    expect(props).toContain('security.protocol=SSL')
    expect(props).toContain(`ssl.truststore.location=${join(dir, 'ca.pem')}`)
    expect(props).toContain(`ssl.keystore.location=${join(dir, 'client-orders.keystore.pem')}`)
  })

  it('prints what it wrote and how to use it; the config snippet loads as it is', () => {
    expect(first.stdout).toContain('client-orders.pem')
    expect(first.stdout).toMatch(/kcat -b 127\.0\.0\.1:9092 -X security\.protocol=SSL -X ssl\.ca\.location=\S+ca\.pem/)
    expect(first.stdout).toContain('--command-config')
    expect(first.stdout).toContain('--tls-cert')
    const snippet = parse(readFileSync(join(dir, 'sidecar-tls.yaml'), 'utf8')) as { listen: unknown }
    expect(snippet.listen).toMatchObject({ tls: { cert: 'server.pem', ca: 'ca.pem' } })
    const config = loadConfig({ file: join(dir, 'sidecar-tls.yaml'), env: {}, requireUpstream: false })
    expect(config.listen.tls?.cert).toBe(join(dir, 'server.pem'))
    expect(config.listen.tls?.principal.rules).toHaveLength(1)
  })

  it('run again, keeps the CA and existing files and adds new clients; --force makes all anew', () => {
    const ca = readFileSync(join(dir, 'ca.pem'), 'utf8')
    const server = readFileSync(join(dir, 'server.pem'), 'utf8')
    const again = runCertsInit({ dir, clients: ['orders', 'billing'], hosts: [], days: 30, force: false })
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toMatch(/ca\.pem\s+\(kept\)/)
    expect(again.stdout).toMatch(/client-orders\.pem\s+\(kept\)/)
    expect(readFileSync(join(dir, 'ca.pem'), 'utf8')).toBe(ca)
    expect(readFileSync(join(dir, 'server.pem'), 'utf8')).toBe(server)
    expect(
      execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'client-billing.pem')]).toString(),
    ).toContain('OK')
    const forced = runCertsInit({ dir, clients: ['orders'], hosts: [], days: 30, force: true })
    expect(forced.exitCode).toBe(0)
    expect(readFileSync(join(dir, 'ca.pem'), 'utf8')).not.toBe(ca)
  })

  it('bad input is a usage error naming the flag', () => {
    expect(runCertsInit({ dir, clients: ['bad name'], hosts: [], days: 30, force: false })).toMatchObject({
      exitCode: 2,
      stderr: expect.stringContaining('--client "bad name": the name must be'),
    })
    expect(runCertsInit({ dir, clients: ['x:http://nope'], hosts: [], days: 30, force: false })).toMatchObject({
      exitCode: 2,
      stderr: expect.stringContaining('is not a SPIFFE ID'),
    })
  })

  it('is a command of the CLI', () => {
    const out = mkdtempSync(join(tmpdir(), 'ksc-certs-cli-'))
    try {
      const r = spawnSync(process.execPath, [CLI, 'certs', 'init', '--dir', out, '--client', 'cli-user'], {
        encoding: 'utf8',
      })
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout).toContain('client-cli-user.pem')
      const usage = spawnSync(process.execPath, [CLI, 'certs', 'renew'], { encoding: 'utf8' })
      expect(usage.status).toBe(2)
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  })
})
