import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { Kafka, logLevel } from 'kafkajs'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSidecarProcess } from '../../src/commands/run.js'
import { loadConfig } from '../../src/config/index.js'
import { createTopic, getCluster, runKafkaTool, runKcat, uniqueTopicName, waitFor } from '../harness/index.js'
import { type CountingObserver, countingObserver } from '../support/counting-observer.js'
import { createCa, issue, type Pem, pemKeystore, type TestCa } from '../support/openssl-pki.js'
import { metricValue } from '../support/prometheus-text.js'
import { freePortBase, startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * Real clients over mTLS to the sidecar, with certificates from openssl (not from our own tooling): kcat
 * (librdkafka/OpenSSL), Kafka's Java console tools (JSSE, PEM key/trust stores) and kafkajs (Node). The broker
 * behind is the shared plaintext single-node cluster.
 */

const SPIFFE_RULE = { match: '^spiffe://[^/]+/ns/([^/]+)/sa/([^/]+)$', replace: '$1/$2' }

function kcatTls(ca: string, client?: Pem): string[] {
  return [
    ...['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${ca}`],
    ...(client ? ['-X', `ssl.certificate.location=${client.cert}`, '-X', `ssl.key.location=${client.key}`] : []),
  ]
}

// Real clients through TLS on the main thread (the default) and on the TLS thread.
for (const thread of ['main', 'worker'] as const) {
  describe(`mTLS clients through the sidecar (openssl-issued certificates), listen.tls.thread: ${thread}`, () => {
    const cluster = getCluster('single')
    const jars = cluster.description
    let dir: string
    let ca: TestCa
    let other: TestCa
    let server: Pem
    let kcatClient: Pem
    let javaClient: Pem
    let kafkajsClient: Pem
    let evil: Pem
    let expired: Pem
    let observer: CountingObserver
    let sc: TestSidecar
    let certFile: string
    let keyFile: string

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ksc-tls-clients-'))
      ca = createCa(join(dir, 'ca'), 'clients-ca')
      other = createCa(join(dir, 'other'), 'other-ca')
      server = issue(ca, { cn: 'sidecar', san: ['127.0.0.1', 'localhost'], usage: 'server' })
      kcatClient = issue(ca, { cn: 'kcat-client', san: ['URI:spiffe://example.org/ns/team-a/sa/kcat'] })
      javaClient = issue(ca, { cn: 'java-client' })
      kafkajsClient = issue(ca, { cn: 'kafkajs-client', san: ['URI:spiffe://example.org/ns/team-b/sa/producer'] })
      evil = issue(other, { cn: 'mallory' })
      expired = issue(ca, { cn: 'old-client', expired: true })
      // The sidecar reads its certificate from files of its own, which the rotation test replaces.
      certFile = join(dir, 'server.pem')
      keyFile = join(dir, 'server.key')
      writeFileSync(certFile, readFileSync(server.cert))
      writeFileSync(keyFile, readFileSync(server.key))
      observer = countingObserver()
      sc = await startTestSidecar(
        cluster.bootstrapServers,
        {
          listen: {
            tls: {
              cert: certFile,
              key: keyFile,
              ca: ca.cert,
              thread,
              principal: { from: ['spiffe', 'cn'], rules: [SPIFFE_RULE] },
            },
          },
        },
        { observer },
      )
    })
    afterAll(async () => {
      await sc?.stop()
      rmSync(dir, { recursive: true, force: true })
    })

    const principalsOpened = () => new Set(observer.connections.map((c) => c.principal))
    const openLines = () => sc.logs.filter((l) => l.msg === 'connection opened')

    it('kcat produces and consumes over mTLS; its SPIFFE principal is in the open line and in ConnectionInfo', async () => {
      const topic = uniqueTopicName('tls-kcat')
      const lines = Array.from({ length: 50 }, (_, i) => `kcat-${i}-${randomBytes(3).toString('hex')}`)
      const tlsArgs = kcatTls(ca.cert, kcatClient)
      const produced = await runKcat(['-b', sc.bootstrap, ...tlsArgs, '-t', topic, '-P'], {
        input: `${lines.join('\n')}\n`,
      })
      expect(produced.code, produced.stderr).toBe(0)
      const consumed = await runKcat(['-b', sc.bootstrap, ...tlsArgs, '-t', topic, '-C', '-o', 'beginning', '-e', '-q'])
      expect(consumed.code, consumed.stderr).toBe(0)
      expect(consumed.stdout.split('\n').filter(Boolean)).toEqual(lines)
      expect(principalsOpened()).toContain('team-a/kcat')
      expect(openLines().some((l) => l.principal === 'team-a/kcat' && l.tls === true)).toBe(true)
      // Every connection kcat made (bootstrap and the broker's own listener) came through TLS with its principal.
      expect(observer.connections.every((c) => c.tls && c.principal === 'team-a/kcat')).toBe(true)
    })

    it('the Java console producer and consumer over mTLS (PEM trust and key stores); principal from the CN', async () => {
      const topic = uniqueTopicName('tls-java')
      await createTopic(cluster.description, topic, { partitions: 1 })
      const props = join(dir, 'java-client.properties')
      writeFileSync(
        props,
        [
          'security.protocol=SSL',
          'ssl.truststore.type=PEM',
          `ssl.truststore.location=${ca.cert}`,
          'ssl.keystore.type=PEM',
          `ssl.keystore.location=${pemKeystore(javaClient, join(dir, 'java-client.keystore.pem'))}`,
          '',
        ].join('\n'),
      )
      const lines = Array.from({ length: 30 }, (_, i) => `java-${i}-${randomBytes(3).toString('hex')}`)
      const produced = await runKafkaTool(
        jars,
        'console-producer',
        ['--bootstrap-server', sc.bootstrap, '--topic', topic, '--command-config', props],
        { input: `${lines.join('\n')}\n`, timeoutMs: 90_000 },
      )
      expect(produced.code, produced.stderr).toBe(0)
      const consumed = await runKafkaTool(
        jars,
        'console-consumer',
        [
          ...['--bootstrap-server', sc.bootstrap, '--topic', topic, '--command-config', props],
          ...['--from-beginning', '--max-messages', String(lines.length), '--timeout-ms', '60000'],
        ],
        { timeoutMs: 90_000 },
      )
      expect(consumed.code, consumed.stderr).toBe(0)
      expect(consumed.stdout.split('\n').filter(Boolean)).toEqual(lines)
      expect(principalsOpened()).toContain('java-client')
      const java = sc.logs.filter((l) => l.msg === 'connection closed' && l.principal === 'java-client')
      expect(java.some((l) => String(l.clientSoftware).startsWith('apache-kafka-java/'))).toBe(true)
    })

    it('no certificate, another CA, an expired certificate and a plaintext client are refused and counted; a good client keeps working', async () => {
      const topic = uniqueTopicName('tls-good')
      await createTopic(cluster.description, topic, { partitions: 1 })
      const kafka = new Kafka({
        clientId: 'good-client',
        brokers: [sc.bootstrap],
        ssl: {
          ca: [readFileSync(ca.cert, 'utf8')],
          cert: readFileSync(kafkajsClient.cert, 'utf8'),
          key: readFileSync(kafkajsClient.key, 'utf8'),
        },
        logLevel: logLevel.NOTHING,
      })
      const producer = kafka.producer()
      await producer.connect()
      let sent = 0
      let stop = false
      const working = (async () => {
        while (!stop) {
          await producer.send({ topic, acks: -1, messages: [{ value: `good-${sent}` }] })
          sent++
        }
      })()

      const before = sent
      const metadata = ['-L', '-m', '4']
      const [noCert, foreign, old, plain] = await Promise.all([
        runKcat(['-b', sc.bootstrap, ...kcatTls(ca.cert), ...metadata]),
        runKcat(['-b', sc.bootstrap, ...kcatTls(ca.cert, evil), ...metadata]),
        runKcat(['-b', sc.bootstrap, ...kcatTls(ca.cert, expired), ...metadata]),
        runKcat(['-b', sc.bootstrap, ...metadata]),
      ])
      stop = true
      await working
      await producer.disconnect()

      for (const r of [noCert, foreign, old, plain]) expect(r.code).not.toBe(0)
      // librdkafka reports the alert the sidecar sent for the missing certificate.
      expect(noCert.stderr).toMatch(/certificate required|alert number 116|handshake failure/i)
      await sc.sidecar.syncTls() // with the TLS thread, its reports cross threads
      expect(observer.count('KSC_ERR_TLS_NO_CLIENT_CERT')).toBeGreaterThanOrEqual(1)
      expect(observer.count('KSC_ERR_TLS_UNKNOWN_CA')).toBeGreaterThanOrEqual(1)
      expect(observer.count('KSC_ERR_TLS_CERT_EXPIRED')).toBeGreaterThanOrEqual(1)
      expect(observer.count('KSC_ERR_TLS_PLAINTEXT_ON_TLS')).toBeGreaterThanOrEqual(1)
      // None of the refused clients got a connection with a principal of its own.
      expect(principalsOpened()).not.toContain('mallory')
      expect(principalsOpened()).not.toContain('old-client')
      expect(principalsOpened()).toContain('team-b/producer')
      const codes = sc.logs.map((l) => l.code)
      for (const code of ['KSC_ERR_TLS_NO_CLIENT_CERT', 'KSC_ERR_TLS_UNKNOWN_CA', 'KSC_ERR_TLS_CERT_EXPIRED']) {
        expect(codes).toContain(code)
      }

      // The good client produced throughout, and every acknowledged record is there.
      expect(sent - before).toBeGreaterThan(5)
      const consumed = await runKcat(
        ['-b', sc.bootstrap, ...kcatTls(ca.cert, kcatClient), '-t', topic, '-C', '-o', 'beginning', '-e', '-q'],
        { timeoutMs: 60_000 },
      )
      expect(consumed.stdout.split('\n').filter(Boolean)).toHaveLength(sent)
    })

    it('rotation: after the server certificate is replaced on disk, a new connection sees it; an open one keeps working', async () => {
      // The new certificate comes from another CA, so a client that trusts only that CA can connect only once
      // the sidecar serves it; the client certificates stay those of the first CA.
      const next = issue(other, { cn: 'sidecar-rotated', san: ['127.0.0.1', 'localhost'], usage: 'server' })
      const onlyNew = ['-b', sc.bootstrap, ...kcatTls(other.cert, kcatClient), '-L', '-m', '4']
      expect((await runKcat(onlyNew)).code).not.toBe(0)

      const topic = uniqueTopicName('tls-rotation')
      await createTopic(cluster.description, topic, { partitions: 1 })
      const kafka = new Kafka({
        clientId: 'open-across-rotation',
        brokers: [sc.bootstrap],
        ssl: {
          ca: [readFileSync(ca.cert, 'utf8')], // trusts only the old certificate's CA
          cert: readFileSync(kafkajsClient.cert, 'utf8'),
          key: readFileSync(kafkajsClient.key, 'utf8'),
        },
        logLevel: logLevel.NOTHING,
      })
      const producer = kafka.producer()
      await producer.connect()
      await producer.send({ topic, messages: [{ value: 'before' }] })

      writeFileSync(`${keyFile}.new`, readFileSync(next.key))
      writeFileSync(`${certFile}.new`, readFileSync(next.cert))
      renameSync(`${keyFile}.new`, keyFile)
      renameSync(`${certFile}.new`, certFile)
      await waitFor(
        'the sidecar to serve the new certificate',
        () => sc.sidecar.status().listenCertificate?.subject === 'CN=sidecar-rotated',
        { timeoutMs: 15_000 },
      )

      const after = await runKcat(onlyNew)
      expect(after.code, after.stderr).toBe(0)
      // The connection opened before the rotation (old certificate, old CA) still produces.
      await producer.send({ topic, messages: [{ value: 'after' }] })
      await producer.disconnect()
      const consumed = await runKcat([
        ...['-b', sc.bootstrap, ...kcatTls(other.cert, kcatClient)],
        ...['-t', topic, '-C', '-o', 'beginning', '-e', '-q'],
      ])
      expect(consumed.stdout.split('\n').filter(Boolean)).toEqual(['before', 'after'])
      expect(sc.logs.some((l) => String(l.msg).startsWith('listen.tls: certificate files reloaded'))).toBe(true)
    })
  })
}

describe('a TLS client on the plaintext listener is counted', () => {
  const cluster = getCluster('single')
  let sc: TestSidecar
  const observer = countingObserver()
  beforeAll(async () => {
    sc = await startTestSidecar(cluster.bootstrapServers, {}, { observer })
  })
  afterAll(async () => {
    await sc?.stop()
  })

  it('KSC_ERR_TLS_ON_PLAINTEXT reaches the ConnectionObserver', async () => {
    const started = Date.now()
    const r = await runKcat([
      ...['-b', sc.bootstrap, '-X', 'security.protocol=SSL', '-X', 'enable.ssl.certificate.verification=false'],
      ...['-L', '-m', '3'],
    ])
    expect(r.code).not.toBe(0)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(observer.count('KSC_ERR_TLS_ON_PLAINTEXT')).toBeGreaterThanOrEqual(1)
  })
})

describe('the sidecar process: the principal is a statistics label, rejections are Prometheus counters', () => {
  const cluster = getCluster('single')

  it('/metrics carries principal="team-a/kcat" and kafka_sidecar_errors_total for each refusal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksc-tls-metrics-'))
    const ca = createCa(join(dir, 'ca'), 'metrics-ca')
    const server = issue(ca, { cn: 'sidecar', san: ['127.0.0.1'], usage: 'server' })
    const kcatClient = issue(ca, { cn: 'kcat-client', san: ['URI:spiffe://example.org/ns/team-a/sa/kcat'] })
    const base = await freePortBase(12)
    const file = join(dir, 'sidecar.yaml')
    writeFileSync(
      file,
      [
        'listen:',
        `  host: 127.0.0.1`,
        `  port: ${base}`,
        '  tls:',
        `    cert: ${server.cert}`,
        `    key: ${server.key}`,
        `    ca: ${ca.cert}`,
        `    principal: { rules: [{ match: '${SPIFFE_RULE.match}', replace: '${SPIFFE_RULE.replace}' }] }`,
        `brokers: { host: 127.0.0.1, advertisedHost: 127.0.0.1, portBase: ${base} }`,
        `admin: { host: 127.0.0.1, port: ${base + 11} }`,
        `upstream: { bootstrap: [${cluster.bootstrapServers}] }`,
        '',
      ].join('\n'),
    )
    const config = loadConfig({ file, env: {} })
    const log = pino({ level: 'warn' }, new Writable({ write: (_c, _e, done) => done() }))
    const running = await startSidecarProcess({ file, env: {} }, log, config, false)
    try {
      const bootstrap = `127.0.0.1:${base}`
      const ok = await runKcat(['-b', bootstrap, ...kcatTls(ca.cert, kcatClient), '-L', '-m', '10'])
      expect(ok.code, ok.stderr).toBe(0)
      const refused = await runKcat(['-b', bootstrap, ...kcatTls(ca.cert), '-L', '-m', '3'])
      expect(refused.code).not.toBe(0)
      const text = await (await fetch(`http://127.0.0.1:${base + 11}/metrics`)).text()
      expect(
        metricValue(text, 'kafka_sidecar_client_connections_total', { principal: 'team-a/kcat' }),
      ).toBeGreaterThanOrEqual(1)
      expect(
        metricValue(text, 'kafka_sidecar_errors_total', { code: 'KSC_ERR_TLS_NO_CLIENT_CERT' }),
      ).toBeGreaterThanOrEqual(1)
    } finally {
      await running.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
