import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { UpstreamClient } from '../../src/upstream-client/client.js'
import { BrokerConnection } from '../../src/upstream-client/connection.js'
import { ClusterUnreachableError, UnknownTopicError } from '../../src/upstream-client/errors.js'
import {
  createTopic,
  getCluster,
  runKafkaTool,
  runKcat,
  sharedClusters,
  uniqueTopicName,
  waitFor,
} from '../harness/index.js'
import { kcatRead, newClient } from './support.js'

/**
 * The upstream client against a real Kafka broker (each shared 1-node cluster: 4.x and 3.9), checked with clients nobody here
 * wrote: kcat reads back what it produced, Kafka's console producer shows where the Java partitioner puts keys,
 * kafka-topics prints the topic ids.
 */
const singles = sharedClusters().filter((c) => c.nodes.length === 1)

describe.each(singles.map((c) => c.name))('upstream client against %s', (name) => {
  const cluster = getCluster(name)
  const bootstrap = cluster.bootstrapServers
  const readerProperty = Number.parseInt(cluster.version, 10) >= 4 ? '--reader-property' : '--property'
  let client: UpstreamClient

  beforeAll(() => {
    client = newClient(bootstrap)
  })

  afterAll(async () => {
    await client?.close()
  })

  it('produces to a 3-partition topic: kcat reads keys, values, headers, timestamps and offsets exactly', async () => {
    const topic = uniqueTopicName('uc-produce')
    await createTopic(cluster.description, topic, { partitions: 3 })
    const records = Array.from({ length: 60 }, (_, i) => ({
      key: i % 10 === 9 ? null : `key-${i % 7}`,
      value: i === 5 ? null : `value ${i} ✓ ${'x'.repeat(i * 13)}`,
      headers:
        i % 3 === 0
          ? []
          : [
              { key: 'h-one', value: `h${i}` },
              { key: 'h-two', value: '' },
            ],
      timestamp: 1_700_000_000_000 + i * 1_001,
    }))
    // Several calls, so that batches hold records of more than one call.
    const results = (
      await Promise.all([
        client.produce(topic, records.slice(0, 20)),
        client.produce(topic, records.slice(20, 45), { acks: 1 }),
        client.produce(topic, records.slice(45)),
      ])
    ).flat()
    expect(results).toHaveLength(60)

    const read = await kcatRead(bootstrap, topic)
    expect(read).toHaveLength(60)
    const at = new Map(read.map((r) => [`${r.partition}:${r.offset}`, r]))
    for (const [i, result] of results.entries()) {
      const r = at.get(`${result.partition}:${result.offset}`)
      const sent = records[i]!
      expect(r, `record ${i} at ${result.partition}:${result.offset}`).toBeDefined()
      expect(r!.key).toBe(sent.key)
      expect(r!.payload).toBe(sent.value)
      expect(r!.tstype).toBe('create')
      expect(r!.ts).toBe(sent.timestamp)
      expect(r!.headers ?? []).toEqual(sent.headers.flatMap((h) => [h.key, h.value]))
    }
  })

  it('with each compression type, records kcat reads back', async () => {
    const topic = uniqueTopicName('uc-compression')
    await createTopic(cluster.description, topic, { partitions: 1 })
    const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const
    for (const compression of codecs) {
      const values = Array.from({ length: 50 }, (_, i) => `${compression} ${i} ${'abc'.repeat(20)}`)
      await client.produce(
        topic,
        values.map((value) => ({ value })),
        { compression },
      )
    }
    const read = await kcatRead(bootstrap, topic)
    expect(read.map((r) => r.payload)).toEqual(
      codecs.flatMap((c) => Array.from({ length: 50 }, (_, i) => `${c} ${i} ${'abc'.repeat(20)}`)),
    )
  })

  it("puts every key in the partition Kafka's Java producer picks for it", async () => {
    const ours = uniqueTopicName('uc-keys-ours')
    const java = uniqueTopicName('uc-keys-java')
    await createTopic(cluster.description, ours, { partitions: 3 })
    await createTopic(cluster.description, java, { partitions: 3 })
    const keys = Array.from({ length: 200 }, (_, i) => `user-${i * 7919}-${'k'.repeat(i % 11)}`)
    const produced = await runKafkaTool(
      cluster,
      'console-producer',
      [
        ...['--bootstrap-server', bootstrap, '--topic', java],
        // Kafka 4 renamed the console producer's --property to --reader-property.
        ...[readerProperty, 'parse.key=true', readerProperty, 'key.separator=|'],
      ],
      { input: `${keys.map((k) => `${k}|v`).join('\n')}\n` },
    )
    expect(produced.code, produced.stderr).toBe(0)
    const javaPartition = new Map((await kcatRead(bootstrap, java)).map((r) => [r.key!, r.partition]))
    expect(javaPartition.size).toBe(keys.length)

    const results = await client.produce(
      ours,
      keys.map((key) => ({ key, value: 'v' })),
    )
    expect(new Set(results.map((r) => r.partition))).toEqual(new Set([0, 1, 2]))
    const mismatches = keys.filter((key, i) => javaPartition.get(key) !== results[i]!.partition)
    expect(mismatches).toEqual([])
  })

  it('topicIds and topicNames agree with the ids kafka-topics prints', async () => {
    const a = uniqueTopicName('uc-ids-a')
    const b = uniqueTopicName('uc-ids-b')
    await createTopic(cluster.description, a, { partitions: 1 })
    await createTopic(cluster.description, b, { partitions: 2 })
    const printed = new Map<string, string>()
    for (const topic of [a, b]) {
      const described = await runKafkaTool(cluster, 'topics', [
        '--bootstrap-server',
        bootstrap,
        '--describe',
        '--topic',
        topic,
      ])
      expect(described.code, described.stderr).toBe(0)
      printed.set(topic, /TopicId:\s*(\S+)/.exec(described.stdout)![1]!)
    }
    const fresh = newClient(bootstrap)
    try {
      const ids = await fresh.topicIds([a, b, 'uc-no-such-topic'])
      expect(ids).toEqual(printed)
      // A second client, so that the names come from the broker (Metadata by id), not from the first lookup.
      const other = newClient(bootstrap)
      try {
        const unknown = 'AAAAAAAAAAAAAAAAAAAAAQ'
        const names = await other.topicNames([printed.get(b)!, printed.get(a)!, unknown])
        expect(names).toEqual(
          new Map([
            [printed.get(b)!, b],
            [printed.get(a)!, a],
          ]),
        )
      } finally {
        await other.close()
      }
    } finally {
      await fresh.close()
    }
  })

  it('metadata: brokers as the cluster advertises them, every topic with null', async () => {
    const topic = uniqueTopicName('uc-metadata')
    await createTopic(cluster.description, topic, { partitions: 2 })
    const view = await client.metadata(null)
    expect([...view.brokers.values()].map((b) => `${b.host}:${b.port}`).sort()).toEqual(
      cluster.nodes.map((n) => `${n.host}:${n.port}`).sort(),
    )
    expect(view.topics.get(topic)?.partitions.map((p) => p.leader)).toEqual([1, 1].map(() => cluster.nodes[0]!.id))
    expect(view.controllerId).toBe(cluster.nodes[0]!.id)
  })

  it('send: any request to any broker, a node id or the controller, at the newest common version', async () => {
    const any = await client.send('any', ApiKey.DescribeCluster, 'max', {
      includeClusterAuthorizedOperations: false,
      endpointType: 1,
      includeFencedBrokers: false,
    })
    expect(any.apiVersion).toBeGreaterThanOrEqual(1)
    expect(any.body.errorCode).toBe(0)
    expect(any.body.brokers.map((b) => b.brokerId)).toEqual(cluster.nodes.map((n) => n.id))

    const node = cluster.nodes[0]!.id
    const metadata = await client.send(node, ApiKey.Metadata, 4, { topics: [], allowAutoTopicCreation: false })
    expect(metadata.apiVersion).toBe(4)
    expect(metadata.body.brokers[0]?.nodeId).toBe(node)

    const controller = await client.send('controller', ApiKey.ApiVersions, 'max', {
      clientSoftwareName: 'x',
      clientSoftwareVersion: '1',
      clusterId: null,
      nodeId: -1,
    })
    expect(controller.body.apiKeys.some((k) => k.apiKey === ApiKey.Produce)).toBe(true)
  })

  it('batches many small produce calls into few requests', async () => {
    const topic = uniqueTopicName('uc-batching')
    await createTopic(cluster.description, topic, { partitions: 3 })
    const fresh = newClient(bootstrap, { producer: { lingerMs: 10 } })
    await fresh.metadata([topic])
    const spy = vi.spyOn(BrokerConnection.prototype, 'request')
    try {
      const calls = Array.from({ length: 1_000 }, (_, i) => fresh.produce(topic, [{ key: `k${i}`, value: `v${i}` }]))
      const results = (await Promise.all(calls)).flat()
      const produceCalls = spy.mock.calls.filter(([apiKey]) => apiKey === ApiKey.Produce)
      const produceRequests = produceCalls.length
      // The newest Produce version both the broker and the codec support.
      const offered = (
        await fresh.send('any', ApiKey.ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' })
      ).body.apiKeys.find((k) => k.apiKey === ApiKey.Produce)!.maxVersion
      expect(new Set(produceCalls.map(([, version]) => version))).toEqual(new Set([Math.min(offered, 13)]))
      expect(produceRequests).toBeGreaterThan(0)
      expect(produceRequests).toBeLessThanOrEqual(30)
      expect(new Set(results.map((r) => `${r.partition}:${r.offset}`)).size).toBe(1_000)
    } finally {
      spy.mockRestore()
      await fresh.close()
    }
    expect(await kcatRead(bootstrap, topic)).toHaveLength(1_000)
  })

  it('acks=0 records arrive too', async () => {
    const topic = uniqueTopicName('uc-acks0')
    await createTopic(cluster.description, topic, { partitions: 1 })
    const results = await client.produce(topic, [{ value: 'a' }, { value: 'b' }], { acks: 0 })
    expect(results.map((r) => r.offset)).toEqual([-1n, -1n])
    const read = await waitFor(
      '2 records',
      async () => {
        const r = await kcatRead(bootstrap, topic)
        return r.length === 2 && r
      },
      { timeoutMs: 30_000 },
    )
    expect(read.map((r) => r.payload)).toEqual(['a', 'b'])
  })

  it('a topic that does not exist: UnknownTopicError after maxBlockMs, and no topic is created', async () => {
    const fresh = newClient(bootstrap, { maxBlockMs: 1_000 })
    const topic = uniqueTopicName('uc-missing')
    try {
      const err = await fresh.produce(topic, [{ value: 'x' }]).catch((e) => e)
      expect(err).toBeInstanceOf(UnknownTopicError)
      expect(err.code).toBe('KSC_ERR_UPSTREAM_CLIENT_UNKNOWN_TOPIC')
    } finally {
      await fresh.close()
    }
    const listed = await runKcat(['-b', bootstrap, '-L', '-t', topic])
    expect(listed.stdout).not.toMatch(new RegExp(`topic "${topic}" with [1-9]`))
  })

  it('a cluster that cannot be reached: health says why, requests fail with the reason', async () => {
    const fresh = newClient('127.0.0.1:1', { reconnectBackoffMaxMs: 200 })
    const events: boolean[] = []
    fresh.on('health', (h) => events.push(h.connected))
    try {
      fresh.start()
      const health = await waitFor(
        'health to report the failure',
        () => fresh.health().lastError !== undefined && fresh.health(),
        {
          timeoutMs: 10_000,
          intervalMs: 20,
        },
      )
      expect(health.connected).toBe(false)
      expect(health.lastError).toMatch(/connection refused/)
      expect(health.nodes).toEqual([expect.objectContaining({ nodeId: -1, connected: false })])
      expect(events).toEqual([false])
      const err = await fresh.metadata().catch((e) => e)
      expect(err).toBeInstanceOf(ClusterUnreachableError)
      expect(err.message).toMatch(/cannot connect to broker 127.0.0.1:1: connection refused/)
    } finally {
      await fresh.close()
    }
  })
})
