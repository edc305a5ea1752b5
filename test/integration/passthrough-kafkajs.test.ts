import { randomUUID } from 'node:crypto'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getCluster, waitFor } from '../harness/index.js'
import { ConsumedRecords } from '../support/consumed-records.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

describe('kafkajs through the sidecar (3-node cluster)', () => {
  const cluster = getCluster('triple')
  let sc: TestSidecar

  beforeAll(async () => {
    sc = await startTestSidecar(cluster.description.bootstrapServers)
  })
  afterAll(async () => {
    await sc?.stop()
  })

  it('produces and consumes known messages; the client sees only sidecar addresses', async () => {
    const kafka = new Kafka({ clientId: 'kafkajs-passthrough', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    const topic = `pt-${randomUUID()}`
    // kafkajs' waitForLeaders retries LEADER_NOT_AVAILABLE only; a broker that has not applied the new topic yet
    // answers UNKNOWN_TOPIC_OR_PARTITION (test/harness/topics.ts), so wait for the metadata here instead.
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: false })
    const meta = await waitFor(
      `metadata of ${topic} with 3 partitions through the sidecar`,
      async () => {
        const m = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined)
        return m !== undefined && m.topics[0]!.partitions.every((p) => p.leader >= 0) ? m : undefined
      },
      { timeoutMs: 30_000 },
    )
    expect(meta.topics[0]!.partitions).toHaveLength(3)
    const cluster_ = await admin.describeCluster()
    for (const b of cluster_.brokers) expect(b.host).toBe('127.0.0.1')
    await admin.disconnect()

    const producer = kafka.producer()
    await producer.connect()
    const sent = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 7}`, value: `value-${i}` }))
    for (let i = 0; i < sent.length; i += 50) await producer.send({ topic, messages: sent.slice(i, i + 50), acks: -1 })
    await producer.disconnect()

    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}` })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const received = new ConsumedRecords<string>()
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${received.size} of ${sent.length} messages arrived`)),
        60_000,
      )
      void consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          received.add(topic, partition, message.offset, message.value!.toString())
          if (received.size === sent.length) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
    })
    await consumer.disconnect()
    expect(received.records().sort()).toEqual(sent.map((m) => m.value).sort())
  })
})
