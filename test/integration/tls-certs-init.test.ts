import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { runCertsInit } from '../../src/commands/certs.js'
import { createTopic, getCluster, runKafkaTool, runKcat, uniqueTopicName } from '../harness/index.js'
import { type CountingObserver, countingObserver } from '../support/counting-observer.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * What `kafka-sidecar certs init` writes is used as it is: the sidecar takes its listen.tls snippet, kcat the
 * PEM files, the Java tools the generated properties file (PEM keystore and truststore).
 */
describe('certs init output with kcat and the Java client', () => {
  const cluster = getCluster('single')
  let dir: string
  let sc: TestSidecar
  let observer: CountingObserver

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ksc-certs-it-'))
    const r = runCertsInit({
      dir,
      clients: ['orders:spiffe://example.org/ns/shop/sa/orders', 'reporting'],
      hosts: [],
      days: 2,
      force: false,
    })
    expect(r.exitCode, r.stderr).toBe(0)
    // The snippet's listen.tls, with its paths made absolute as the loader would (relative to the snippet).
    const snippet = parse(readFileSync(join(dir, 'sidecar-tls.yaml'), 'utf8')) as {
      listen: { tls: Record<string, unknown> }
    }
    const tls = { ...snippet.listen.tls }
    for (const k of ['cert', 'key', 'ca']) tls[k] = join(dir, String(tls[k]))
    observer = countingObserver()
    sc = await startTestSidecar(cluster.bootstrapServers, { listen: { tls } }, { observer })
  })
  afterAll(async () => {
    await sc?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('kcat with client-orders.pem/.key produces and consumes as principal shop/orders', async () => {
    const tlsArgs = [
      ...['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${join(dir, 'ca.pem')}`],
      ...['-X', `ssl.certificate.location=${join(dir, 'client-orders.pem')}`],
      ...['-X', `ssl.key.location=${join(dir, 'client-orders.key')}`],
    ]
    const topic = uniqueTopicName('certs-init-kcat')
    const lines = Array.from({ length: 10 }, (_, i) => `ci-${i}-${randomBytes(3).toString('hex')}`)
    const produced = await runKcat(['-b', sc.bootstrap, ...tlsArgs, '-t', topic, '-P'], {
      input: `${lines.join('\n')}\n`,
    })
    expect(produced.code, produced.stderr).toBe(0)
    const consumed = await runKcat(['-b', sc.bootstrap, ...tlsArgs, '-t', topic, '-C', '-o', 'beginning', '-e', '-q'])
    expect(consumed.stdout.split('\n').filter(Boolean)).toEqual(lines)
    expect(observer.connections.map((c) => c.principal)).toContain('shop/orders')
  })

  it('the Java console producer and consumer with client-reporting.properties as written, principal reporting', async () => {
    const topic = uniqueTopicName('certs-init-java')
    await createTopic(cluster.description, topic, { partitions: 1 })
    const props = join(dir, 'client-reporting.properties')
    const lines = Array.from({ length: 10 }, (_, i) => `java-${i}-${randomBytes(3).toString('hex')}`)
    const produced = await runKafkaTool(
      cluster.description,
      'console-producer',
      ['--bootstrap-server', sc.bootstrap, '--topic', topic, '--command-config', props],
      { input: `${lines.join('\n')}\n`, timeoutMs: 90_000 },
    )
    expect(produced.code, produced.stderr).toBe(0)
    const consumed = await runKafkaTool(
      cluster.description,
      'console-consumer',
      [
        ...['--bootstrap-server', sc.bootstrap, '--topic', topic, '--command-config', props],
        ...['--from-beginning', '--max-messages', String(lines.length), '--timeout-ms', '60000'],
      ],
      { timeoutMs: 90_000 },
    )
    expect(consumed.code, consumed.stderr).toBe(0)
    expect(consumed.stdout.split('\n').filter(Boolean)).toEqual(lines)
    expect(observer.connections.map((c) => c.principal)).toContain('reporting')
    expect([...observer.errors.keys()]).toEqual([])
  })
})
