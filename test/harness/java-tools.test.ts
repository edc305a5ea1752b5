import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  isProcessAlive,
  type KafkaClusterDescription,
  replicationFactorFor,
  runKafkaTool,
  runKcat,
  sharedClusters,
  spawnKafkaTool,
  uniqueTopicName,
  waitFor,
} from './index.js'

const MESSAGE_COUNT = 100

async function createTopicWithTool(cluster: KafkaClusterDescription, topic: string, partitions = 3): Promise<void> {
  const created = await runKafkaTool(cluster, 'topics', [
    ...['--bootstrap-server', cluster.bootstrapServers, '--create', '--topic', topic],
    ...['--partitions', String(partitions), '--replication-factor', String(replicationFactorFor(cluster))],
  ])
  expect(created.code, created.stderr).toBe(0)
}

describe.each(sharedClusters())("Kafka's Java tools against $name (Kafka $version)", (cluster) => {
  const bootstrap = cluster.bootstrapServers

  it(`kafka-topics creates a topic with replication factor ${replicationFactorFor(cluster)}`, async () => {
    const topic = uniqueTopicName('java-topics')
    await createTopicWithTool(cluster, topic)
    const described = await runKafkaTool(cluster, 'topics', [
      '--bootstrap-server',
      bootstrap,
      '--describe',
      '--topic',
      topic,
    ])
    expect(described.code, described.stderr).toBe(0)
    expect(described.stdout).toContain(`PartitionCount: 3`)
    expect(described.stdout).toContain(`ReplicationFactor: ${replicationFactorFor(cluster)}`)
  })

  it(`console producer and consumer round-trip ${MESSAGE_COUNT} messages`, async () => {
    const topic = uniqueTopicName('java-console')
    const group = `${topic}-group`
    await createTopicWithTool(cluster, topic)
    const run = randomBytes(4).toString('hex')
    const values = Array.from({ length: MESSAGE_COUNT }, (_, i) => `console-${i}-${run}`)

    const produced = await runKafkaTool(
      cluster,
      'console-producer',
      ['--bootstrap-server', bootstrap, '--topic', topic],
      {
        input: `${values.join('\n')}\n`,
      },
    )
    expect(produced.code, produced.stderr).toBe(0)

    const consumed = await runKafkaTool(cluster, 'console-consumer', [
      ...['--bootstrap-server', bootstrap, '--topic', topic, '--group', group],
      ...['--from-beginning', '--max-messages', String(MESSAGE_COUNT), '--timeout-ms', '60000'],
    ])
    expect(consumed.code, consumed.stderr).toBe(0)
    const received = consumed.stdout.split('\n').filter((line) => line !== '')
    expect(received.length).toBe(MESSAGE_COUNT)
    expect(received.sort()).toEqual([...values].sort())
    expect(consumed.stderr).toContain(`Processed a total of ${MESSAGE_COUNT} messages`)

    const groups = await runKafkaTool(cluster, 'consumer-groups', ['--bootstrap-server', bootstrap, '--list'])
    expect(groups.code, groups.stderr).toBe(0)
    expect(groups.stdout.split('\n')).toContain(group)
  })
})

// One cluster per Kafka version is enough for tools whose behaviour does not depend on the node count.
describe.each(
  sharedClusters().filter((cluster) => cluster.nodes.length === 1),
)("more of Kafka's Java tools against $name (Kafka $version)", (cluster) => {
  const bootstrap = cluster.bootstrapServers

  it('kafka-configs alters and describes a topic config', async () => {
    const topic = uniqueTopicName('java-configs')
    await createTopicWithTool(cluster, topic, 1)
    const entity = ['--bootstrap-server', bootstrap, '--entity-type', 'topics', '--entity-name', topic]
    const altered = await runKafkaTool(cluster, 'configs', [
      ...entity,
      '--alter',
      '--add-config',
      'retention.ms=123456789',
    ])
    expect(altered.code, altered.stderr).toBe(0)
    const described = await runKafkaTool(cluster, 'configs', [...entity, '--describe'])
    expect(described.code, described.stderr).toBe(0)
    expect(described.stdout).toContain('retention.ms=123456789')
  })

  it('producer and consumer perf tests move exactly the records asked for', async () => {
    const topic = uniqueTopicName('java-perf')
    const records = 5000
    await createTopicWithTool(cluster, topic)
    const produced = await runKafkaTool(cluster, 'producer-perf-test', [
      ...['--topic', topic, '--num-records', String(records), '--record-size', '100', '--throughput', '-1'],
      ...['--producer-props', `bootstrap.servers=${bootstrap}`, 'acks=all'],
    ])
    expect(produced.code, produced.stderr).toBe(0)
    expect(produced.stdout).toMatch(new RegExp(`^${records} records sent`, 'm'))

    const consumed = await runKafkaTool(cluster, 'consumer-perf-test', [
      ...['--bootstrap-server', bootstrap, '--topic', topic, '--messages', String(records)],
    ])
    expect(consumed.code, consumed.stderr).toBe(0)
    // CSV: a header line naming the columns, then one line of values.
    const [header, values] = consumed.stdout.split('\n').filter((line) => line.includes(','))
    const columns = header!.split(',').map((column) => column.trim())
    const row = values!.split(',').map((value) => value.trim())
    expect(Number(row[columns.indexOf('data.consumed.in.nMsg')])).toBe(records)
  })

  it('spawnKafkaTool: a consumer that follows a topic sees records as they arrive, and stops on request', async () => {
    const topic = uniqueTopicName('java-follow')
    await createTopicWithTool(cluster, topic, 1)
    const consumer = await spawnKafkaTool(cluster, 'console-consumer', [
      '--bootstrap-server',
      bootstrap,
      '--topic',
      topic,
    ])
    let output = ''
    consumer.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    try {
      // The consumer starts at the end of the log: keep producing until it has caught one batch whole.
      const values = ['follow-1', 'follow-2', 'follow-3']
      await waitFor(
        'the following consumer to print a batch produced after it started',
        async () => {
          await runKcat(['-b', bootstrap, '-t', topic, '-P'], { input: `${values.join('\n')}\n` })
          return output.includes(values.join('\n'))
        },
        { timeoutMs: 60_000, intervalMs: 1_000 },
      )
    } finally {
      await consumer.stop()
    }
    expect(isProcessAlive(consumer.pid)).toBe(false)
  })

  it('runKafkaTool: a tool that does not finish in time is killed with KSC_ERR_HARNESS_TOOL_TIMEOUT', async () => {
    const topic = uniqueTopicName('java-timeout')
    await createTopicWithTool(cluster, topic, 1)
    const started = Date.now()
    await expect(
      runKafkaTool(cluster, 'console-consumer', ['--bootstrap-server', bootstrap, '--topic', topic], {
        timeoutMs: 5_000,
      }),
    ).rejects.toMatchObject({ code: 'KSC_ERR_HARNESS_TOOL_TIMEOUT' })
    expect(Date.now() - started).toBeLessThan(20_000)
  })
})
