import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FILTER_PLUGINS } from '../../src/filter-plugins.js'
import { createTopic, getCluster, runKafkaTool, uniqueTopicName, waitFor } from '../harness/index.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * The example filter (filters/durability-guard) in front of a real 3-node cluster, judged by clients nobody here
 * wrote: acks=1 produce to a topic with min.insync.replicas=2 is refused with INVALID_REQUIRED_ACKS and the filter's
 * message, partition by partition; acks=all, and topics that promise less, pass. Its lookups are the filter's own
 * DescribeConfigs requests on the client's connection (sendRequest); the Java client's Produce v13 names topics by
 * id, which the filter turns into names (topicNames).
 */
describe('durability-guard through the sidecar (3-node cluster)', () => {
  const cluster = getCluster('triple')
  let sc: TestSidecar
  const durable = uniqueTopicName('durable')
  const casual = uniqueTopicName('casual')

  beforeAll(async () => {
    await createTopic(cluster.description, durable, { partitions: 2, configs: { 'min.insync.replicas': '2' } })
    await createTopic(cluster.description, casual, { partitions: 1, configs: { 'min.insync.replicas': '1' } })
    sc = await startTestSidecar(
      cluster.description.bootstrapServers,
      { filters: [{ name: 'durability-guard', config: { minInsyncReplicas: 2 } }] },
      { plugins: FILTER_PLUGINS },
    )
  })
  afterAll(async () => {
    await sc?.stop()
  })

  /**
   * Waits for a topic to hold exactly `n` records, read directly from the brokers (not through the sidecar): the
   * high watermark a ListOffsets answer shows may trail an acknowledged write by a replica fetch.
   */
  async function expectRecords(topic: string, n: number): Promise<void> {
    let seen = -1
    await waitFor(
      `${topic} to hold ${n} records`,
      async () => {
        seen = await countDirect(topic)
        return seen === n
      },
      { timeoutMs: 15_000 },
    ).catch(() => {})
    expect(seen).toBe(n)
  }

  async function countDirect(topic: string): Promise<number> {
    const admin = new Kafka({ brokers: cluster.bootstrapServers.split(','), logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    try {
      const offsets = await admin.fetchTopicOffsets(topic)
      return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0)
    } finally {
      await admin.disconnect()
    }
  }

  it('kafkajs: acks=1 to the durable topic gets INVALID_REQUIRED_ACKS; acks=all and the casual topic pass', async () => {
    const kafka = new Kafka({ clientId: 'guarded-kafkajs', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const producer = kafka.producer({ retry: { retries: 0 } })
    await producer.connect()
    try {
      await expect(producer.send({ topic: durable, acks: 1, messages: [{ value: 'x' }] })).rejects.toMatchObject({
        type: 'INVALID_REQUIRED_ACKS',
      })
      await producer.send({ topic: durable, acks: -1, messages: [{ value: 'kept' }] })
      await producer.send({ topic: casual, acks: 1, messages: [{ value: 'kept' }] })
    } finally {
      await producer.disconnect()
    }
    await expectRecords(durable, 1)
    await expectRecords(casual, 1)
  })

  it('Java client: the producer sees InvalidRequiredAcksException with the filter message; acks=all lands', async () => {
    const refused = await runKafkaTool(
      cluster.description,
      'console-producer',
      [
        '--bootstrap-server',
        sc.bootstrap,
        '--topic',
        durable,
        '--producer-property',
        'acks=1',
        '--producer-property',
        'retries=0',
      ],
      { input: 'a\nb\n', logLevel: 'info' },
    )
    const output = refused.stdout + refused.stderr
    expect(output).toMatch(/InvalidRequiredAcksException/)
    expect(output).toContain(`topic ${durable} requires acks=all (min.insync.replicas=2); this producer uses acks=1`)
    const accepted = await runKafkaTool(
      cluster.description,
      'console-producer',
      ['--bootstrap-server', sc.bootstrap, '--topic', durable, '--producer-property', 'acks=all'],
      { input: 'c\nd\n' },
    )
    expect(accepted.code, accepted.stderr).toBe(0)
    // kafkajs' acks=all record from the test before, and the Java producer's two.
    await expectRecords(durable, 3)
  })
})
