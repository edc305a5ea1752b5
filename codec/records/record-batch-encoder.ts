import { Writer } from '../primitives/writer.js'
import {
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_SEQUENCE,
  BASE_TIMESTAMP,
  BATCH_LENGTH,
  COMPRESSION_MASK,
  CONTROL_BIT,
  CRC,
  DELETE_HORIZON_BIT,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAGIC_V2,
  MAX_TIMESTAMP,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  NO_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORDS,
  RECORDS_COUNT,
  TIMESTAMP_TYPE_BIT,
  TimestampType,
  TRANSACTIONAL_BIT,
} from './batch-layout.js'
import { CompressionType, compressionCodec, DEFAULT_MAX_DECOMPRESSED_SIZE } from './compression/index.js'
import { encodeEndTxnMarker } from './control-record.js'
import { crc32c } from './crc32c.js'
import { type PreparedRecord, prepareRecord, type RecordInput, sizeOfPreparedRecord, writeRecord } from './record.js'
import type { RecordBatch } from './record-batch.js'

export interface EncodeBatchOptions {
  baseOffset?: bigint
  partitionLeaderEpoch?: number
  compression?: CompressionType
  timestampType?: TimestampType
  /** Default: the first record's timestamp, as MemoryRecordsBuilder does (-1 for an empty batch). */
  baseTimestamp?: bigint
  /** Default: the largest record timestamp (-1 for an empty batch); with LogAppendTime, the append time. */
  maxTimestamp?: bigint
  /** Default: the largest offsetDelta of the records (0 for an empty batch). */
  lastOffsetDelta?: number
  /** KIP-534: marks the batch and stores this in baseTimestamp instead of the first record's timestamp. */
  deleteHorizonMs?: bigint
  isTransactional?: boolean
  isControl?: boolean
  producerId?: bigint
  producerEpoch?: number
  baseSequence?: number
  /** Timestamp of records that have none (default: now). */
  timestamp?: bigint
}

/**
 * Encodes one record batch v2 (layout in batch-layout.ts, records in record.ts) with its CRC-32C.
 * Uncompressed, the records are written straight into the batch buffer; compressed, into one buffer that the
 * codec then compresses.
 */
export function encodeRecordBatch(records: readonly RecordInput[], options: EncodeBatchOptions = {}): Buffer {
  const now = options.timestamp ?? BigInt(Date.now())
  const timestamps = records.map((r) => r.timestamp ?? now)
  let baseTimestamp = options.baseTimestamp ?? (timestamps.length > 0 ? timestamps[0]! : NO_TIMESTAMP)
  if (options.deleteHorizonMs !== undefined) baseTimestamp = options.deleteHorizonMs
  let maxTimestamp = NO_TIMESTAMP
  for (const t of timestamps) if (t > maxTimestamp) maxTimestamp = t
  maxTimestamp = options.maxTimestamp ?? maxTimestamp

  let lastOffsetDelta = 0
  const prepared: PreparedRecord[] = new Array(records.length)
  let recordsSize = 0
  for (let i = 0; i < records.length; i++) {
    const offsetDelta = records[i]!.offsetDelta ?? i
    if (offsetDelta > lastOffsetDelta) lastOffsetDelta = offsetDelta
    const p = prepareRecord(records[i]!, timestamps[i]! - baseTimestamp, offsetDelta)
    prepared[i] = p
    recordsSize += sizeOfPreparedRecord(p)
  }

  const compression = options.compression ?? CompressionType.None
  let batch: Buffer
  if (compression === CompressionType.None) {
    const w = new Writer(RECORDS + recordsSize)
    w.pos = RECORDS
    for (const p of prepared) writeRecord(w, p)
    batch = w.finish()
  } else {
    const w = new Writer(recordsSize)
    for (const p of prepared) writeRecord(w, p)
    const compressed = compressionCodec(compression).compress(w.finish())
    batch = Buffer.allocUnsafe(RECORDS + compressed.length)
    batch.set(compressed, RECORDS)
  }

  let attributes = compression & COMPRESSION_MASK
  if (options.timestampType === TimestampType.LogAppendTime) attributes |= TIMESTAMP_TYPE_BIT
  if (options.isTransactional) attributes |= TRANSACTIONAL_BIT
  if (options.isControl) attributes |= CONTROL_BIT
  if (options.deleteHorizonMs !== undefined) attributes |= DELETE_HORIZON_BIT

  writeRecordBatchHeader(batch, {
    baseOffset: options.baseOffset ?? 0n,
    partitionLeaderEpoch: options.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
    attributes,
    lastOffsetDelta: options.lastOffsetDelta ?? lastOffsetDelta,
    baseTimestamp,
    maxTimestamp,
    producerId: options.producerId ?? NO_PRODUCER_ID,
    producerEpoch: options.producerEpoch ?? NO_PRODUCER_EPOCH,
    baseSequence: options.baseSequence ?? NO_SEQUENCE,
    recordCount: records.length,
  })
  return batch
}

/** The header fields of a batch v2 (batch-layout.ts), as writeRecordBatchHeader writes them. */
export interface RecordBatchHeader {
  baseOffset: bigint
  partitionLeaderEpoch: number
  /** The attribute bits (compression, timestamp type, transactional, control, delete horizon). */
  attributes: number
  lastOffsetDelta: number
  baseTimestamp: bigint
  maxTimestamp: bigint
  producerId: bigint
  producerEpoch: number
  baseSequence: number
  recordCount: number
}

/**
 * Writes the header of the batch `batch` holds: its records section (as stored: compressed when the attributes say
 * so) already written from byte 61 (RECORDS) to the end of `batch`, by encodeRecordBatch or by a caller that encodes
 * records its own way (copying them from other batches). Computes the length from `batch` and the CRC-32C last.
 */
export function writeRecordBatchHeader(batch: Buffer, header: RecordBatchHeader): void {
  batch.writeBigInt64BE(header.baseOffset, BASE_OFFSET)
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH)
  batch.writeInt32BE(header.partitionLeaderEpoch, PARTITION_LEADER_EPOCH)
  batch.writeInt8(MAGIC_V2, MAGIC)
  batch.writeInt16BE(header.attributes, ATTRIBUTES)
  batch.writeInt32BE(header.lastOffsetDelta, LAST_OFFSET_DELTA)
  batch.writeBigInt64BE(header.baseTimestamp, BASE_TIMESTAMP)
  batch.writeBigInt64BE(header.maxTimestamp, MAX_TIMESTAMP)
  batch.writeBigInt64BE(header.producerId, PRODUCER_ID)
  batch.writeInt16BE(header.producerEpoch, PRODUCER_EPOCH)
  batch.writeInt32BE(header.baseSequence, BASE_SEQUENCE)
  batch.writeInt32BE(header.recordCount, RECORDS_COUNT)
  batch.writeUInt32BE(crc32c(batch, 0, ATTRIBUTES, batch.length), CRC)
}

export interface EndTxnMarkerOptions {
  producerId: bigint
  producerEpoch: number
  commit: boolean
  coordinatorEpoch: number
  baseOffset?: bigint
  partitionLeaderEpoch?: number
  timestamp?: bigint
}

/**
 * A transaction marker batch: control and transactional, one uncompressed control record, no sequence
 * (MemoryRecords.withEndTransactionMarker).
 */
export function encodeEndTxnMarkerBatch(options: EndTxnMarkerOptions): Buffer {
  const { key, value } = encodeEndTxnMarker(options.commit, options.coordinatorEpoch)
  return encodeRecordBatch(
    [{ key, value, ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }) }],
    {
      isControl: true,
      isTransactional: true,
      producerId: options.producerId,
      producerEpoch: options.producerEpoch,
      baseOffset: options.baseOffset ?? 0n,
      partitionLeaderEpoch: options.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
    },
  )
}

export interface RecompressOptions {
  /** Cap on the decompressed size of the source batch's records (default 64 MiB). */
  maxDecompressedSize?: number
}

/**
 * The same batch with its records section compressed with another codec. Only the attributes, the length and the
 * CRC change: offsets, timestamps, producer id, epoch and sequence stay as they were, so an idempotent producer's
 * batch keeps its identity. The source CRC is checked first (CrcMismatchError), so a batch corrupted on the way
 * in is never given a fresh, valid CRC.
 */
export function recompressBatch(
  batch: RecordBatch,
  compression: CompressionType,
  options: RecompressOptions = {},
): Buffer {
  batch.ensureValidCrc()
  const plain = batch.decompressRecords(options.maxDecompressedSize ?? DEFAULT_MAX_DECOMPRESSED_SIZE)
  const section = compressionCodec(compression).compress(plain)
  const out = Buffer.allocUnsafe(RECORDS + section.length)
  batch.raw.copy(out, 0, 0, RECORDS)
  out.set(section, RECORDS)
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH)
  out.writeInt16BE((batch.attributes & ~COMPRESSION_MASK) | compression, ATTRIBUTES)
  out.writeUInt32BE(crc32c(out, 0, ATTRIBUTES, out.length), CRC)
  return out
}
