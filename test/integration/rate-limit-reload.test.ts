import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createTopic, getCluster, spawnKafkaTool, uniqueTopicName, waitFor } from '../harness/index.js'
import { type ChildSidecar, metricValue, startChildSidecar } from '../support/child-sidecar.js'

/**
 * A limit changed in the configuration file while a client produces through it: the sidecar (`run`, in a process of
 * its own) reloads the file by itself, and the open connection of Kafka's Java perf producer runs at the new limit
 * within a second, with no reconnect and no error. Rates are the sidecar's own counts of the client's Produce bytes.
 */

const MiB = 1_048_576

function filters(bytesPerSecond: number): unknown[] {
  return [
    {
      name: 'rate-limit',
      config: {
        rules: [
          { match: { clientId: 'reloading' }, burstSeconds: 0.2, limits: { produceBytesPerSecond: bytesPerSecond } },
        ],
      },
    },
  ]
}

/** Rewrites the child sidecar's configuration file as an editor does (write aside, rename over). */
function rewriteFilters(sc: ChildSidecar, next: unknown[]): void {
  const file = join(dirname(sc.logFile), 'sidecar.yaml')
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  writeFileSync(`${file}.new`, JSON.stringify({ ...config, filters: next }))
  renameSync(`${file}.new`, file)
}

async function produced(sc: ChildSidecar): Promise<number> {
  return metricValue(
    await sc.metrics(),
    'kafka_sidecar_request_bytes_total',
    'client_id="reloading",principal="",api="Produce"',
  )
}

async function rateOver(sc: ChildSidecar, ms: number): Promise<number> {
  const before = await produced(sc)
  const started = performance.now()
  await new Promise((r) => setTimeout(r, ms))
  return ((await produced(sc)) - before) / ((performance.now() - started) / 1000)
}

describe('rate-limit hot reload under load', () => {
  const cluster = getCluster('single')
  let sc: ChildSidecar | undefined
  afterAll(async () => {
    await sc?.stop()
  })

  it('a raised limit reaches the open connection within a second of the reload; lowered again, too', async () => {
    sc = await startChildSidecar(cluster.bootstrapServers, { filters: filters(MiB) })
    const topic = uniqueTopicName('rl-reload')
    await createTopic(cluster.description, topic, { partitions: 1 })
    const perf = await spawnKafkaTool(cluster.description, 'producer-perf-test', [
      '--topic',
      topic,
      '--num-records',
      '1000000',
      '--record-size',
      '1024',
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${sc.bootstrap}`,
      'client.id=reloading',
      'acks=1',
    ])
    let stderr = ''
    perf.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8')
    })
    perf.stdout.resume()
    try {
      await waitFor('the producer to send through the sidecar', async () => (await produced(sc!)) > MiB, {
        timeoutMs: 30_000,
        intervalMs: 200,
      })
      const before = await rateOver(sc, 4000)

      const reloads = () => sc!.logLines().filter((l) => l.msg === 'configuration reloaded').length
      rewriteFilters(sc, filters(2 * MiB))
      await waitFor('the sidecar to reload its file', () => reloads() === 1, { timeoutMs: 10_000, intervalMs: 50 })
      await new Promise((r) => setTimeout(r, 1000))
      const raised = await rateOver(sc, 4000)

      rewriteFilters(sc, filters(MiB / 2))
      await waitFor('the second reload', () => reloads() === 2, { timeoutMs: 10_000, intervalMs: 50 })
      // Lowered: what was sent at the higher rate meanwhile is paid back within the first second or so.
      await new Promise((r) => setTimeout(r, 1500))
      const lowered = await rateOver(sc, 4000)

      const x = (r: number) => (r / MiB).toFixed(2)
      console.info(`rate-limit: hot reload 1 -> 2 -> 0.5 MiB/s: measured ${x(before)} -> ${x(raised)} -> ${x(lowered)}`)
      expect(before / MiB).toBeGreaterThan(0.85)
      expect(before / MiB).toBeLessThan(1.15)
      expect(raised / (2 * MiB)).toBeGreaterThan(0.85)
      expect(raised / (2 * MiB)).toBeLessThan(1.15)
      expect(lowered / (MiB / 2)).toBeGreaterThan(0.85)
      expect(lowered / (MiB / 2)).toBeLessThan(1.15)
    } finally {
      await perf.stop()
    }
    expect(stderr).not.toMatch(/Exception|ERROR/)
    const text = await sc.metrics()
    // The producer kept its connections through both reloads.
    expect(metricValue(text, 'kafka_sidecar_client_connections_total', 'client_id="reloading"')).toBeLessThanOrEqual(2)
  })
})
