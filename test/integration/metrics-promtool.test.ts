import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getCluster, runKcat, uniqueTopicName, waitFor } from '../harness/index.js'
import { runCommand } from '../harness/run-command.js'
import { type StatsSidecar, startStatsSidecar } from '../support/stats-sidecar.js'

/** `promtool check metrics` (Debian package prometheus; test/harness/system-tools.ts installs it) on a text. */
async function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  const result = await runCommand('promtool', ['check', 'metrics'], { input: text, timeoutMs: 30_000 })
  return { code: result.code, output: (result.stdout + result.stderr).trim() }
}

describe('/metrics of a live sidecar with real traffic', () => {
  const cluster = getCluster('single')
  let sc: StatsSidecar

  beforeAll(async () => {
    sc = await startStatsSidecar(cluster.bootstrapServers)
  })
  afterAll(async () => {
    await sc?.stop()
  })

  it('passes promtool check metrics', async () => {
    // Every kind of series: per client and API (histograms too), per topic, groups, lag, errors, client info.
    const topic = uniqueTopicName('promtool')
    const kafka = new Kafka({ clientId: 'promtool-kafkajs', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true })
    await admin.disconnect()
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ value: `v${i}` })) })
    await producer.disconnect()
    const produced = await runKcat(['-b', sc.bootstrap, '-t', topic, '-P', '-c', '10'], {
      input: `${Array.from({ length: 10 }, (_, i) => `k${i}`).join('\n')}\n`,
    })
    expect(produced.code, produced.stderr).toBe(0)
    const grouped = await runKcat(
      ['-b', sc.bootstrap, '-G', `promtool-${topic}`, '-e', '-q', '-X', 'auto.offset.reset=earliest', topic],
      { timeoutMs: 90_000 },
    )
    expect(grouped.code, grouped.stderr).toBe(0)
    await waitFor('kcat counted', async () => (await sc.metrics()).includes('software_name="librdkafka"'), {
      timeoutMs: 10_000,
    })

    const text = await sc.metrics()
    for (const name of [
      'kafka_sidecar_requests_total',
      'kafka_sidecar_request_sidecar_seconds_bucket',
      'kafka_sidecar_produce_records_total',
      'kafka_sidecar_fetch_records_total',
      'kafka_sidecar_consumer_lag_records',
      'kafka_sidecar_nodejs_active_handles',
    ]) {
      expect(text, name).toMatch(new RegExp(`^${name}\\{`, 'm'))
    }
    const checked = await promtoolCheck(text)
    expect(checked.output).toBe('')
    expect(checked.code).toBe(0)
  })
})
