import { CompressionType } from '../../codec/records/compression/index.js'
import type { RecordInput } from '../../codec/records/record.js'

/** What callers of produce() hand over and get back, and its conversion to the codec's record input. */

export type Acks = 0 | 1 | -1
export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'

export interface ProducerRecord {
  key?: Uint8Array | string | null
  value: Uint8Array | string | null
  headers?: readonly { key: string; value: Uint8Array | string | null }[]
  /** Milliseconds since the epoch; default: when produce() is called. */
  timestamp?: number | bigint
  /** Overrides the partitioner for this record. */
  partition?: number
}

export interface ProduceOptions {
  acks?: Acks
  compression?: CompressionName
  /** Every record of this call to this partition (a record's own `partition` still wins). */
  partition?: number
}

export interface RecordMetadata {
  topic: string
  partition: number
  /** The record's offset; -1n with acks=0, which gets no answer. */
  offset: bigint
}

const COMPRESSION: Record<CompressionName, CompressionType> = {
  none: CompressionType.None,
  gzip: CompressionType.Gzip,
  snappy: CompressionType.Snappy,
  lz4: CompressionType.Lz4,
  zstd: CompressionType.Zstd,
}

export function compressionType(name: CompressionName): CompressionType {
  return COMPRESSION[name]
}

/** A record's fixed fields at their largest varint sizes (length, attributes, deltas, key/value lengths, count). */
const RECORD_OVERHEAD = 24

function bytesOf(v: Uint8Array | string | null | undefined): Uint8Array | null {
  if (v === undefined || v === null) return null
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v
}

export function toRecordInput(r: ProducerRecord, now: number): RecordInput {
  const ts = r.timestamp
  return {
    key: bytesOf(r.key),
    value: bytesOf(r.value),
    headers: r.headers?.map((h) => ({ key: h.key, value: bytesOf(h.value) })) ?? [],
    timestamp: ts === undefined ? BigInt(now) : typeof ts === 'bigint' ? ts : BigInt(Math.trunc(ts)),
  }
}

/** About the record's encoded size: what batchBytes and bufferBytes count. */
export function sizeOf(r: RecordInput): number {
  let size = RECORD_OVERHEAD + (r.key?.length ?? 0) + (r.value?.length ?? 0)
  for (const h of r.headers ?? []) size += 10 + Buffer.byteLength(h.key) + (h.value?.length ?? 0)
  return size
}
