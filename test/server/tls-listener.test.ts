import { X509Certificate } from 'node:crypto'
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeRequest } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { tlsAlertCode } from '../../src/tls/alert-codes.js'
import { waitFor } from '../harness/wait-for.js'
import { type CountingObserver, countingObserver } from '../support/counting-observer.js'
import { captureClientHello } from '../support/hostile-tls-clients.js'
import { createCa, issue, type Pem, type TestCa } from '../support/openssl-pki.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * TLS termination without a broker: the upstream is a TCP server that accepts and stays silent, which is all a
 * handshake, the certificate checks, the principal and rotation need. Clients are Node's own TLS client; the real
 * clients (kcat, Java, kafkajs) and a real broker are in test/integration/tls-*.test.ts.
 */

const SPIFFE_RULE = { match: '^spiffe://[^/]+/ns/([^/]+)/sa/([^/]+)$', replace: '$1/$2' }
const apiVersions = encodeRequest(
  { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 3, correlationId: 1, clientId: 'plain' },
  { clientSoftwareName: 'x', clientSoftwareVersion: '1' },
)

interface Outcome {
  secure: boolean
  error: (Error & { code?: string }) | undefined
  /** When the handshake completed, from the connect call; -1 when it did not. */
  securedAfterMs: number
  closedAfterMs: number
  fingerprint256: string | undefined
}

/** Connects, and resolves when the sidecar has closed the connection (or after `holdMs` for an accepted one). */
function attempt(port: number, options: tls.ConnectionOptions, holdMs = 0, send?: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = Date.now()
    const out: Outcome = {
      secure: false,
      error: undefined,
      securedAfterMs: -1,
      closedAfterMs: -1,
      fingerprint256: undefined,
    }
    const socket = tls.connect({ host: '127.0.0.1', port, ...options }, () => {
      out.secure = true
      out.securedAfterMs = Date.now() - started
      out.fingerprint256 = socket.getPeerCertificate().fingerprint256
      if (send !== undefined) socket.write(send)
      if (holdMs > 0) setTimeout(() => socket.end(), holdMs)
    })
    socket.on('data', () => {})
    socket.on('error', (err) => {
      out.error ??= err
    })
    socket.on('close', () => {
      out.closedAfterMs = Date.now() - started
      resolve(out)
    })
  })
}

/** A raw TCP client that sends `bytes` (or nothing) and resolves when the sidecar closes the connection. */
function rawAttempt(port: number, bytes: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now()
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      if (bytes.length > 0) socket.write(bytes)
    })
    socket.on('data', () => {})
    socket.on('error', () => {})
    socket.on('close', () => resolve(Date.now() - started))
  })
}

/** A raw TCP client that sends `bytes` and then nothing; `closedAfterMs` resolves when the sidecar closes it. */
function stall(port: number, bytes: Buffer): { socket: net.Socket; closedAfterMs: Promise<number> } {
  const started = Date.now()
  const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(bytes))
  socket.on('data', () => {})
  socket.on('error', () => {})
  return { socket, closedAfterMs: new Promise((resolve) => socket.on('close', () => resolve(Date.now() - started))) }
}

/** kafka_sidecar_connections_refused_total by reason. */
async function refusedBy(registry: Registry): Promise<Record<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'kafka_sidecar_connections_refused_total')
  const values = (metric?.values ?? []) as { labels: { reason?: string }; value: number }[]
  return Object.fromEntries(values.map((v) => [String(v.labels.reason), v.value]))
}

const files = (pem: Pem) => ({ cert: readFileSync(pem.cert), key: readFileSync(pem.key) })
const fingerprint = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256

let dir: string
let ca: TestCa
let other: TestCa
let server: Pem
let spiffeClient: Pem
let cnClient: Pem
let evil: Pem
let expired: Pem
let upstream: net.Server
const upstreamSockets = new Set<net.Socket>()
let upstreamAddress: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ksc-tls-listener-'))
  ca = createCa(join(dir, 'ca'), 'test-ca')
  other = createCa(join(dir, 'other'), 'other-ca')
  server = issue(ca, { cn: 'sidecar', san: ['127.0.0.1', 'localhost'], usage: 'server' })
  spiffeClient = issue(ca, { cn: 'orders', san: ['URI:spiffe://example.org/ns/team-a/sa/orders'] })
  cnClient = issue(ca, { cn: 'reporting' })
  evil = issue(other, { cn: 'mallory' })
  expired = issue(ca, { cn: 'old', expired: true })
  // A broker stand-in: accepts and never answers (the sidecar's own Metadata request just times out).
  upstream = net.createServer((s) => {
    upstreamSockets.add(s.on('error', () => {}).on('close', () => upstreamSockets.delete(s)))
  })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  upstreamAddress = `127.0.0.1:${(upstream.address() as net.AddressInfo).port}`
})
afterAll(async () => {
  for (const s of upstreamSockets) s.destroy()
  await new Promise((r) => upstream?.close(r))
  rmSync(dir, { recursive: true, force: true })
})

// Every test runs with TLS on the main thread (the default) and on its own thread.
for (const thread of ['main', 'worker'] as const) {
  describe(`listen.tls.thread: ${thread}`, () => {
    describe('mTLS listener: principals and rejections', () => {
      let sc: TestSidecar
      let observer: CountingObserver
      let port: number

      beforeAll(async () => {
        observer = countingObserver()
        sc = await startTestSidecar(
          upstreamAddress,
          {
            listen: {
              tls: {
                cert: server.cert,
                key: server.key,
                ca: ca.cert,
                thread,
                handshakeTimeoutMs: 1000,
                principal: { from: ['spiffe', 'cn'], rules: [SPIFFE_RULE] },
              },
            },
          },
          { observer },
        )
        port = Number(sc.bootstrap.split(':')[1])
      })
      afterAll(async () => {
        await sc?.stop()
      })

      it('a SPIFFE certificate gives the mapped principal, a CN-only one the CN: in ConnectionInfo and the open line', async () => {
        const a = await attempt(port, { ca: readFileSync(ca.cert), ...files(spiffeClient) }, 300)
        const b = await attempt(port, { ca: readFileSync(ca.cert), ...files(cnClient) }, 300)
        expect(a.secure && b.secure).toBe(true)
        expect(a.fingerprint256).toBe(fingerprint(server.cert))
        const principals = observer.connections.map((c) => [c.principal, c.tls])
        expect(principals).toEqual([
          ['team-a/orders', true],
          ['reporting', true],
        ])
        const opened = sc.logs.filter((l) => l.msg === 'connection opened').map((l) => l.principal)
        expect(opened).toEqual(['team-a/orders', 'reporting'])
      })

      it('no certificate, another CA, an expired certificate, plaintext, garbage and silence: each refused fast and counted', async () => {
        const caOnly = { ca: readFileSync(ca.cert) }
        const [none, foreign, old, tls12None] = await Promise.all([
          attempt(port, caOnly),
          attempt(port, { ...caOnly, ...files(evil) }),
          attempt(port, { ...caOnly, ...files(expired) }),
          attempt(port, { ...caOnly, maxVersion: 'TLSv1.2' }),
        ])
        const [plain, garbage, silent] = await Promise.all([
          rawAttempt(port, apiVersions),
          rawAttempt(port, Buffer.from('GET / HTTP/1.1\r\n\r\n')),
          rawAttempt(port, Buffer.alloc(0)),
        ])
        // A client without a certificate is told why in the handshake (TLS 1.3 alert 116, certificate_required).
        expect(none.error?.code).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')
        // TLS 1.2 has no certificate_required: handshake_failure (spelled by the test client's OpenSSL; alert-codes.ts).
        expect(tlsAlertCode(tls12None.error?.code)).toBe('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE')
        for (const o of [none, foreign, old, tls12None]) expect(o.closedAfterMs).toBeLessThan(3000)
        expect(plain).toBeLessThan(1000)
        expect(garbage).toBeLessThan(1000)
        expect(silent).toBeGreaterThanOrEqual(900) // the handshake timeout, 1000 ms
        expect(silent).toBeLessThan(5000)

        await sc.sidecar.syncTls() // the TLS thread's reports cross threads: counted once it has synced
        expect(observer.count('KSC_ERR_TLS_NO_CLIENT_CERT')).toBe(2)
        expect(observer.count('KSC_ERR_TLS_UNKNOWN_CA')).toBe(1)
        expect(observer.count('KSC_ERR_TLS_CERT_EXPIRED')).toBe(1)
        expect(observer.count('KSC_ERR_TLS_PLAINTEXT_ON_TLS')).toBe(2)
        expect(observer.count('KSC_ERR_TLS_HANDSHAKE_TIMEOUT')).toBe(1)
        // None of them became a connection; the first of each kind is logged with what to do.
        expect(observer.connections).toHaveLength(2)
        const messages = sc.logs.filter((l) => typeof l.code === 'string').map((l) => `${l.code}: ${l.msg}`)
        expect(messages.join('\n')).toMatch(/KSC_ERR_TLS_PLAINTEXT_ON_TLS: .*plaintext Kafka request to a TLS listener/)
        expect(messages.join('\n')).toMatch(/KSC_ERR_TLS_UNKNOWN_CA: .*does not trust/)
        expect(messages.join('\n')).toMatch(/KSC_ERR_TLS_NO_CLIENT_CERT: .*sent no certificate/)

        // And a good client still gets in.
        const after = await attempt(port, { ...caOnly, ...files(spiffeClient) }, 100)
        expect(after.secure).toBe(true)
        expect(after.error).toBeUndefined()
      })
    })

    describe('TLS listener variants', () => {
      it('optional client certificate: none is accepted without a principal, a bad one is refused', async () => {
        const observer = countingObserver()
        const sc = await startTestSidecar(
          upstreamAddress,
          {
            listen: {
              tls: { cert: server.cert, key: server.key, ca: ca.cert, requireClientCert: false, thread },
            },
          },
          { observer },
        )
        try {
          const port = Number(sc.bootstrap.split(':')[1])
          const none = await attempt(port, { ca: readFileSync(ca.cert) }, 200)
          const foreign = await attempt(port, { ca: readFileSync(ca.cert), ...files(evil) })
          const good = await attempt(port, { ca: readFileSync(ca.cert), ...files(cnClient) }, 200)
          expect(none.secure && good.secure).toBe(true)
          expect(none.error).toBeUndefined()
          expect(foreign.closedAfterMs).toBeLessThan(3000)
          await sc.sidecar.syncTls() // the TLS thread's reports cross threads: counted once it has synced
          expect(observer.connections.map((c) => c.principal)).toEqual([undefined, 'reporting'])
          expect(observer.count('KSC_ERR_TLS_UNKNOWN_CA')).toBe(1)
          // The refused certificate's subject is in the message (optional mode checks it after the handshake).
          expect(sc.logs.some((l) => l.code === 'KSC_ERR_TLS_UNKNOWN_CA' && String(l.msg).includes('CN=mallory'))).toBe(
            true,
          )
        } finally {
          await sc.stop()
        }
      })

      it('server-only TLS (no client CA), and an unreachable broker resets the TLS client at its first request', async () => {
        const dead = net.createServer()
        await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r))
        const deadPort = (dead.address() as net.AddressInfo).port
        await new Promise((r) => dead.close(r))
        const sc = await startTestSidecar(`127.0.0.1:${deadPort}`, {
          listen: { tls: { cert: server.cert, key: server.key, thread } },
        })
        try {
          const port = Number(sc.bootstrap.split(':')[1])
          // The broker is dialled for the first request (a client's ApiVersions), not on accept.
          const apiVersions = encodeRequest(
            { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 3, correlationId: 1, clientId: 'tls-test' },
            { clientSoftwareName: 'test', clientSoftwareVersion: '1' },
          )
          const o = await attempt(port, { ca: readFileSync(ca.cert) }, 0, apiVersions)
          expect(o.secure).toBe(true)
          expect(o.closedAfterMs).toBeLessThan(3000)
          const closed = sc.logs.find((l) => l.msg === 'connection closed')
          expect(String(closed?.reason)).toMatch(/upstream unavailable/)
        } finally {
          await sc.stop()
        }
      })
    })

    describe('certificate rotation without restart', () => {
      it('rename-replace: new connections get the new certificate, open ones keep theirs; a broken file is rejected', async () => {
        const live = join(dir, `live-${thread}`)
        mkdirSync(live, { recursive: true })
        const certFile = join(live, 'server.pem')
        const keyFile = join(live, 'server.key')
        copyFileSync(server.cert, certFile)
        copyFileSync(server.key, keyFile)
        const sc = await startTestSidecar(upstreamAddress, {
          listen: { tls: { cert: certFile, key: keyFile, ca: ca.cert, thread } },
        })
        try {
          const port = Number(sc.bootstrap.split(':')[1])
          const client = { ca: readFileSync(ca.cert), ...files(cnClient) }
          const before = await attempt(port, client, 100)
          expect(before.fingerprint256).toBe(fingerprint(server.cert))
          // A connection that stays open across the rotation.
          const open = tls.connect({ host: '127.0.0.1', port, ...client })
          await new Promise((r) => open.once('secureConnect', r))

          const next = issue(ca, { cn: 'sidecar-rotated', san: ['127.0.0.1'], usage: 'server' })
          // Key first, then certificate, each by rename: the moment in between (new key, old certificate) is rejected
          // or skipped by the debounce; either way the old material serves until both are there.
          writeFileSync(`${keyFile}.tmp`, readFileSync(next.key))
          renameSync(`${keyFile}.tmp`, keyFile)
          writeFileSync(`${certFile}.tmp`, readFileSync(next.cert))
          renameSync(`${certFile}.tmp`, certFile)
          await waitFor(
            'the rotated certificate',
            async () => (await attempt(port, client, 50)).fingerprint256 === fingerprint(next.cert),
            { timeoutMs: 15_000, intervalMs: 100 },
          )
          expect(open.destroyed).toBe(false)
          expect(open.getPeerCertificate().fingerprint256).toBe(fingerprint(server.cert))
          expect(sc.sidecar.status().listenCertificate?.subject).toBe('CN=sidecar-rotated')

          // A certificate whose key is not there (the old key stays): rejected with one line, the current one stays.
          writeFileSync(`${certFile}.tmp`, readFileSync(server.cert))
          renameSync(`${certFile}.tmp`, certFile)
          await waitFor(
            'the rejection line',
            () =>
              sc.logs.some((l) => l.code === 'KSC_ERR_TLS_MATERIAL' && /is not the private key/.test(String(l.msg))),
            { timeoutMs: 15_000 },
          )
          const still = await attempt(port, client, 50)
          expect(still.fingerprint256).toBe(fingerprint(next.cert))
          open.destroy()
        } finally {
          await sc.stop()
        }
      })

      it('a Kubernetes Secret volume (..data symlink swap) rotates the client CA too', async () => {
        const mount = join(dir, `secret-${thread}`)
        const version = (name: string, caPems: readonly string[]) => {
          const d = join(mount, name)
          mkdirSync(d, { recursive: true })
          copyFileSync(server.cert, join(d, 'tls.crt'))
          copyFileSync(server.key, join(d, 'tls.key'))
          writeFileSync(join(d, 'ca.crt'), caPems.map((f) => readFileSync(f, 'utf8')).join(''))
        }
        version('..2026_01', [ca.cert])
        symlinkSync('..2026_01', join(mount, '..data'))
        for (const f of ['tls.crt', 'tls.key', 'ca.crt']) symlinkSync(join('..data', f), join(mount, f))
        const observer = countingObserver()
        const sc = await startTestSidecar(
          upstreamAddress,
          {
            listen: {
              tls: { cert: join(mount, 'tls.crt'), key: join(mount, 'tls.key'), ca: join(mount, 'ca.crt'), thread },
            },
          },
          { observer },
        )
        try {
          const port = Number(sc.bootstrap.split(':')[1])
          const mallory = { ca: readFileSync(ca.cert), ...files(evil) }
          await attempt(port, mallory)
          await sc.sidecar.syncTls() // the TLS thread's reports cross threads: counted once it has synced
          expect(observer.count('KSC_ERR_TLS_UNKNOWN_CA')).toBe(1)
          // The kubelet's atomic writer: a new version directory, then ..data replaced by rename.
          version('..2026_02', [ca.cert, other.cert])
          symlinkSync('..2026_02', join(mount, '..data_tmp'))
          renameSync(join(mount, '..data_tmp'), join(mount, '..data'))
          await waitFor(
            'the other CA trusted',
            async () => (await attempt(port, mallory, 50)).secure && observer.connections.length > 0,
            {
              timeoutMs: 15_000,
              intervalMs: 100,
            },
          )
          expect(observer.connections.at(-1)?.principal).toBe('mallory')
        } finally {
          await sc.stop()
        }
      })
    })

    describe('handshake limits: clients that stall, crowd or flood the handshake (issue 21)', () => {
      let hello: Buffer
      beforeAll(async () => {
        hello = await captureClientHello({ servername: 'localhost' })
      })
      const tlsConfig = (more: Record<string, unknown>) => ({
        listen: { tls: { cert: server.cert, key: server.key, ca: ca.cert, thread, ...more } },
      })

      it('clients that stop mid-handshake (5 bytes, half a ClientHello, all of it) are closed at the timeout and counted', async () => {
        const observer = countingObserver()
        const sc = await startTestSidecar(upstreamAddress, tlsConfig({ handshakeTimeoutMs: 1000 }), { observer })
        try {
          const port = Number(sc.bootstrap.split(':')[1])
          const stalls = [hello.subarray(0, 5), hello.subarray(0, hello.length >> 1), hello].map((b) => stall(port, b))
          // Part of a ClientHello makes no TLS state and takes no turn: those two are still being read.
          await waitFor(
            'the stalled clients in their phases',
            () => {
              const p = sc.sidecar.pendingHandshakes()
              return p.sniffing === 2 && p.handshaking === 1 && p.queued === 0
            },
            { timeoutMs: 800, intervalMs: 20 },
          )
          for (const ms of await Promise.all(stalls.map((s) => s.closedAfterMs))) {
            expect(ms).toBeGreaterThanOrEqual(900)
            expect(ms).toBeLessThan(4000)
          }
          await sc.sidecar.syncTls() // the TLS thread's reports cross threads: counted once it has synced
          expect(observer.count('KSC_ERR_TLS_HANDSHAKE_TIMEOUT')).toBe(3)
          expect(observer.connections).toHaveLength(0)
        } finally {
          await sc.stop()
        }
      })

      it('pending handshakes full: a new connection is refused, and after 1 s the oldest stalled one makes room', async () => {
        const observer = countingObserver()
        const registry = new Registry()
        const sc = await startTestSidecar(
          upstreamAddress,
          tlsConfig({ handshakeTimeoutMs: 5000, maxPendingHandshakes: 3, maxHandshakesPerSecond: 0 }),
          { observer, metricsRegistry: registry },
        )
        const port = Number(sc.bootstrap.split(':')[1])
        const client = { ca: readFileSync(ca.cert), ...files(cnClient) }
        const stalls: ReturnType<typeof stall>[] = []
        try {
          for (let i = 0; i < 3; i++) {
            stalls.push(stall(port, hello))
            await waitFor(`${i + 1} stalled handshakes`, () => sc.sidecar.pendingHandshakes().handshaking === i + 1, {
              timeoutMs: 5000,
              intervalMs: 20,
            })
          }
          const crowded = await attempt(port, client)
          expect(crowded.secure).toBe(false)
          expect(crowded.closedAfterMs).toBeLessThan(1000)
          await sc.sidecar.syncTls() // the TLS thread's reports cross threads: counted once it has synced
          expect(await refusedBy(registry)).toEqual({ tls_handshakes_full: 1 })

          // Once the first stalled client has waited 1 s, a new one takes its place.
          await new Promise((r) => setTimeout(r, 1100))
          const admitted = await attempt(port, client, 100)
          expect(admitted.secure).toBe(true)
          expect(admitted.error).toBeUndefined()
          const first = await stalls[0]!.closedAfterMs
          expect(first).toBeGreaterThanOrEqual(1000)
          expect(first).toBeLessThan(5000)
          expect(stalls.slice(1).every((s) => !s.socket.destroyed)).toBe(true)
          await sc.sidecar.syncTls() // the TLS thread's reports cross threads: counted once it has synced
          expect(await refusedBy(registry)).toEqual({ tls_handshakes_full: 1, tls_handshake_evicted: 1 })
          // Refusals, not handshake failures of the clients.
          expect(observer.count('KSC_ERR_TLS_HANDSHAKE')).toBe(0)
          expect(observer.count('KSC_ERR_TLS_HANDSHAKE_TIMEOUT')).toBe(0)
          const logged = sc.logs.filter((l) => typeof l.code === 'string').map((l) => `${l.code}: ${l.msg}`)
          expect(logged.join('\n')).toMatch(/KSC_ERR_TLS_HANDSHAKES_FULL: .*3 TLS handshakes are in progress/)
          expect(logged.join('\n')).toMatch(
            /KSC_ERR_TLS_HANDSHAKE_EVICTED: .*client .* had not finished its TLS handshake/,
          )
        } finally {
          for (const s of stalls) s.socket.destroy()
          await sc.stop()
        }
      })

      it('handshakes over maxHandshakesPerSecond wait their turn, up to a second of them; the rest are refused and counted', async () => {
        const registry = new Registry()
        const sc = await startTestSidecar(upstreamAddress, tlsConfig({ maxHandshakesPerSecond: 2 }), {
          metricsRegistry: registry,
        })
        try {
          const port = Number(sc.bootstrap.split(':')[1])
          // One context for all: the eight ClientHellos leave at once.
          const secureContext = tls.createSecureContext({ ca: readFileSync(ca.cert), ...files(cnClient) })
          const outcomes = await Promise.all(Array.from({ length: 8 }, () => attempt(port, { secureContext }, 50)))
          const secured = outcomes.filter((o) => o.secure)
          const refused = outcomes.length - secured.length
          // Two at once (a second's burst) and at least one queued; at most two can wait, so some are refused.
          expect(secured.length).toBeGreaterThan(2)
          expect(refused).toBeGreaterThanOrEqual(1)
          await sc.sidecar.syncTls() // the TLS thread's reports cross threads: counted once it has synced
          expect(await refusedBy(registry)).toEqual({ tls_handshake_rate: refused })
          // k handshakes at 2 a second after a burst of 2 take at least (k - 2) / 2 s.
          const last = Math.max(...secured.map((o) => o.securedAfterMs))
          expect(last).toBeGreaterThanOrEqual((secured.length - 2) * 500 - 100)
          expect(sc.logs.some((l) => l.code === 'KSC_ERR_TLS_HANDSHAKE_RATE')).toBe(true)
        } finally {
          await sc.stop()
        }
      })

      it('while a second of handshakes waits its turn, new connections are closed as they are accepted, counted, and taken in again once there is room', async () => {
        const registry = new Registry()
        const sc = await startTestSidecar(upstreamAddress, tlsConfig({ maxHandshakesPerSecond: 1 }), {
          metricsRegistry: registry,
        })
        const stalls: ReturnType<typeof stall>[] = []
        try {
          const port = Number(sc.bootstrap.split(':')[1])
          // The first whole ClientHello takes the second's one turn, the next fills the queue (one second's worth: 1).
          stalls.push(stall(port, hello))
          await waitFor('one handshake started', () => sc.sidecar.pendingHandshakes().handshaking === 1, {
            timeoutMs: 5000,
            intervalMs: 10,
          })
          stalls.push(stall(port, hello))
          await waitFor('one handshake queued', () => sc.sidecar.pendingHandshakes().queued === 1, {
            timeoutMs: 5000,
            intervalMs: 10,
          })
          // A connection that sends nothing would be read (sniffing) until the handshake timeout; now it is closed at
          // accept, before the sidecar has made a socket of it: it never shows as pending.
          const silent = stall(port, Buffer.alloc(0))
          expect(await silent.closedAfterMs).toBeLessThan(1000)
          await sc.sidecar.syncTls() // the TLS thread's reports cross threads: counted once it has synced
          expect(sc.sidecar.pendingHandshakes()).toEqual({ sniffing: 0, queued: 1, handshaking: 1 })
          expect(await refusedBy(registry)).toEqual({ tls_handshake_rate: 1 })
          expect(sc.logs.filter((l) => l.code === 'KSC_ERR_TLS_HANDSHAKE_RATE')).toHaveLength(1)
          expect(sc.logs.find((l) => l.code === 'KSC_ERR_TLS_HANDSHAKE_RATE')?.msg).toMatch(
            /client 127\.0\.0\.1:\d+ was refused/,
          )

          // The next turn starts the queued handshake: the queue has room, and connections are read again.
          await waitFor('the queued handshake started', () => sc.sidecar.pendingHandshakes().handshaking === 2, {
            timeoutMs: 3000,
            intervalMs: 20,
          })
          const next = stall(port, Buffer.alloc(0))
          stalls.push(next)
          await waitFor('the next connection read', () => sc.sidecar.pendingHandshakes().sniffing === 1, {
            timeoutMs: 2000,
            intervalMs: 10,
          })
          expect(next.socket.destroyed).toBe(false)
          await sc.sidecar.syncTls() // the TLS thread's reports cross threads: counted once it has synced
          expect(await refusedBy(registry)).toEqual({ tls_handshake_rate: 1 })
        } finally {
          for (const s of stalls) s.socket.destroy()
          await sc.stop()
        }
      })
    })
  })
}
