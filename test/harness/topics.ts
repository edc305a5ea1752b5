import { Kafka, logLevel } from 'kafkajs'
import { probeMetadata } from './broker-probe.js'
import type { KafkaClusterDescription } from './kafka-cluster.js'
import { waitFor } from './wait-for.js'

type ClusterAddress = Pick<KafkaClusterDescription, 'bootstrapServers' | 'nodes'>

export interface CreateTopicOptions {
  /** Default 3. */
  partitions?: number
  /** Default: 3 on a cluster of three or more nodes, else the node count. */
  replicationFactor?: number
  /** Topic configs, e.g. { 'min.insync.replicas': '2' }. */
  configs?: Readonly<Record<string, string>>
  timeoutMs?: number
}

/**
 * Creates a topic and returns once EVERY running broker knows it and sees a leader for every partition.
 * kafkajs' own `waitForLeaders` is not enough: it asks one broker, and on a 3-node Kafka 3.9 cluster the
 * others often have not applied the new topic yet, so the next client that asks them gets
 * UNKNOWN_TOPIC_OR_PARTITION (measured: about half of all creations).
 */
export async function createTopic(
  cluster: ClusterAddress,
  topic: string,
  options: CreateTopicOptions = {},
): Promise<void> {
  const partitions = options.partitions ?? 3
  const admin = new Kafka({ brokers: cluster.bootstrapServers.split(','), logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: partitions,
          replicationFactor: options.replicationFactor ?? Math.min(3, cluster.nodes.length),
          configEntries: Object.entries(options.configs ?? {}).map(([name, value]) => ({ name, value })),
        },
      ],
      waitForLeaders: false,
    })
  } finally {
    await admin.disconnect()
  }
  await waitForTopic(cluster, topic, { partitions, timeoutMs: options.timeoutMs ?? 30_000 })
}

/** Waits until every running broker lists `topic` with `partitions` partitions, each with a leader. */
export async function waitForTopic(
  cluster: ClusterAddress,
  topic: string,
  options: { partitions: number; timeoutMs?: number },
): Promise<void> {
  const running = cluster.nodes.filter((node) => node.running)
  await waitFor(
    `every broker to know topic ${topic} and a leader for each of its ${options.partitions} partitions`,
    async () => {
      const views = await Promise.all(running.map((node) => probeMetadata(node.host, node.port, { topics: [topic] })))
      return views.every(({ topics: [seen] }) => {
        if (seen?.errorCode !== 0 || seen.partitions.length !== options.partitions) return false
        // REPLICA_NOT_AVAILABLE (9) only says a follower is down (e.g. a killed node): the partition is usable.
        return seen.partitions.every((partition) => partition.leader >= 0 && [0, 9].includes(partition.errorCode))
      })
    },
    { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 100 },
  )
}
