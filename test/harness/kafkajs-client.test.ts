import { randomBytes } from 'node:crypto'
import { type Admin, Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConsumedRecords } from '../support/consumed-records.js'
import { createTopic, replicationFactorFor, sharedClusters, uniqueTopicName, waitFor } from './index.js'

const MESSAGE_COUNT = 300

describe.each(sharedClusters())('kafkajs against $name (Kafka $version)', (cluster) => {
  const kafka = new Kafka({
    clientId: 'ksc-harness-test',
    brokers: cluster.bootstrapServers.split(','),
    logLevel: logLevel.NOTHING,
  })
  let admin: Admin

  beforeAll(async () => {
    admin = kafka.admin()
    await admin.connect()
  })

  afterAll(async () => {
    await admin?.disconnect()
  })

  it('sees every broker of the cluster at the harness-advertised addresses', async () => {
    const { brokers } = await admin.describeCluster()
    const advertised = brokers.map((broker) => `${broker.host}:${broker.port}`).sort()
    expect(advertised).toEqual(cluster.nodes.map((node) => `${node.host}:${node.port}`).sort())
  })

  it(`produces ${MESSAGE_COUNT} messages and consumes exactly those back`, async () => {
    const topic = uniqueTopicName('kafkajs')
    const replicationFactor = replicationFactorFor(cluster)
    await createTopic(cluster, topic, { partitions: 3, replicationFactor })
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics
    expect(metadata?.partitions.map((partition) => partition.replicas.length)).toEqual([
      replicationFactor,
      replicationFactor,
      replicationFactor,
    ])

    const run = randomBytes(4).toString('hex')
    const sent = Array.from({ length: MESSAGE_COUNT }, (_, i) => ({ key: `key-${i}`, value: `value-${i}-${run}` }))
    // Idempotent: kafkajs retries a whole Produce request when one partition in it fails transiently (a
    // leader that is not ready yet), and without sequence numbers the partitions that had succeeded get
    // their records twice. Seen on a loaded machine: 374 records for 300 sent.
    const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    try {
      // Several batches, so the consumer crosses batch boundaries too.
      for (let i = 0; i < sent.length; i += 100)
        await producer.send({ topic, acks: -1, messages: sent.slice(i, i + 100) })
    } finally {
      await producer.disconnect()
    }

    const offsets = await admin.fetchTopicOffsets(topic)
    expect(offsets.reduce((sum, partition) => sum + Number(partition.high), 0)).toBe(MESSAGE_COUNT)

    const received = new ConsumedRecords<{ key: string; value: string }>()
    const consumer = kafka.consumer({ groupId: `${topic}-group` })
    await consumer.connect()
    try {
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          received.add(topic, partition, message.offset, {
            key: message.key?.toString() ?? '',
            value: message.value?.toString() ?? '',
          })
        },
      })
      await waitFor(`${MESSAGE_COUNT} messages on ${topic}`, () => received.size >= MESSAGE_COUNT, {
        timeoutMs: 60_000,
      })
    } finally {
      await consumer.disconnect()
    }
    const byKey = (a: { key: string }, b: { key: string }): number => a.key.localeCompare(b.key)
    expect(received.size).toBe(MESSAGE_COUNT)
    expect(received.records().sort(byKey)).toEqual([...sent].sort(byKey))
  })
})
