import { readFile } from 'node:fs/promises'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConsumedRecords } from '../support/consumed-records.js'
import { probeMetadata } from './broker-probe.js'
import {
  ClusterControlClient,
  type ClusterControlServer,
  createTopic,
  getCluster,
  isProcessAlive,
  KafkaCluster,
  sharedClusters,
  startClusterControlServer,
  uniqueTopicName,
  waitFor,
} from './index.js'

const NAME = 'faults'

/** Node ids each running node lists in its Metadata response. */
async function brokersSeenBy(cluster: KafkaCluster): Promise<Record<number, number[]>> {
  const seen: Record<number, number[]> = {}
  for (const node of cluster.nodes.filter((n) => n.running)) {
    const metadata = await probeMetadata(node.host, node.port)
    seen[node.id] = metadata.brokers.map((broker) => broker.nodeId).sort()
  }
  return seen
}

// A dedicated cluster: faults on the shared ones would hit every other test file running at the same time.
describe('node faults on a dedicated 3-node cluster, through the control endpoint', () => {
  let cluster: KafkaCluster
  let server: ClusterControlServer
  let control: ClusterControlClient
  let kafka: Kafka
  const topic = uniqueTopicName('faults')
  const sent: string[] = []

  const produce = async (count: number): Promise<void> => {
    const values = Array.from({ length: count }, (_, i) => `faults-${sent.length + i}`)
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    try {
      await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) })
    } finally {
      await producer.disconnect()
    }
    sent.push(...values)
  }

  beforeAll(async () => {
    cluster = await KafkaCluster.start({
      name: NAME,
      nodes: 3,
      // Fence a dead broker after 4 s rather than 9 s, so the kill test does not idle.
      brokerProperties: { 'broker.session.timeout.ms': 4000, 'broker.heartbeat.interval.ms': 1000 },
    })
    server = await startClusterControlServer(new Map([[NAME, cluster]]))
    control = new ClusterControlClient(server.url)
    kafka = new Kafka({ brokers: cluster.bootstrapServers.split(','), logLevel: logLevel.NOTHING })
    await createTopic(cluster, topic, { partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } })
    await produce(30)
  })

  afterAll(async () => {
    await server?.close()
    await cluster?.stop()
  })

  it('kill: SIGKILLs the JVM, the cluster fences the node, and the rest keeps serving', async () => {
    const victim = (await control.describe(NAME)).nodes.find((node) => node.id === 3)!
    expect(victim.running).toBe(true)
    expect(isProcessAlive(victim.pid!)).toBe(true)

    const after = await control.nodeAction(NAME, 3, 'kill')
    expect(after.nodes.find((node) => node.id === 3)).toMatchObject({ running: false })
    expect(after.nodes.find((node) => node.id === 3)?.pid).toBeUndefined()
    expect(isProcessAlive(victim.pid!)).toBe(false)

    await waitFor(
      'nodes 1 and 2 to fence node 3',
      async () => {
        const seen = await brokersSeenBy(cluster)
        return seen[1]?.join() === '1,2' && seen[2]?.join() === '1,2'
      },
      { timeoutMs: 30_000 },
    )
    // min.insync.replicas=2 of 3: acks=all writes must still succeed with one node down.
    await produce(30)
  })

  it('start: brings the killed node back with a new JVM, listed by every node', async () => {
    const before = (await control.describe(NAME)).nodes.find((node) => node.id === 3)!
    expect(before.running).toBe(false)
    const after = await control.nodeAction(NAME, 3, 'start')
    const node3 = after.nodes.find((node) => node.id === 3)!
    expect(node3.running).toBe(true)
    expect(isProcessAlive(node3.pid!)).toBe(true)
    expect(await brokersSeenBy(cluster)).toEqual({ 1: [1, 2, 3], 2: [1, 2, 3], 3: [1, 2, 3] })
  })

  it('stop: a graceful SIGTERM shutdown (the broker logs its controlled shutdown)', async () => {
    const node2 = cluster.nodes.find((node) => node.id === 2)!
    const after = await control.nodeAction(NAME, 2, 'stop')
    expect(after.nodes.find((node) => node.id === 2)?.running).toBe(false)
    expect(isProcessAlive(node2.pid!)).toBe(false)
    expect(await readFile(node2.logFile, 'utf8')).toMatch(/shut down completed|shutdown completed/i)
    await control.nodeAction(NAME, 2, 'start')
    expect(await brokersSeenBy(cluster)).toEqual({ 1: [1, 2, 3], 2: [1, 2, 3], 3: [1, 2, 3] })
  })

  it('restart: node 1 comes back with a new pid and no record is lost', async () => {
    const oldPid = cluster.nodes.find((node) => node.id === 1)!.pid!
    const after = await control.nodeAction(NAME, 1, 'restart')
    const node1 = after.nodes.find((node) => node.id === 1)!
    expect(node1.running).toBe(true)
    expect(node1.pid).not.toBe(oldPid)
    expect(isProcessAlive(oldPid)).toBe(false)
    expect(await brokersSeenBy(cluster)).toEqual({ 1: [1, 2, 3], 2: [1, 2, 3], 3: [1, 2, 3] })

    await produce(30)
    const received = new ConsumedRecords<string>()
    const consumer = kafka.consumer({ groupId: `${topic}-check` })
    await consumer.connect()
    try {
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({
        eachMessage: async ({ topic, partition, message }) =>
          received.add(topic, partition, message.offset, message.value?.toString() ?? ''),
      })
      await waitFor(`${sent.length} records`, () => received.size >= sent.length, { timeoutMs: 60_000 })
    } finally {
      await consumer.disconnect()
    }
    expect(received.size).toBe(sent.length)
    expect(received.records().sort()).toEqual([...sent].sort())
  })

  it('refuses impossible actions with the typed error of the globalSetup side', async () => {
    await expect(control.nodeAction(NAME, 1, 'start')).rejects.toMatchObject({
      code: 'KSC_ERR_HARNESS_CONTROL_REQUEST',
      remoteCode: 'KSC_ERR_HARNESS_NODE_STATE',
    })
    await expect(control.nodeAction(NAME, 9, 'kill')).rejects.toMatchObject({
      remoteCode: 'KSC_ERR_HARNESS_UNKNOWN_NODE',
    })
    await expect(control.describe('no-such-cluster')).rejects.toMatchObject({
      remoteCode: 'KSC_ERR_HARNESS_UNKNOWN_CLUSTER',
    })
  })
})

describe('getCluster (shared clusters, read-only here)', () => {
  it.each(
    sharedClusters().map((cluster) => cluster.name),
  )('%s: the control endpoint describes the running cluster', async (name) => {
    const cluster = getCluster(name)
    const fresh = await cluster.refresh()
    expect(fresh.bootstrapServers).toBe(cluster.bootstrapServers)
    expect(fresh.nodes.map((node) => node.running)).toEqual(fresh.nodes.map(() => true))
    for (const node of fresh.nodes) expect(isProcessAlive(node.pid!)).toBe(true)
  })

  it('names the clusters that exist when asked for one that does not', () => {
    expect(() => getCluster('nope')).toThrow(/single/)
  })
})
