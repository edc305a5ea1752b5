import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { ProduceRequestTopicProduceData } from '../../codec/messages/generated/produce-request.js'
import { CompressionType } from '../../codec/records/compression/index.js'
import type { RecordInput } from '../../codec/records/record.js'
import { RecordBatch } from '../../codec/records/record-batch.js'
import { encodeRecordBatch, recompressBatch } from '../../codec/records/record-batch-encoder.js'
import type { BrokerConnection } from './connection.js'
import { InvalidRequestError } from './errors.js'
import type { ClusterMetadata } from './metadata.js'
import type { Acks, RecordMetadata } from './produce-records.js'

/**
 * The producer's units (producer.ts): a batch of one partition's records, the produce() calls it answers, and the
 * Produce request that carries the batches of every partition one broker leads.
 */

/** One produce() call: resolves when all its records are acknowledged, rejects at the first failure. */
export interface Delivery {
  readonly results: RecordMetadata[]
  remaining: number
  settled: boolean
  resolve(results: RecordMetadata[]): void
  reject(err: Error): void
}

/** One produceBatch() call: a batch the caller encoded, answered as a whole. */
export interface BatchDelivery {
  resolve(result: BatchMetadata): void
  reject(err: Error): void
}

/** Where a batch of produceBatch() landed: its first record's offset (-1n with acks=0), the rest following it. */
export interface BatchMetadata {
  readonly partition: number
  readonly baseOffset: bigint
  readonly recordCount: number
}

export interface PartitionQueue {
  readonly topic: string
  readonly partition: number
  readonly acks: Acks
  readonly compression: CompressionType
  /** Waiting batches, oldest first; the last one takes appends while it is open. */
  readonly batches: Batch[]
}

export interface Batch {
  readonly queue: PartitionQueue
  readonly records: RecordInput[]
  /** For each record, the call it belongs to and its index there. */
  readonly owners: Delivery[]
  readonly slots: number[]
  bytes: number
  readonly createdAt: number
  /** Closed to appends: full, or sent at least once (a retry re-sends the same bytes). */
  closed: boolean
  attempts: number
  retryAt: number
  lastError: Error | undefined
  encoded: Buffer | undefined
  /** A batch the caller encoded (produceBatch): sent as it is, or recompressed; `records` stays empty. */
  readonly prebuilt?: { readonly batch: Buffer; readonly recordCount: number; readonly delivery: BatchDelivery }
}

export interface PendingRequest {
  readonly nodeId: number
  readonly acks: Acks
  readonly batches: Batch[]
  bytes: number
  /** The batches by how the response names them: `<topic name or id>:<partition>`. */
  byResponseKey?: Map<string, Batch>
}

export function newBatch(queue: PartitionQueue, now: number, prebuilt?: Batch['prebuilt']): Batch {
  return {
    queue,
    records: [],
    owners: [],
    slots: [],
    bytes: 0,
    createdAt: now,
    closed: false,
    attempts: 0,
    retryAt: 0,
    lastError: undefined,
    encoded: undefined,
    // Always present (undefined for records), so that every batch has the same shape.
    prebuilt,
  }
}

/** Gives each record its offset (baseOffset + its index; -1 without an answer, acks=0) and resolves finished calls. */
export function resolveBatch(b: Batch, baseOffset: bigint | undefined): void {
  const { topic, partition } = b.queue
  const pre = b.prebuilt
  if (pre !== undefined) {
    pre.delivery.resolve({ partition, baseOffset: baseOffset ?? -1n, recordCount: pre.recordCount })
    return
  }
  for (let i = 0; i < b.records.length; i++) {
    const d = b.owners[i]!
    if (d.settled) continue
    d.results[b.slots[i]!] = { topic, partition, offset: baseOffset === undefined ? -1n : baseOffset + BigInt(i) }
    if (--d.remaining === 0) {
      d.settled = true
      d.resolve(d.results)
    }
  }
}

/** Rejects every call with a record in the batch (a call fails as a whole, at its first failed batch). */
export function rejectBatch(b: Batch, err: Error): void {
  b.prebuilt?.delivery.reject(err)
  for (const d of b.owners) {
    if (d.settled) continue
    d.settled = true
    d.reject(err)
  }
}

/** The newest Produce both sides support; below 13 (topic ids, Kafka 4.1+) when a topic's id is unknown. */
export function produceVersion(conn: BrokerConnection, r: PendingRequest, metadata: ClusterMetadata): number {
  const version = conn.negotiatedVersion(ApiKey.Produce)
  if (version === undefined)
    throw new InvalidRequestError(`broker ${r.nodeId} offers no Produce version the sidecar's codec supports`)
  if (version < 13) return version
  const missingId = r.batches.some((b) => metadata.topic(b.queue.topic)?.id === undefined)
  if (!missingId) return version
  if (!conn.supports(ApiKey.Produce, 12))
    throw new InvalidRequestError(`broker ${r.nodeId} needs topic ids for Produce, and a topic's id is unknown`)
  return 12
}

/** The request's topics (by id from v13, by name before), and the key each batch's answer will come under. */
export function produceTopicData(
  r: PendingRequest,
  version: number,
  metadata: ClusterMetadata,
): ProduceRequestTopicProduceData[] {
  const byTopic = new Map<string, ProduceRequestTopicProduceData>()
  r.byResponseKey = new Map()
  for (const b of r.batches) {
    const q = b.queue
    const topicKey = version >= 13 ? metadata.topic(q.topic)!.id! : q.topic
    let t = byTopic.get(q.topic)
    if (t === undefined) {
      t = version >= 13 ? { topicId: topicKey, partitionData: [] } : { name: q.topic, partitionData: [] }
      byTopic.set(q.topic, t)
    }
    b.encoded ??= encodedBatch(b, q.compression)
    t.partitionData.push({ index: q.partition, records: b.encoded })
    r.byResponseKey.set(`${topicKey}:${q.partition}`, b)
  }
  return [...byTopic.values()]
}

function encodedBatch(b: Batch, compression: CompressionType): Buffer {
  const pre = b.prebuilt
  if (pre === undefined) return encodeRecordBatch(b.records, { compression })
  return compression === CompressionType.None ? pre.batch : recompressBatch(new RecordBatch(pre.batch), compression)
}
