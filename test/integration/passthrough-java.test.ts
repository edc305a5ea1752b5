import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getCluster, runKafkaTool, uniqueTopicName } from '../harness/index.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

const COUNT = 200

describe("Kafka's Java tools through the sidecar, 3-node cluster", () => {
  const cluster = getCluster('triple')
  const jars = cluster.description
  let sc: TestSidecar
  const topic = uniqueTopicName('java-sc')
  const group = `java-group-${randomBytes(4).toString('hex')}`
  const lines = Array.from({ length: COUNT }, (_, i) => `line-${i}-${randomBytes(3).toString('hex')}`)

  beforeAll(async () => {
    sc = await startTestSidecar(cluster.description.bootstrapServers)
  })
  afterAll(async () => {
    await sc?.stop()
  })

  it('kafka-topics creates, lists and describes a topic', async () => {
    const created = await runKafkaTool(jars, 'topics', [
      '--bootstrap-server',
      sc.bootstrap,
      '--create',
      '--topic',
      topic,
      '--partitions',
      '3',
      '--replication-factor',
      '3',
    ])
    expect(created.code, created.stderr).toBe(0)
    const listed = await runKafkaTool(jars, 'topics', ['--bootstrap-server', sc.bootstrap, '--list'])
    expect(listed.stdout.split('\n')).toContain(topic)
    const described = await runKafkaTool(jars, 'topics', [
      '--bootstrap-server',
      sc.bootstrap,
      '--describe',
      '--topic',
      topic,
    ])
    expect(described.code, described.stderr).toBe(0)
    const partitions = described.stdout.split('\n').filter((l) => /Partition: \d/.test(l))
    expect(partitions).toHaveLength(3)
    for (const p of partitions) expect(p).toMatch(/Replicas: \d,\d,\d/)
  })

  it('console producer (acks=all) and a console consumer in a group move exactly the lines sent', async () => {
    const produced = await runKafkaTool(
      jars,
      'console-producer',
      ['--bootstrap-server', sc.bootstrap, '--topic', topic, '--producer-property', 'acks=all'],
      { input: `${lines.join('\n')}\n` },
    )
    expect(produced.code, produced.stderr).toBe(0)
    const consumed = await runKafkaTool(
      jars,
      'console-consumer',
      [
        '--bootstrap-server',
        sc.bootstrap,
        '--topic',
        topic,
        '--group',
        group,
        '--from-beginning',
        '--max-messages',
        String(COUNT),
        '--timeout-ms',
        '60000',
      ],
      { timeoutMs: 90_000, logLevel: 'info' },
    )
    expect(consumed.code, consumed.stderr).toBe(0)
    const received = consumed.stdout.split('\n').filter(Boolean)
    if (received.length !== COUNT) console.log(consumed.stderr.slice(-6000))
    expect(received.sort()).toEqual([...lines].sort())
  })

  it('kafka-consumer-groups describes the group with its committed offsets and no lag', async () => {
    const described = await runKafkaTool(jars, 'consumer-groups', [
      '--bootstrap-server',
      sc.bootstrap,
      '--describe',
      '--group',
      group,
    ])
    expect(described.code, described.stderr).toBe(0)
    const rows = described.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((cols) => cols[0] === group && cols[1] === topic)
    // Unkeyed records go to one partition (sticky partitioner, KIP-480): partitions without records may have
    // no committed offset and no row. GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...
    expect(rows.length).toBeGreaterThan(0)
    const committed = rows.reduce((sum, cols) => sum + (Number(cols[3]) || 0), 0)
    expect(committed).toBe(COUNT)
    for (const cols of rows) expect(cols[5]).toBe('0')
  })

  it('the Java clients announced themselves (KIP-511) and connections were logged', () => {
    const closed = sc.logs.filter((l) => l.msg === 'connection closed')
    expect(closed.some((l) => String(l.clientSoftware).startsWith('apache-kafka-java/'))).toBe(true)
  })
})
