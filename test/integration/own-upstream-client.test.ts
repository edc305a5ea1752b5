import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ApiKey,
  type FilterContext,
  type FilterPlugin,
  type FilterSetupContext,
} from '../../src/pipeline/filter-api.js'
import { createTopic, getCluster, uniqueTopicName } from '../harness/index.js'
import { ConsumedRecords } from '../support/consumed-records.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * The setup service `upstream` (the sidecar's own client, upstream.client) as a filter gets it, in front of the
 * shared 3-node cluster: records a filter produces on its own reach the topic, read back directly from the brokers,
 * and a filter can send a request to another broker node than its client's (sendRequest with `node`).
 */
describe("the sidecar's own upstream client, as a filter's setup service", () => {
  const cluster = getCluster('triple')
  let sc: TestSidecar
  let setup: FilterSetupContext | undefined
  let ctx: FilterContext | undefined
  const topic = uniqueTopicName('own-client')

  const probe: FilterPlugin<undefined> = {
    name: 'probe',
    parseConfig: () => undefined,
    configure: (_config, s) => {
      setup = s
      return {
        name: 'probe',
        forConnection: () => ({
          wantsRequest: (k) => k === ApiKey.Metadata,
          onRequest: (_req, c) => {
            ctx = c
            return undefined
          },
        }),
      }
    },
  }

  beforeAll(async () => {
    await createTopic(cluster.description, topic, { partitions: 3 })
    sc = await startTestSidecar(
      cluster.description.bootstrapServers,
      { filters: [{ name: 'probe' }] },
      { plugins: [probe] },
    )
  })
  afterAll(async () => {
    await sc?.stop()
  })

  it('produces records of its own that land in the topic, keys, values and headers intact', async () => {
    const sent = Array.from({ length: 30 }, (_, i) => ({
      key: `k${i}`,
      value: `v${i}`,
      headers: [{ key: 'src', value: 'tap' }],
    }))
    const offsets = await setup!.upstream!.produce(topic, sent, { acks: -1 })
    expect(offsets).toHaveLength(30)
    expect(setup!.upstream!.health().connected).toBe(true)

    const consumer = new Kafka({ brokers: cluster.bootstrapServers.split(','), logLevel: logLevel.NOTHING }).consumer({
      groupId: `${topic}-reader`,
    })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const got = new ConsumedRecords<{ key: string; value: string; src: string }>()
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.size} of 30 records arrived`)), 30_000)
      void consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          got.add(topic, partition, message.offset, {
            key: String(message.key),
            value: String(message.value),
            src: String(message.headers?.src),
          })
          if (got.size === 30) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
    })
    await consumer.disconnect()
    expect(got.records().sort((a, b) => a.key.localeCompare(b.key))).toEqual(
      sent.map((r) => ({ key: r.key, value: r.value, src: 'tap' })).sort((a, b) => a.key.localeCompare(b.key)),
    )
  })

  it('sendRequest with a node goes to that broker over the sidecar own connections', async () => {
    const kafka = new Kafka({ brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    await admin.fetchTopicMetadata({ topics: [topic] })
    await admin.disconnect()
    const other = cluster.nodes.map((n) => n.id).find((id) => id !== ctx!.listener.nodeId)!
    const res = await ctx!.sendRequest(
      ApiKey.Metadata,
      12,
      { topics: null, allowAutoTopicCreation: false },
      { node: other },
    )
    expect(res.body.brokers.map((b) => b.nodeId).sort()).toEqual(cluster.nodes.map((n) => n.id).sort())
  })
})
