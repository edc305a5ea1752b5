import { randomBytes } from 'node:crypto'
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSidecarProcess } from '../../src/commands/run.js'
import { loadConfig } from '../../src/config/index.js'
import { KafkaCluster, runKcat, uniqueTopicName, waitFor } from '../harness/index.js'
import { countingObserver } from '../support/counting-observer.js'
import { createCa, issue, type Pem, type TestCa } from '../support/openssl-pki.js'
import { freePortBase, startTestSidecar } from '../support/test-sidecar.js'

/**
 * TLS towards the brokers: a broker of its own with an SSL listener that requires a client certificate, all
 * certificates from one openssl test CA (the sidecar's client-facing one included). The shared clusters' SSL
 * listeners only request a certificate; this one requires it, so the sidecar's client certificate is proven used.
 */

interface Readyz {
  status: number
  body: { status: string; reason?: string }
}

async function readyz(port: number): Promise<Readyz> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`)
  return { status: res.status, body: (await res.json()) as Readyz['body'] }
}

function quietLog(): pino.Logger {
  return pino({ level: 'warn' }, new Writable({ write: (_c, _e, done) => done() }))
}

describe('upstream TLS: a broker whose SSL listener requires a client certificate', () => {
  let dir: string
  let ca: TestCa
  let other: TestCa
  let broker: Pem
  let sidecarUpstream: Pem
  let sidecarServer: Pem
  let client: Pem
  let cluster: KafkaCluster
  let sslBootstrap: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ksc-tls-upstream-'))
    ca = createCa(join(dir, 'ca'), 'test-ca')
    other = createCa(join(dir, 'other'), 'other-ca')
    // The harness advertises 127.0.0.2; verification of the broker's name is on, so the SAN must carry it.
    broker = issue(ca, { cn: 'broker', san: ['127.0.0.2', '127.0.0.1', 'localhost'], usage: 'both' })
    sidecarUpstream = issue(ca, { cn: 'kafka-sidecar', usage: 'client' })
    sidecarServer = issue(ca, { cn: 'sidecar', san: ['127.0.0.1'], usage: 'server' })
    client = issue(ca, { cn: 'app', san: ['URI:spiffe://example.org/ns/shop/sa/app'] })
    cluster = await KafkaCluster.start({
      name: 'tls-upstream',
      nodes: 1,
      listeners: { ssl: { certFile: broker.cert, keyFile: broker.key, caFile: ca.cert, clientAuth: 'required' } },
    })
    sslBootstrap = cluster.describe().listeners.ssl!
  })
  afterAll(async () => {
    await cluster?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('kcat over mTLS to the sidecar, the sidecar over mTLS to the broker: produce and consume, principal kept', async () => {
    const observer = countingObserver()
    const sc = await startTestSidecar(
      sslBootstrap,
      {
        listen: { tls: { cert: sidecarServer.cert, key: sidecarServer.key, ca: ca.cert } },
        upstream: {
          bootstrap: [sslBootstrap],
          tls: { ca: ca.cert, cert: sidecarUpstream.cert, key: sidecarUpstream.key },
        },
      },
      { observer },
    )
    try {
      const tlsArgs = [
        ...['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${ca.cert}`],
        ...['-X', `ssl.certificate.location=${client.cert}`, '-X', `ssl.key.location=${client.key}`],
      ]
      const topic = uniqueTopicName('tls-upstream')
      const lines = Array.from({ length: 20 }, (_, i) => `up-${i}-${randomBytes(3).toString('hex')}`)
      const produced = await runKcat(['-b', sc.bootstrap, ...tlsArgs, '-t', topic, '-P'], {
        input: `${lines.join('\n')}\n`,
      })
      expect(produced.code, produced.stderr).toBe(0)
      const consumed = await runKcat(['-b', sc.bootstrap, ...tlsArgs, '-t', topic, '-C', '-o', 'beginning', '-e', '-q'])
      expect(consumed.stdout.split('\n').filter(Boolean)).toEqual(lines)
      expect(sc.sidecar.status().upstreamReachable).toBe(true)
      expect(observer.connections.map((c) => c.principal)).toContain('spiffe://example.org/ns/shop/sa/app')
      expect([...observer.errors.keys()]).toEqual([])
    } finally {
      await sc.stop()
    }
  })

  it('/readyz says why: an untrusted broker certificate, a missing client certificate, a wrong server name', async () => {
    const base = await freePortBase(12)
    const wrongCaFile = join(dir, 'upstream-ca.pem')
    copyFileSync(other.cert, wrongCaFile)
    const file = join(dir, 'sidecar.yaml')
    const write = (n: number, upstreamTls: string) => {
      writeFileSync(
        file,
        [
          `listen: { host: 127.0.0.1, port: ${base + n} }`,
          `brokers: { host: 127.0.0.1, advertisedHost: 127.0.0.1, portBase: ${base + 20 * (n + 1)} }`,
          `admin: { host: 127.0.0.1, port: ${base + 200 + n} }`,
          `upstream: { bootstrap: [${sslBootstrap}], tls: ${upstreamTls} }`,
          'log: { level: warn }',
          '',
        ].join('\n'),
      )
      return loadConfig({ file, env: {} })
    }
    const cases = [
      {
        tls: `{ ca: ${wrongCaFile}, cert: ${sidecarUpstream.cert}, key: ${sidecarUpstream.key} }`,
        reason: new RegExp(
          `the broker certificate is not trusted \\(\\w+\\): upstream\\.tls\\.ca \\(${wrongCaFile}\\) does not hold the CA that issued it`,
        ),
      },
      {
        tls: `{ ca: ${ca.cert} }`,
        reason:
          /the broker refused the handshake \(ERR_SSL_\w+\): it requires a client certificate; set upstream\.tls\.cert/,
      },
      {
        tls: `{ ca: ${ca.cert}, cert: ${sidecarUpstream.cert}, key: ${sidecarUpstream.key}, servername: kafka.example }`,
        reason: /the broker certificate does not name this host .*set upstream\.tls\.servername/,
      },
    ]
    for (const [n, c] of cases.entries()) {
      const config = write(n, c.tls)
      const running = await startSidecarProcess({ file, env: {} }, quietLog(), config, false)
      try {
        const r = await readyz(config.admin.port)
        expect(r.status, JSON.stringify(r.body)).toBe(503)
        expect(r.body.reason).toMatch(/^no upstream broker reachable: cannot connect to broker 127\.0\.0\.2:\d+: /)
        expect(r.body.reason).toMatch(c.reason)
      } finally {
        await running.stop()
      }
    }

    // The CA file is watched: put the right CA in it and the same sidecar becomes ready, no restart.
    const config = write(0, `{ ca: ${wrongCaFile}, cert: ${sidecarUpstream.cert}, key: ${sidecarUpstream.key} }`)
    const running = await startSidecarProcess({ file, env: {} }, quietLog(), config, false)
    try {
      expect((await readyz(config.admin.port)).status).toBe(503)
      copyFileSync(ca.cert, `${wrongCaFile}.new`)
      renameSync(`${wrongCaFile}.new`, wrongCaFile)
      await waitFor('ready after the CA file changed', async () => (await readyz(config.admin.port)).status === 200, {
        timeoutMs: 20_000,
        intervalMs: 250,
      })
    } finally {
      await running.stop()
    }
  })
})
