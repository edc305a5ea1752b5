import { randomBytes } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import { percentBucket } from '../../filters/topic-rewrite/client-selector.js'
import { FILTER_PLUGINS } from '../../src/filter-plugins.js'
import { ApiKey } from '../../src/pipeline/filter-api.js'
import {
  createTopic,
  getCluster,
  KafkaCluster,
  runKafkaTool,
  runKcat,
  spawnKafkaTool,
  uniqueTopicName,
  waitFor,
  waitForTopic,
} from '../harness/index.js'
import { ConsumedRecords } from '../support/consumed-records.js'
import { RawKafkaClient } from '../support/raw-client.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'
import { runTransactionalProducer } from '../support/transactional-producer.js'

/**
 * The topic-rewrite filter in front of the real 3-node cluster, judged by clients nobody here wrote (the Java client
 * and Kafka's tools, kafkajs, kcat), with what landed read directly from the brokers, not through the sidecar.
 *
 * The rule maps every topic `orders-...` to `orders-...-canary` (a regex rule, so each test can use topics of its
 * own), every group id g to canary-g and every transactional id t to canary-t, for clients whose id starts with
 * `canary-`.
 */
describe('topic-rewrite through the sidecar (3-node cluster)', () => {
  const cluster = getCluster('triple')
  const jars = cluster.description
  const direct = cluster.description.bootstrapServers
  let sc: TestSidecar
  let tmp: string

  const REWRITE = {
    name: 'canary',
    clients: { idPatterns: ['canary-.*'] },
    topics: [{ regex: '(orders-.*)', to: '$1-canary' }],
    groups: [{ prefix: '', to: 'canary-' }],
    transactionalIds: [{ prefix: '', to: 'canary-' }],
  }

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'topic-rewrite-'))
    sc = await startTestSidecar(
      direct,
      { filters: [{ name: 'topic-rewrite', config: { rules: [REWRITE] } }] },
      { plugins: FILTER_PLUGINS },
    )
  })
  afterAll(async () => {
    await sc?.stop()
  })

  /** A topic and its canary twin, created directly on the cluster. */
  async function topicPair(partitions = 2, canaryPartitions = partitions): Promise<{ orders: string; canary: string }> {
    const orders = uniqueTopicName('orders')
    const canary = `${orders}-canary`
    await createTopic(cluster.description, orders, { partitions })
    await createTopic(cluster.description, canary, { partitions: canaryPartitions })
    return { orders, canary }
  }

  const lines = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => `${prefix}-${i}-${randomBytes(3).toString('hex')}`)

  /** Records in a topic, counted from its offsets directly on the brokers. */
  async function countDirect(topic: string): Promise<number> {
    const admin = new Kafka({ brokers: direct.split(','), logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    try {
      const offsets = await admin.fetchTopicOffsets(topic)
      return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0)
    } finally {
      await admin.disconnect()
    }
  }

  /** The values in a topic, read directly from the brokers with the console consumer. */
  async function readDirect(topic: string, expected: number, isolation = 'read_uncommitted'): Promise<string[]> {
    const read = await runKafkaTool(
      jars,
      'console-consumer',
      [
        '--bootstrap-server',
        direct,
        '--topic',
        topic,
        '--from-beginning',
        '--isolation-level',
        isolation,
        '--max-messages',
        String(expected),
        '--timeout-ms',
        '10000',
      ],
      { timeoutMs: 60_000 },
    )
    return read.stdout.split('\n').filter(Boolean)
  }

  /** kafka-consumer-groups --describe run directly on the brokers: rows [topic, partition, current offset]. */
  async function committedDirect(group: string): Promise<{ topic: string; partition: number; offset: number }[]> {
    const described = await runKafkaTool(jars, 'consumer-groups', [
      '--bootstrap-server',
      direct,
      '--describe',
      '--group',
      group,
    ])
    return described.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((cols) => cols[0] === group)
      .map((cols) => ({ topic: cols[1]!, partition: Number(cols[2]), offset: Number(cols[3]) || 0 }))
  }

  async function propertiesFile(name: string, props: Record<string, string>): Promise<string> {
    const file = join(tmp, `${name}.properties`)
    await writeFile(
      file,
      Object.entries(props)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    )
    return file
  }

  async function javaConsume(
    topic: string,
    group: string,
    clientId: string,
    n: number,
    extra: string[] = [],
  ): Promise<string[]> {
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
        String(n),
        '--timeout-ms',
        '60000',
        '--consumer-property',
        `client.id=${clientId}`,
        ...extra,
      ],
      { timeoutMs: 120_000, logLevel: 'info' },
    )
    expect(consumed.code, consumed.stderr.slice(-3000)).toBe(0)
    // Kafka 4.x prints a deprecation note for --consumer-property on stdout, before the records.
    return consumed.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('Option --'))
  }

  describe('Java producer and consumers', () => {
    let pair: { orders: string; canary: string }
    const sent = lines('java', 20)

    beforeAll(async () => {
      pair = await topicPair(2)
    })

    it('a canary Java producer writes orders: the records are in orders-canary, none in orders', async () => {
      const produced = await runKafkaTool(
        jars,
        'console-producer',
        [
          '--bootstrap-server',
          sc.bootstrap,
          '--topic',
          pair.orders,
          '--producer-property',
          'acks=all',
          '--producer-property',
          'client.id=canary-java-producer',
        ],
        { input: `${sent.join('\n')}\n` },
      )
      expect(produced.code, produced.stderr).toBe(0)
      expect((await readDirect(pair.canary, sent.length)).sort()).toEqual([...sent].sort())
      expect(await countDirect(pair.orders)).toBe(0)
    })

    it('a canary Java consumer (classic protocol) reads them as orders; offsets are committed on orders-canary', async () => {
      const group = `java-classic-${randomBytes(3).toString('hex')}`
      const received = await javaConsume(pair.orders, group, 'canary-java-classic', sent.length, [
        '--consumer-property',
        'group.protocol=classic',
      ])
      expect(received.sort()).toEqual([...sent].sort())
      const rows = await committedDirect(`canary-${group}`)
      expect(new Set(rows.map((r) => r.topic))).toEqual(new Set([pair.canary]))
      expect(rows.reduce((n, r) => n + r.offset, 0)).toBe(sent.length)
      // The client's own group id names no group on the cluster.
      expect(await committedDirect(group)).toEqual([])
    })

    it('the same with group.protocol=consumer (KIP-848), which the cluster enables', async () => {
      const configs = await runKafkaTool(jars, 'configs', [
        '--bootstrap-server',
        direct,
        '--describe',
        '--all',
        '--entity-type',
        'brokers',
        '--entity-name',
        String(cluster.nodes[0]!.id),
      ])
      expect(configs.stdout).toMatch(/group\.coordinator\.rebalance\.protocols=\S*\bconsumer\b/)
      const group = `java-848-${randomBytes(3).toString('hex')}`
      const received = await javaConsume(pair.orders, group, 'canary-java-848', sent.length, [
        '--consumer-property',
        'group.protocol=consumer',
      ])
      expect(received.sort()).toEqual([...sent].sort())
      const rows = await committedDirect(`canary-${group}`)
      expect(new Set(rows.map((r) => r.topic))).toEqual(new Set([pair.canary]))
      expect(rows.reduce((n, r) => n + r.offset, 0)).toBe(sent.length)
    })

    it('admin views through the sidecar use the client names: topics list and describe, configs, groups', async () => {
      const admin = await propertiesFile('canary-admin', { 'client.id': 'canary-admin' })
      const listed = await runKafkaTool(jars, 'topics', [
        '--bootstrap-server',
        sc.bootstrap,
        '--command-config',
        admin,
        '--list',
      ])
      const names = listed.stdout.split('\n')
      expect(names.filter((n) => n === pair.orders)).toHaveLength(1)
      expect(names).not.toContain(pair.canary)

      // Distinguish the two topics: the canary one gets a retention of its own and a third partition.
      const altered = await runKafkaTool(jars, 'configs', [
        '--bootstrap-server',
        sc.bootstrap,
        '--command-config',
        admin,
        '--alter',
        '--entity-type',
        'topics',
        '--entity-name',
        pair.orders,
        '--add-config',
        'retention.ms=123456789',
      ])
      expect(altered.code, altered.stderr).toBe(0)
      const added = await runKafkaTool(jars, 'topics', [
        '--bootstrap-server',
        sc.bootstrap,
        '--command-config',
        admin,
        '--alter',
        '--topic',
        pair.orders,
        '--partitions',
        '3',
      ])
      expect(added.code, added.stderr).toBe(0)
      await waitForTopic(cluster.description, pair.canary, { partitions: 3 })

      const directConfigs = await runKafkaTool(jars, 'configs', [
        '--bootstrap-server',
        direct,
        '--describe',
        '--entity-type',
        'topics',
        '--entity-name',
        pair.canary,
      ])
      expect(directConfigs.stdout).toContain('retention.ms=123456789')
      const described = await runKafkaTool(jars, 'topics', [
        '--bootstrap-server',
        sc.bootstrap,
        '--command-config',
        admin,
        '--describe',
        '--topic',
        pair.orders,
      ])
      expect(described.code, described.stderr).toBe(0)
      expect(described.stdout).toContain(`Topic: ${pair.orders}\t`)
      expect(described.stdout).not.toContain(pair.canary)
      expect(described.stdout).toMatch(/PartitionCount: 3/)
      const canaryId = /TopicId: (\S+)/.exec(
        (await runKafkaTool(jars, 'topics', ['--bootstrap-server', direct, '--describe', '--topic', pair.canary]))
          .stdout,
      )?.[1]
      expect(described.stdout).toContain(`TopicId: ${canaryId}`)
      const configs = await runKafkaTool(jars, 'configs', [
        '--bootstrap-server',
        sc.bootstrap,
        '--command-config',
        admin,
        '--describe',
        '--entity-type',
        'topics',
        '--entity-name',
        pair.orders,
      ])
      expect(configs.stdout).toContain(`Dynamic configs for topic ${pair.orders} are:`)
      expect(configs.stdout).toContain('retention.ms=123456789')
      // The original topic is untouched.
      expect(await countDirect(pair.orders)).toBe(0)
    })

    it('kafka-consumer-groups through the sidecar describes the group in the client names', async () => {
      const group = `java-describe-${randomBytes(3).toString('hex')}`
      await javaConsume(pair.orders, group, 'canary-java-describe', sent.length, [
        '--consumer-property',
        'group.protocol=classic',
      ])
      const admin = await propertiesFile('canary-groups', { 'client.id': 'canary-groups' })
      const described = await runKafkaTool(jars, 'consumer-groups', [
        '--bootstrap-server',
        sc.bootstrap,
        '--command-config',
        admin,
        '--describe',
        '--group',
        group,
      ])
      expect(described.code, described.stderr).toBe(0)
      const rows = described.stdout
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((cols) => cols[0] === group)
      expect(rows.length).toBeGreaterThan(0)
      for (const cols of rows) expect(cols[1]).toBe(pair.orders)
      expect(rows.reduce((n, cols) => n + (Number(cols[3]) || 0), 0)).toBe(sent.length)
      expect(described.stdout).not.toContain('-canary')
    })
  })

  it('kafkajs: a canary producer and consumer group see orders; records and offsets are on orders-canary', async () => {
    const pair = await topicPair(2)
    const sent = lines('kafkajs', 10)
    const kafka = new Kafka({ clientId: 'canary-kafkajs', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const producer = kafka.producer()
    await producer.connect()
    try {
      await producer.send({ topic: pair.orders, acks: -1, messages: sent.map((value) => ({ value })) })
    } finally {
      await producer.disconnect()
    }
    expect(await countDirect(pair.canary)).toBe(sent.length)
    expect(await countDirect(pair.orders)).toBe(0)

    const group = `kafkajs-${randomBytes(3).toString('hex')}`
    const consumer = kafka.consumer({ groupId: group, heartbeatInterval: 500 })
    const seen = new ConsumedRecords<{ topic: string; value: string }>()
    await consumer.connect()
    try {
      await consumer.subscribe({ topic: pair.orders, fromBeginning: true })
      await consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          seen.add(topic, partition, message.offset, { topic, value: message.value!.toString() })
        },
      })
      await waitFor('kafkajs to read every record', () => seen.size >= sent.length, { timeoutMs: 60_000 })
    } finally {
      await consumer.disconnect()
    }
    expect(new Set(seen.records().map((s) => s.topic))).toEqual(new Set([pair.orders]))
    expect(
      seen
        .records()
        .map((s) => s.value)
        .sort(),
    ).toEqual([...sent].sort())
    // kafkajs commits after each batch it handed to eachMessage, and on disconnect.
    let rows: { topic: string; offset: number }[] = []
    await waitFor(
      'kafkajs offsets committed on the canary group',
      async () => {
        rows = await committedDirect(`canary-${group}`)
        return rows.reduce((n, r) => n + r.offset, 0) === sent.length
      },
      { timeoutMs: 30_000 },
    ).catch(() => {})
    expect(new Set(rows.map((r) => r.topic))).toEqual(new Set([pair.canary]))
    expect(rows.reduce((n, r) => n + r.offset, 0)).toBe(sent.length)
  })

  it('kcat (librdkafka): a canary producer and a balanced consumer group', async () => {
    const pair = await topicPair(1)
    const sent = lines('kcat', 10)
    const produced = await runKcat(
      ['-b', sc.bootstrap, '-X', 'client.id=canary-kcat', '-X', 'acks=all', '-t', pair.orders, '-P'],
      { input: `${sent.join('\n')}\n` },
    )
    expect(produced.code, produced.stderr).toBe(0)
    expect(await countDirect(pair.canary)).toBe(sent.length)
    expect(await countDirect(pair.orders)).toBe(0)
    const group = `kcat-${randomBytes(3).toString('hex')}`
    const consumed = await runKcat(
      [
        '-b',
        sc.bootstrap,
        '-X',
        'client.id=canary-kcat-consumer',
        '-X',
        'auto.offset.reset=earliest',
        '-G',
        group,
        '-c',
        String(sent.length),
        '-q',
        '-f',
        '%t %s\n',
        pair.orders,
      ],
      { timeoutMs: 90_000 },
    )
    expect(consumed.code, consumed.stderr).toBe(0)
    const got = consumed.stdout.split('\n').filter(Boolean)
    expect(got.map((l) => l.split(' ')[0])).toEqual(sent.map(() => pair.orders))
    expect(got.map((l) => l.split(' ')[1]).sort()).toEqual([...sent].sort())
    await waitFor(
      'kcat to have committed its offsets on the canary group',
      async () =>
        (await committedDirect(`canary-${group}`)).some((r) => r.topic === pair.canary && r.offset === sent.length),
      { timeoutMs: 30_000 },
    )
  })

  it('a transactional canary producer: a read_committed canary consumer sees exactly the committed records', async () => {
    const pair = await topicPair(3)
    const transactionalId = `tx-${randomBytes(4).toString('hex')}`
    const result = await runTransactionalProducer(jars, sc.bootstrap, pair.orders, 30, 20, {
      clientId: 'canary-txn',
      transactionalId,
    })
    expect(result).toMatchObject({ committed: 30, aborted: 20 })
    expect(await countDirect(pair.orders)).toBe(0)
    const committed = await javaConsume(pair.orders, `txn-${randomBytes(3).toString('hex')}`, 'canary-txn-reader', 30, [
      '--isolation-level',
      'read_committed',
    ])
    expect(committed.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `committed-${i}`).sort())
    // Directly on the brokers: the transaction ran under the mapped transactional id, on the canary topic.
    const direct50 = await readDirect(pair.canary, 50)
    expect(direct50.filter((v) => v.startsWith('aborted-'))).toHaveLength(20)
    expect((await readDirect(pair.canary, 30, 'read_committed')).sort()).toEqual([...committed].sort())
  })

  it('a client that is not a canary is unaffected, through the same sidecar', async () => {
    const pair = await topicPair(1)
    const sent = lines('plain', 5)
    const produced = await runKafkaTool(
      jars,
      'console-producer',
      ['--bootstrap-server', sc.bootstrap, '--topic', pair.orders, '--producer-property', 'client.id=plain-app'],
      { input: `${sent.join('\n')}\n` },
    )
    expect(produced.code, produced.stderr).toBe(0)
    expect(await countDirect(pair.orders)).toBe(sent.length)
    expect(await countDirect(pair.canary)).toBe(0)
    const group = `plain-${randomBytes(3).toString('hex')}`
    expect((await javaConsume(pair.orders, group, 'plain-app', sent.length)).sort()).toEqual([...sent].sort())
    expect((await committedDirect(group)).map((r) => r.topic)).toEqual([pair.orders])
    const listed = await runKafkaTool(jars, 'topics', ['--bootstrap-server', sc.bootstrap, '--list'])
    expect(listed.stdout.split('\n')).toEqual(expect.arrayContaining([pair.orders, pair.canary]))
  })
})

describe('topic-rewrite percentage selection (3-node cluster)', () => {
  const cluster = getCluster('triple')
  const SEED = `pct-${randomBytes(3).toString('hex')}`
  const config = {
    filters: [
      {
        name: 'topic-rewrite',
        config: { rules: [{ clients: { percent: 30, seed: SEED }, topics: [{ regex: '(pct-.*)', to: '$1-canary' }] }] },
      },
    ],
  }

  /** The client ids that see the canary topic (3 partitions) under the name of the real one (1 partition). */
  async function canarySide(bootstrap: string, topic: string, ids: string[]): Promise<string[]> {
    const side: string[] = []
    for (const clientId of ids) {
      const admin = new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin()
      await admin.connect()
      try {
        const md = await admin.fetchTopicMetadata({ topics: [topic] })
        if (md.topics[0]!.partitions.length === 3) side.push(clientId)
      } finally {
        await admin.disconnect()
      }
    }
    return side
  }

  it('puts the expected share of 100 client ids on the canary side, the same ones after a restart', async () => {
    const topic = uniqueTopicName('pct')
    await createTopic(cluster.description, topic, { partitions: 1 })
    await createTopic(cluster.description, `${topic}-canary`, { partitions: 3 })
    const ids = Array.from({ length: 100 }, (_, i) => `service-${i}`)
    const expected = ids.filter((id) => percentBucket(SEED, id) < 3000)
    // 30 of 100 on average; a fair hash keeps it within a few binomial deviations (sd 4.6).
    expect(expected.length).toBeGreaterThanOrEqual(16)
    expect(expected.length).toBeLessThanOrEqual(44)

    let sc = await startTestSidecar(cluster.description.bootstrapServers, config, { plugins: FILTER_PLUGINS })
    let first: string[]
    try {
      first = await canarySide(sc.bootstrap, topic, ids)
    } finally {
      await sc.stop()
    }
    expect(first).toEqual(expected)
    sc = await startTestSidecar(cluster.description.bootstrapServers, config, { plugins: FILTER_PLUGINS })
    try {
      expect(await canarySide(sc.bootstrap, topic, ids)).toEqual(first)
    } finally {
      await sc.stop()
    }
  })
})

describe('topic-rewrite hot reload (3-node cluster)', () => {
  const cluster = getCluster('triple')

  it('new rules apply to new connections; an open connection keeps the rules it started with', async () => {
    const topic = uniqueTopicName('reload')
    await createTopic(cluster.description, topic, { partitions: 1 })
    await createTopic(cluster.description, `${topic}-canary`, { partitions: 3 })
    const rules = (clientId: string) => ({
      filters: [
        {
          name: 'topic-rewrite',
          config: { rules: [{ clients: { ids: [clientId] }, topics: [{ regex: '(reload-.*)', to: '$1-canary' }] }] },
        },
      ],
    })
    const sc = await startTestSidecar(cluster.description.bootstrapServers, rules('someone-else'), {
      plugins: FILTER_PLUGINS,
    })
    const clients: RawKafkaClient[] = []
    /** Partition count of the topic as this connection sees it (Metadata v12, by name). */
    const partitions = async (client: RawKafkaClient): Promise<number> => {
      const md = await client.request<MetadataResponse>(
        ApiKey.Metadata,
        12,
        {
          topics: [{ name: topic, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }],
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        },
        'reloaded-app',
      )
      return md.topics.find((t) => t.name === topic)!.partitions.length
    }
    try {
      const before = await RawKafkaClient.connect(sc.bootstrap)
      clients.push(before)
      expect(await partitions(before)).toBe(1)
      await sc.sidecar.reload({ ...sc.config, ...rules('reloaded-app') } as typeof sc.config)
      const after = await RawKafkaClient.connect(sc.bootstrap)
      clients.push(after)
      expect(await partitions(after)).toBe(3)
      expect(await partitions(before)).toBe(1)
    } finally {
      for (const c of clients) c.close()
      await sc.stop()
    }
  })
})

/**
 * A 3-node cluster of its own: the test kills a broker, which slowed other test files that shared the brokers with it
 * (a consumer group through the sidecar missed its bound in full runs).
 */
describe('topic-rewrite shadow mode (3-node cluster of its own)', () => {
  let cluster: KafkaCluster
  let direct: string
  let sc: TestSidecar

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 3, name: 'shadow' })
    direct = cluster.bootstrapServers
    sc = await startTestSidecar(
      direct,
      {
        filters: [
          {
            name: 'topic-rewrite',
            config: {
              rules: [
                {
                  name: 'shadow',
                  mode: 'shadow',
                  clients: { ids: ['shadowed-app'] },
                  topics: [{ regex: '(shadow-.*)', to: '$1-canary' }],
                },
              ],
            },
          },
        ],
      },
      { plugins: FILTER_PLUGINS },
    )
  })
  afterAll(async () => {
    await sc?.stop()
    await cluster?.stop()
  })

  it('every record acknowledged on orders is also in orders-canary, though the canary leader is killed meanwhile', async () => {
    const orders = uniqueTopicName('shadow')
    const canary = `${orders}-canary`
    await createTopic(cluster.describe(), canary, { partitions: 1 })
    const kafka = new Kafka({ brokers: direct.split(','), logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    let leader: number
    try {
      leader = await leaderOf(kafka, canary)
      // The original topic lives on the other two nodes, so the kill tests the shadow path, not the client's own.
      const others = cluster.nodes.map((n) => n.id).filter((id) => id !== leader)
      await admin.createTopics({
        topics: [{ topic: orders, replicaAssignment: [{ partition: 0, replicas: others }] }],
        waitForLeaders: false,
      })
    } finally {
      await admin.disconnect()
    }
    await waitForTopic(cluster.describe(), orders, { partitions: 1 })

    const values = Array.from({ length: 600 }, (_, i) => `s-${i}`)
    const producer = await spawnKafkaTool(cluster.describe(), 'console-producer', [
      '--bootstrap-server',
      sc.bootstrap,
      '--topic',
      orders,
      '--producer-property',
      'acks=all',
      '--producer-property',
      'client.id=shadowed-app',
      '--producer-property',
      'linger.ms=0',
    ])
    const stderr: Buffer[] = []
    producer.stderr.on('data', (d: Buffer) => stderr.push(d))
    try {
      // A third of the records, acknowledged and copied; then the canary topic's leader is killed, and the rest
      // follow in a steady trickle while the cluster elects a new leader.
      producer.stdin.write(`${values.slice(0, 200).join('\n')}\n`)
      await waitFor('the first records copied', async () => (await countDirect(kafka, canary)) >= 200, {
        timeoutMs: 60_000,
      })
      await cluster.killNode(leader)
      for (let i = 200; i < values.length; i += 20) {
        producer.stdin.write(`${values.slice(i, i + 20).join('\n')}\n`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      producer.stdin.end()
      const { code } = await producer.exited
      expect(code, Buffer.concat(stderr).toString()).toBe(0)
      expect(Buffer.concat(stderr).toString()).not.toMatch(/ERROR|Exception/)

      const acknowledged = await readValues(orders)
      expect(acknowledged.sort()).toEqual([...values].sort())
      // The sidecar's own producer retries across the leader change (a new leader is elected once the
      // controller fences the dead node); every acknowledged record shows up in the canary topic.
      let copied: string[] = []
      await waitFor(
        'every acknowledged record in the canary topic',
        async () => {
          copied = await readValues(canary)
          return values.every((v) => copied.includes(v))
        },
        { timeoutMs: 90_000, intervalMs: 2_000 },
      ).catch(() => {})
      expect(values.filter((v) => !copied.includes(v))).toEqual([])
      // The records after the kill were written by the canary partition's new leader.
      expect(await leaderOf(kafka, canary)).not.toBe(leader)
    } finally {
      await producer.stop(1_000).catch(() => {})
      await cluster.startNode(leader)
    }
  })

  /** The partition 0 leader, asked until a broker knows it (a node restarted by an earlier test may lag behind). */
  async function leaderOf(kafka: Kafka, topic: string): Promise<number> {
    let leader = -1
    await waitFor(
      `a leader for ${topic}`,
      async () => {
        const admin = kafka.admin()
        await admin.connect()
        try {
          leader = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions[0]!.leader
        } catch {
          leader = -1
        } finally {
          await admin.disconnect()
        }
        return leader >= 0
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    )
    return leader
  }

  async function countDirect(kafka: Kafka, topic: string): Promise<number> {
    const admin = kafka.admin()
    await admin.connect()
    try {
      const offsets = await admin.fetchTopicOffsets(topic)
      return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0)
    } finally {
      await admin.disconnect()
    }
  }

  /**
   * Every value in a topic, read directly from the brokers with kcat (no group: with a node down, the group
   * coordinator may be the dead one until the controller fences it).
   */
  async function readValues(topic: string): Promise<string[]> {
    const read = await runKcat(['-b', direct, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%s\n'], {
      timeoutMs: 30_000,
    })
    return read.stdout.split('\n').filter(Boolean)
  }
})
