/**
 * What the soak checks once the producers have stopped, all straight against the brokers: every record of both
 * topics read back (into the ledger, and counted for the load topic), the read shown complete against the high
 * watermarks, and both consumer groups' committed offsets against the last acknowledged record of each partition.
 */
import { waitFor } from '../../../test/harness/wait-for.js'
import type { ClusterView } from './cluster-view.js'
import type { AckLedger } from './ledger.js'
import { readTopic } from './read-back.js'

export interface ReadBackTotals {
  /** Records read from the verified topic. */
  records: number
  /** Highest offset of an acknowledged record, per partition of the verified topic. */
  maxAckedOffset: Map<number, number>
  /** Records read from the load topic. */
  loadRecords: number
  /** Partitions whose read did not reach the high watermark, in words. */
  incompletePartitions: string[]
}

export async function readBackAll(
  view: ClusterView,
  bootstrapServers: string,
  ledger: AckLedger,
  topic: string,
  loadTopic: string,
): Promise<ReadBackTotals> {
  const maxAckedOffset = new Map<number, number>()
  const verified = await readTopic(bootstrapServers, topic, (partition, offset, key) => {
    ledger.readBack(partition, key)
    if (ledger.isAcked(key) && offset > (maxAckedOffset.get(partition) ?? -1)) maxAckedOffset.set(partition, offset)
  })
  let loadRecords = 0
  const load = await readTopic(bootstrapServers, loadTopic, () => {
    loadRecords++
  })
  const incompletePartitions: string[] = []
  for (const [t, read] of [
    [topic, verified],
    [loadTopic, load],
  ] as const) {
    for (const [partition, hw] of await view.endOffsets(t)) {
      const end = read.endOffsets.get(partition)
      if (end !== hw) incompletePartitions.push(`${t}-${partition} read to ${end ?? 'nothing'}, high watermark ${hw}`)
    }
  }
  return { records: verified.records, maxAckedOffset, loadRecords, incompletePartitions }
}

export interface GroupConsumer {
  readonly name: string
  readonly protocol: 'classic' | 'consumer'
  readonly groupId: string
  readonly consumed: number
  readonly restarts: number
  stop(): Promise<void>
}

export interface ConsumerTotals {
  name: string
  groupId: string
  protocol: 'classic' | 'consumer'
  consumed: number
  restarts: number
  /** Partitions whose committed offset is not past the last acknowledged record. */
  partitionsBehind: number
  /** Sum over partitions of high watermark minus committed offset, after the consumer stopped. */
  lagAtEnd: number
}

/**
 * Waits (up to `timeoutMs`) for every group to commit past the last acknowledged record of each partition, stops
 * the consumers (a clean close commits once more), and reads the committed offsets as they are left.
 */
export async function settleConsumers(
  view: ClusterView,
  topic: string,
  consumers: readonly GroupConsumer[],
  maxAckedOffset: ReadonlyMap<number, number>,
  timeoutMs: number,
): Promise<ConsumerTotals[]> {
  const behind = async (groupId: string): Promise<number> => {
    const committed = await view.committedOffsets(groupId, topic)
    let n = 0
    for (const [partition, offset] of maxAckedOffset) if ((committed.get(partition) ?? -1) <= offset) n++
    return n
  }
  await waitFor(
    'every consumer group to commit past every acknowledged record',
    async () => (await Promise.all(consumers.map((c) => behind(c.groupId)))).every((n) => n === 0),
    { timeoutMs, intervalMs: 2_000 },
  ).catch(() => {
    // reported per group below
  })
  await Promise.all(consumers.map((c) => c.stop()))
  const highWatermarks = await view.endOffsets(topic)
  const totals: ConsumerTotals[] = []
  for (const c of consumers) {
    const committed = await view.committedOffsets(c.groupId, topic)
    let lag = 0
    for (const [partition, hw] of highWatermarks) lag += hw - Math.max(0, committed.get(partition) ?? 0)
    totals.push({
      name: c.name,
      groupId: c.groupId,
      protocol: c.protocol,
      consumed: c.consumed,
      restarts: c.restarts,
      partitionsBehind: await behind(c.groupId),
      lagAtEnd: lag,
    })
  }
  return totals
}
