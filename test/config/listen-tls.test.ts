import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runValidateConfig } from '../../src/commands/validate-config.js'
import { ConfigError, formatIssue, loadConfig } from '../../src/config/index.js'
import { createCa, issue, type Pem, type TestCa } from '../support/openssl-pki.js'

let dir: string
let ca: TestCa
let server: Pem
let other: Pem
let expired: Pem

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ksc-listen-tls-'))
  ca = createCa(join(dir, 'pki'), 'ca')
  server = issue(ca, { cn: 'localhost', san: ['localhost', '127.0.0.1'], usage: 'server' })
  other = issue(ca, { cn: 'other', usage: 'server' })
  expired = issue(ca, { cn: 'old', usage: 'server', expired: true })
  // Relative paths in the file resolve against its directory.
  copyFileSync(server.cert, join(dir, 'server.pem'))
  copyFileSync(server.key, join(dir, 'server.key'))
  copyFileSync(ca.cert, join(dir, 'ca.pem'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function write(text: string): string {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(file, `upstream: { bootstrap: [b:9092] }\n${text}`)
  return file
}

function problems(file: string): string[] {
  try {
    loadConfig({ file, env: {} })
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as ConfigError).issues.map(formatIssue)
  }
  throw new Error('expected a ConfigError')
}

describe('listen.tls', () => {
  it('resolves relative paths, fills defaults (client certificate required with a CA, TLS 1.2, spiffe then cn)', () => {
    const file = write(`
listen:
  port: 9092
  tls:
    cert: server.pem
    key: ./server.key
    ca: ca.pem
    principal:
      rules: [{ match: '^spiffe://[^/]+/ns/([^/]+)/sa/([^/]+)$', replace: '$1/$2' }]
`)
    const config = loadConfig({ file, env: {} })
    expect(config.listen.tls).toEqual({
      cert: join(dir, 'server.pem'),
      key: join(dir, 'server.key'),
      ca: join(dir, 'ca.pem'),
      requireClientCert: true,
      minVersion: 'TLSv1.2',
      handshakeTimeoutMs: 10_000,
      maxHandshakesPerSecond: 50,
      maxPendingHandshakes: 256,
      thread: 'main',
      principal: {
        from: ['spiffe', 'cn'],
        rules: [{ match: '^spiffe://[^/]+/ns/([^/]+)/sa/([^/]+)$', replace: '$1/$2' }],
      },
    })
  })

  it('names every problem with key, value and what was expected', () => {
    writeFileSync(join(dir, 'not-pem.pem'), 'hello')
    const file = write(`
listen:
  tls:
    cert: server.pem
    requireClientCert: true
    minVersion: TLSv1.1
    handshakeTimeoutMs: 5
    maxHandshakesPerSecond: -1
    maxPendingHandshakes: many
    thread: child
    principal:
      from: [spiffe, uri, spiffe]
      rules:
        - { match: '([a-z', replace: x }
        - { match: '^(a)$', replace: '$2' }
`)
    expect(problems(file).map((p) => p.replace(/ \(at .*\)$/, ''))).toEqual([
      'listen.tls.key: missing: a TLS listener needs its private key (a PEM file; kafka-sidecar certs init makes a development set)',
      'listen.tls.requireClientCert: true needs listen.tls.ca, the CA bundle that issues the client certificates',
      'listen.tls.minVersion: "TLSv1.1" is not one of TLSv1.2, TLSv1.3 (did you mean "TLSv1.2"?)',
      'listen.tls.handshakeTimeoutMs: 5 is out of range (expected milliseconds 100-600000)',
      'listen.tls.maxHandshakesPerSecond: -1 is out of range (expected handshakes a second 0-1000000)',
      'listen.tls.maxPendingHandshakes: "many" is not an integer (expected connections 0-2147483647)',
      'listen.tls.principal: principals come from client certificates: set listen.tls.ca so that clients are asked for one',
      'listen.tls.thread: "child" is not one of worker, main',
      'listen.tls.principal.from[1]: "uri" is not one of spiffe, dns, cn',
      'listen.tls.principal.from[2]: "spiffe" is listed twice',
      expect.stringMatching(/^listen\.tls\.principal\.rules\[0\]\.match: "\(\[a-z" is not a valid regular expression/),
      'listen.tls.principal.rules[1].replace: replace "$2" uses $2, but the pattern has 1 group',
    ])
  })

  it('checks the files themselves: unreadable, not PEM, a key of another certificate, expired', () => {
    writeFileSync(join(dir, 'not-pem.pem'), 'hello')
    const unreadable = write('listen: { tls: { cert: nope.pem, key: server.key } }\n')
    expect(problems(unreadable)[0]).toMatch(
      /^listen\.tls\.cert: cannot read ".*nope\.pem" \(ENOENT\): check the path and its permissions/,
    )
    const notPem = write('listen: { tls: { cert: not-pem.pem, key: server.key, ca: not-pem.pem } }\n')
    expect(problems(notPem)).toEqual([
      expect.stringMatching(/^listen\.tls\.cert: ".*not-pem\.pem" holds no PEM certificate \(expected -----BEGIN/),
      expect.stringMatching(/^listen\.tls\.ca: ".*not-pem\.pem" holds no PEM certificate/),
    ])
    const mismatch = write(`listen: { tls: { cert: server.pem, key: ${other.key} } }\n`)
    expect(problems(mismatch)).toEqual([
      expect.stringMatching(
        /^listen\.tls\.key: ".*other\.key" is not the private key of the certificate in ".*server\.pem" \(CN=localhost\)/,
      ),
    ])
    const old = write(`listen: { tls: { cert: ${expired.cert}, key: ${expired.key} } }\n`)
    expect(problems(old)).toEqual([
      expect.stringMatching(
        /^listen\.tls\.cert: the certificate in ".*old\.pem" \(CN=old\) expired on Jan {2}2 00:00:00 2020/,
      ),
    ])
    const ciphers = write('listen: { tls: { cert: server.pem, key: server.key, ciphers: NOT-A-CIPHER } }\n')
    expect(problems(ciphers)).toEqual([
      expect.stringMatching(/^listen\.tls\.ciphers: "NOT-A-CIPHER" is not a usable cipher list/),
    ])
  })

  it('principal settings without a client CA are a mistake; requireClientCert false makes the certificate optional', () => {
    const noCa = write('listen: { tls: { cert: server.pem, key: server.key, principal: { from: cn } } }\n')
    expect(problems(noCa)[0]).toMatch(
      /^listen\.tls\.principal: principals come from client certificates: set listen\.tls\.ca/,
    )
    const optional = write(
      'listen: { tls: { cert: server.pem, key: server.key, ca: ca.pem, requireClientCert: false, principal: { from: "dns, cn" } } }\n',
    )
    const tls = loadConfig({ file: optional, env: {} }).listen.tls!
    expect(tls.requireClientCert).toBe(false)
    expect(tls.principal.from).toEqual(['dns', 'cn'])
  })

  it('environment and flags: paths relative to the working directory, the flag over the environment', () => {
    const file = write('listen: { port: 9092 }\n')
    const config = loadConfig({
      file,
      env: { KAFKA_SIDECAR_TLS_CERT: join(dir, 'server.pem'), KAFKA_SIDECAR_TLS_KEY: join(dir, 'server.key') },
      flags: { 'tls-client-ca': join(dir, 'ca.pem'), 'tls-principal-from': 'cn' },
    })
    expect(config.listen).toMatchObject({
      port: 9092,
      tls: { cert: join(dir, 'server.pem'), ca: join(dir, 'ca.pem'), principal: { from: ['cn'] } },
    })
  })

  it('validate-config summarizes the TLS listener', () => {
    const file = write('listen: { port: 9092, tls: { cert: server.pem, key: server.key, ca: ca.pem } }\n')
    const r = runValidateConfig({ file, env: {} })
    expect(r.stderr).toBe('')
    const line = r.stdout.split('\n').find((l) => l.startsWith('  listen'))
    expect(line).toMatch(
      new RegExp(
        `^  listen    127\\.0\\.0\\.1:9092 \\(mTLS, client certificate required \\(CA ${join(dir, 'ca.pem').replace(/[.]/g, '\\.')}\\); principal from spiffe, cn; TLS 1\\.2\\+; certificate CN=localhost until .*\\)$`,
      ),
    )
  })
})
