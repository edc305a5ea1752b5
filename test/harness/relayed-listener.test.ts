import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitForPort } from '../../bench/lib/ports.js'
import { ConsumedRecords } from '../support/consumed-records.js'
import { allocatePorts } from './free-port.js'
import { createTopic, KafkaCluster, uniqueTopicName } from './index.js'

/**
 * listeners.relayed: a broker listener advertised at another address, where a byte relay with no Kafka knowledge
 * (bench/relay.ts, the floor target of bench/passthrough.ts --relay) listens; clients that bootstrap through the
 * relay are told by Metadata to stay on it, and everything works through it.
 */
describe('a relayed listener', () => {
  let cluster: KafkaCluster
  let relay: ChildProcess
  let relayPort: number

  beforeAll(async () => {
    ;[relayPort] = (await allocatePorts('127.0.0.1', 1)) as [number]
    cluster = await KafkaCluster.start({
      name: 'relayed',
      listeners: { relayed: { advertisedHost: '127.0.0.1', advertisedPorts: [relayPort] } },
    })
    const node = cluster.describe().nodes[0]!
    expect(node.relayedPort).toBeGreaterThan(0)
    // The compiled relay, as the benchmark runs it (CI builds before it tests).
    const script = fileURLToPath(new URL('../../dist/bench/relay.js', import.meta.url))
    relay = spawn(process.execPath, [script, String(relayPort), node.host, String(node.relayedPort)], {
      stdio: 'inherit',
    })
    await waitForPort('127.0.0.1', relayPort, 15_000)
  })

  afterAll(async () => {
    relay?.kill('SIGTERM')
    await cluster?.stop()
  })

  it('Metadata through the relay names the relay; records go through it and come back', async () => {
    const kafka = new Kafka({ brokers: [`127.0.0.1:${relayPort}`], logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    const described = await admin.describeCluster()
    await admin.disconnect()
    expect(described.brokers.map((b) => `${b.host}:${b.port}`)).toEqual([`127.0.0.1:${relayPort}`])

    const topic = uniqueTopicName('relayed')
    await createTopic(cluster.describe(), topic, { partitions: 2, replicationFactor: 1 })
    const values = Array.from({ length: 200 }, (_, i) => `v${i}-${'x'.repeat(i * 50)}`)
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic, messages: values.map((value) => ({ value })) })
    await producer.disconnect()
    const consumer = kafka.consumer({ groupId: `${topic}-g` })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const got = new ConsumedRecords<string>()
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.size} of ${values.length} consumed`)), 60_000)
      void consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          got.add(topic, partition, message.offset, message.value!.toString())
          if (got.size === values.length) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
    })
    await consumer.disconnect()
    if (got.redelivered > 0) console.info(`relayed listener: ${got.redelivered} records delivered again`)
    expect(got.records().sort()).toEqual([...values].sort())
  })
})
