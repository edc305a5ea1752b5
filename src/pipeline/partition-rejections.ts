import { splitByPartition } from '../../codec/messages/partition-split.js'
import type { DecodedRequest, PartitionRejection } from './filter-api.js'

/**
 * The per-partition form of an error answer (the rejectPartitions verdict): the request with only the partitions no
 * filter rejected, and how to merge the broker's answer for those with the local errors so the client gets one
 * response in its own order (codec/messages/partition-split.ts does both from the schema, for every API that
 * addresses topic partitions one by one).
 */
export interface RejectionSplit {
  /** The request body to send to the broker, or undefined when every partition was rejected. */
  readonly remaining: unknown | undefined
  /** The client's response: the broker's answer (undefined when nothing was sent) with the rejections put back. */
  merge(brokerBody: unknown | undefined): unknown
}

export function splitRejectedPartitions(
  req: DecodedRequest,
  rejections: readonly PartitionRejection[],
): RejectionSplit {
  const byPartition = new Map<string, PartitionRejection>()
  for (const r of rejections) byPartition.set(`${r.partition}:${r.topic}`, r)
  const split = splitByPartition(req.apiKey, req.apiVersion, req.body, (topic, partition) =>
    byPartition.get(`${partition}:${topic}`),
  )
  return {
    remaining: split.forward,
    merge: (brokerBody) => split.merge(brokerBody as Parameters<typeof split.merge>[0]),
  }
}
