import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FILTER_PLUGINS } from '../../src/filter-plugins.js'
import { createTopic, getCluster, runKcat, uniqueTopicName, waitFor } from '../harness/index.js'
import { appendRate, TOPIC_APPEND_TIME } from '../support/append-rate.js'
import { createCa, issue, type Pem, type TestCa } from '../support/openssl-pki.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * Quotas by mTLS principal, which Kafka's own quotas cannot see behind a mesh: every client id of a principal spends
 * one budget (kcat over mTLS with certificates from openssl), another principal has its own, and a connection limit
 * on a principal refuses the connection at admission, before a byte is read.
 */

const MiB = 1_048_576
const RECORD = 1024

describe('rate-limit by mTLS principal', () => {
  const cluster = getCluster('single')
  let dir: string
  let ca: TestCa
  let orders: Pem
  let reporting: Pem
  let batch: Pem
  let sc: TestSidecar

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ksc-rl-tls-'))
    ca = createCa(join(dir, 'ca'), 'rl-ca')
    const server = issue(ca, { cn: 'sidecar', san: ['127.0.0.1', 'localhost'], usage: 'server' })
    orders = issue(ca, { cn: 'orders' })
    reporting = issue(ca, { cn: 'reporting' })
    batch = issue(ca, { cn: 'batch' })
    sc = await startTestSidecar(
      cluster.bootstrapServers,
      {
        listen: { tls: { cert: server.cert, key: server.key, ca: ca.cert, principal: { from: ['cn'] } } },
        filters: [
          {
            name: 'rate-limit',
            config: {
              rules: [
                { match: { principal: 'batch' }, limits: { maxConnections: 2 } },
                {
                  match: { principal: { regex: '^(orders|reporting)$' } },
                  burstSeconds: 0.2,
                  limits: { produceBytesPerSecond: MiB },
                },
              ],
            },
          },
        ],
      },
      { plugins: FILTER_PLUGINS },
    )
  })
  afterAll(async () => {
    await sc?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const kcat = async (client: Pem, clientId: string, topic: string, input: string) => {
    const started = performance.now()
    const r = await runKcat(
      [
        '-P',
        '-b',
        sc.bootstrap,
        '-t',
        topic,
        ...['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${ca.cert}`],
        ...['-X', `ssl.certificate.location=${client.cert}`, '-X', `ssl.key.location=${client.key}`],
        ...['-X', `client.id=${clientId}`, '-X', 'linger.ms=5'],
      ],
      { input, timeoutMs: 90_000 },
    )
    return { ...r, seconds: (performance.now() - started) / 1000 }
  }

  it('two client ids of one principal share its budget; another principal has its own', async () => {
    // One topic per principal, so each one's rate is read back on its own.
    const shared = uniqueTopicName('rl-tls-orders')
    const own = uniqueTopicName('rl-tls-reporting')
    for (const topic of [shared, own])
      await createTopic(cluster.description, topic, { partitions: 2, configs: TOPIC_APPEND_TIME })
    const half = `${'o'.repeat(RECORD - 1)}\n`.repeat(5 * 1024)
    const whole = `${'r'.repeat(RECORD - 1)}\n`.repeat(10 * 1024)
    const runs = await Promise.all([
      kcat(orders, 'orders-web', shared, half),
      kcat(orders, 'orders-worker', shared, half),
      kcat(reporting, 'reporting-job', own, whole),
    ])
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).not.toMatch(/ERROR|fail/i)
    }
    const ordersRate = await appendRate(cluster.bootstrapServers, shared, RECORD)
    const reportingRate = await appendRate(cluster.bootstrapServers, own, RECORD)
    expect(ordersRate.records).toBe(10 * 1024)
    expect(reportingRate.records).toBe(10 * 1024)
    const together = ordersRate.bytesPerSecond / MiB
    const alone = reportingRate.bytesPerSecond / MiB
    console.info(
      `rate-limit: principal orders (two client ids) ${(together * 100).toFixed(1)}% over ${ordersRate.seconds.toFixed(1)} s, principal reporting ${(alone * 100).toFixed(1)}% over ${reportingRate.seconds.toFixed(1)} s of 1 MiB/s (broker append times; kcat wall clock ${runs.map((r) => r.seconds.toFixed(1)).join(', ')} s)`,
    )
    expect(together).toBeGreaterThan(0.9)
    expect(together).toBeLessThan(1.1)
    expect(alone).toBeGreaterThan(0.9)
    expect(alone).toBeLessThan(1.1)
    const throttled = sc.logs.filter((l) => String(l.msg).startsWith('rate-limit: client over its produce limit'))
    expect(throttled.map((l) => l.principal)).toEqual(expect.arrayContaining(['orders', 'reporting']))
  })

  it("a principal's connection limit refuses the third connection at admission, before it is read", async () => {
    const connect = () =>
      new Promise<tls.TLSSocket>((resolve, reject) => {
        const [host, port] = sc.bootstrap.split(':')
        const s = tls.connect({
          host,
          port: Number(port),
          ca: readFileSync(ca.cert),
          cert: readFileSync(batch.cert),
          key: readFileSync(batch.key),
          servername: 'localhost',
        })
        s.once('secureConnect', () => resolve(s))
        s.once('error', reject)
      })
    const closed = (s: tls.TLSSocket) => new Promise<void>((resolve) => s.once('close', () => resolve()))
    const first = await connect()
    const second = await connect()
    const third = await connect().catch(() => undefined)
    try {
      if (third !== undefined) await closed(third)
      await waitFor(
        'the refusal line',
        () =>
          sc.logs.some((l) => String(l.msg).startsWith('rate-limit refused a connection') && l.principal === 'batch'),
        { timeoutMs: 10_000 },
      )
      expect(first.destroyed || second.destroyed).toBe(false)
      expect(sc.logs.some((l) => l.code === 'KSC_ERR_ADMISSION_REFUSED')).toBe(true)
    } finally {
      first.destroy()
      second.destroy()
      third?.destroy()
    }
  })
})
