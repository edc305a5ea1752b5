/**
 * The soak's view of the cluster straight from the brokers, never through the sidecar under test: partition
 * leaders and in-sync replicas (for the leadership and broker faults), log end offsets and a group's committed
 * offsets (for the end-of-run checks). One kafkajs admin client, reconnected when a broker it used has died.
 */
import { type Admin, Kafka, logLevel } from 'kafkajs'

export interface PartitionState {
  topic: string
  partition: number
  leader: number
  replicas: number[]
  isr: number[]
}

export class ClusterView {
  readonly #kafka: Kafka
  #admin: Admin | undefined

  constructor(bootstrapServers: string) {
    this.#kafka = new Kafka({
      clientId: 'soak-observer',
      brokers: bootstrapServers.split(','),
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 3_000 },
    })
  }

  async partitions(topics: readonly string[]): Promise<PartitionState[]> {
    const metadata = await this.#call((admin) => admin.fetchTopicMetadata({ topics: [...topics] }))
    return metadata.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionId,
        leader: p.leader,
        replicas: p.replicas,
        isr: p.isr,
      })),
    )
  }

  /** High watermark (read_uncommitted log end) per partition. */
  async endOffsets(topic: string): Promise<Map<number, number>> {
    const offsets = await this.#call((admin) => admin.fetchTopicOffsets(topic))
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]))
  }

  /** Committed offset per partition; -1 where the group has committed none. */
  async committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    const [entry] = await this.#call((admin) => admin.fetchOffsets({ groupId, topics: [topic] }))
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]))
  }

  async createTopic(topic: string, partitions: number, configs: Record<string, string>): Promise<void> {
    await this.#call((admin) =>
      admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: partitions,
            replicationFactor: 3,
            configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
          },
        ],
        waitForLeaders: true,
      }),
    )
  }

  async close(): Promise<void> {
    await this.#admin?.disconnect().catch(() => {})
    this.#admin = undefined
  }

  async #call<T>(operation: (admin: Admin) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (!this.#admin) {
          const admin = this.#kafka.admin()
          await admin.connect()
          this.#admin = admin
        }
        return await operation(this.#admin)
      } catch (err) {
        await this.close()
        if (attempt >= 3) throw err
      }
    }
  }
}
