import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClientSnapshot } from '../../src/stats/snapshot.js'
import { getCluster, runKcat, uniqueTopicName, waitFor } from '../harness/index.js'
import { ConsumedRecords } from '../support/consumed-records.js'
import { metricValue } from '../support/prometheus-text.js'
import { type StatsSidecar, startStatsSidecar } from '../support/stats-sidecar.js'
import { topErrors } from '../support/top-text.js'

const execFileAsync = promisify(execFile)
const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname

/**
 * Healthy clients doing ordinary things through the sidecar: kcat produces to a topic that does not exist yet
 * (auto-created), kcat and kafkajs consume it in groups (classic protocol: the first JoinGroup is answered
 * MEMBER_ID_REQUIRED, KIP-394). None of that is a client error, so top's ERRS column stays at 0 for each, while
 * the protocol answers are still counted, apart.
 */
describe('a healthy consumer-group run through the sidecar shows no errors in top', () => {
  const cluster = getCluster('single')
  let sc: StatsSidecar

  beforeAll(async () => {
    sc = await startStatsSidecar(cluster.bootstrapServers)
  })
  afterAll(async () => {
    await sc?.stop()
  })

  it('kcat and kafkajs: zero in ERRS, the protocol-flow answers counted as expected', async () => {
    const topic = uniqueTopicName('expected-errors')
    const lines = Array.from({ length: 20 }, (_, i) => `m${i}`)
    // -X client.id: one row per client in top.
    const produced = await runKcat(['-b', sc.bootstrap, '-X', 'client.id=ee-kcat-producer', '-t', topic, '-P'], {
      input: `${lines.join('\n')}\n`,
    })
    expect(produced.code, produced.stderr).toBe(0)

    const grouped = await runKcat(
      [
        ...['-b', sc.bootstrap, '-X', 'client.id=ee-kcat-consumer', '-X', 'auto.offset.reset=earliest'],
        ...['-G', `ee-kcat-${topic}`, '-e', '-q', topic],
      ],
      { timeoutMs: 90_000 },
    )
    expect(grouped.code, grouped.stderr).toBe(0)
    expect(grouped.stdout.split('\n').filter(Boolean)).toHaveLength(lines.length)

    const kafka = new Kafka({ clientId: 'ee-kafkajs', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const consumer = kafka.consumer({ groupId: `ee-kafkajs-${topic}` })
    const received = new ConsumedRecords<string>()
    await consumer.connect()
    try {
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          received.add(topic, partition, message.offset, message.value!.toString())
        },
      })
      await waitFor('kafkajs consumed the topic', () => received.size === lines.length, { timeoutMs: 60_000 })
    } finally {
      await consumer.disconnect()
    }

    const stats = await sc.stats()
    const clients = ['ee-kcat-producer', 'ee-kcat-consumer', 'ee-kafkajs']
    const row = (id: string): ClientSnapshot => {
      const c = stats.clients.find((x) => x.clientId === id)
      if (c === undefined) throw new Error(`no ${id} in /stats: ${stats.clients.map((x) => x.clientId).join(', ')}`)
      return c
    }
    for (const id of clients) {
      const apisWithErrors = Object.entries(row(id).apis).filter(([, a]) => Object.keys(a.errors).length > 0)
      expect(apisWithErrors, id).toEqual([])
      expect(row(id).errors, id).toBe(0)
    }
    // The normal flow was there, and is counted: each group member's first JoinGroup, the new topic's Metadata.
    expect(row('ee-kcat-consumer').apis.JoinGroup?.expectedErrors).toMatchObject({ MEMBER_ID_REQUIRED: 1 })
    expect(row('ee-kafkajs').apis.JoinGroup?.expectedErrors).toMatchObject({ MEMBER_ID_REQUIRED: 1 })
    expect(row('ee-kcat-producer').expectedErrors).toBeGreaterThan(0)

    const metrics = await sc.metrics()
    for (const id of clients)
      expect(metrics, id).not.toMatch(new RegExp(`^kafka_sidecar_response_errors_total\\{[^}]*client_id="${id}"`, 'm'))
    expect(
      metricValue(metrics, 'kafka_sidecar_response_expected_errors_total', {
        client_id: 'ee-kafkajs',
        api: 'JoinGroup',
        error: 'MEMBER_ID_REQUIRED',
      }),
    ).toBe(1)

    // top itself, as a user runs it.
    const top = await execFileAsync(process.execPath, [CLI, 'top', '--once', '--admin', sc.adminAddress])
    const table = top.stdout.split('\n')
    for (const id of clients) expect(topErrors(table, id), `${id} in\n${top.stdout}`).toBe('0')
  })
})
