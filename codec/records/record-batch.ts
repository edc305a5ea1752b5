import { CrcMismatchError, InvalidRecordBatchError } from '../errors.js'
import { Reader } from '../primitives/reader.js'
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
  MIN_BATCH_LENGTH,
  PARTITION_LEADER_EPOCH,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORDS,
  RECORDS_COUNT,
  TIMESTAMP_TYPE_BIT,
  TimestampType,
  TRANSACTIONAL_BIT,
} from './batch-layout.js'
import { type CompressionType, compressionCodec, DEFAULT_MAX_DECOMPRESSED_SIZE } from './compression/index.js'
import { crc32c } from './crc32c.js'
import { checkRecordsEnd, decodeRecord, MIN_RECORD_SIZE, type Record, type RecordBase } from './record.js'
import { RecordSpans } from './record-spans.js'

export interface RecordsOptions {
  /** Check the batch's CRC-32C first and throw CrcMismatchError when it does not match (default false). */
  verifyCrc?: boolean
  /** Cap on the decompressed size of the records (default DEFAULT_MAX_DECOMPRESSED_SIZE, 64 MiB). */
  maxDecompressedSize?: number
}

/**
 * A view of one record batch v2 (layout in batch-layout.ts). Construction checks only the length and magic;
 * header fields are read from the bytes when asked for, and records are decompressed and decoded only when
 * iterated, so a batch that nobody looks into costs nothing beyond finding its end.
 *
 * `raw` is a view of the caller's buffer: the batch stays valid while that buffer is not reused.
 */
export class RecordBatch implements RecordBase {
  readonly kind = 'batch'
  /** The whole batch, from baseOffset to its last byte. */
  readonly raw: Buffer
  private cachedBaseOffset: bigint | undefined
  private cachedBaseTimestamp: bigint | undefined

  /** A view of the batch that starts `raw`; `raw` must hold exactly the batch (see readBatches for buffers of many). */
  constructor(raw: Buffer) {
    if (raw.length < LOG_OVERHEAD + MIN_BATCH_LENGTH)
      throw new InvalidRecordBatchError(`record batch of ${raw.length} byte(s) is shorter than its header`)
    const batchLength = raw.readInt32BE(BATCH_LENGTH)
    if (batchLength !== raw.length - LOG_OVERHEAD)
      throw new InvalidRecordBatchError(
        `record batch length ${batchLength} does not match its ${raw.length - LOG_OVERHEAD} byte(s)`,
        BATCH_LENGTH,
      )
    const magic = raw.readInt8(MAGIC)
    if (magic !== MAGIC_V2) throw new InvalidRecordBatchError(`record batch magic ${magic} is not 2`, MAGIC)
    this.raw = raw
  }

  get baseOffset(): bigint {
    if (this.cachedBaseOffset === undefined) this.cachedBaseOffset = this.raw.readBigInt64BE(BASE_OFFSET)
    return this.cachedBaseOffset
  }
  /** Bytes after the length field (the batch is batchLength + 12 bytes). */
  get batchLength(): number {
    return this.raw.readInt32BE(BATCH_LENGTH)
  }
  get partitionLeaderEpoch(): number {
    return this.raw.readInt32BE(PARTITION_LEADER_EPOCH)
  }
  get magic(): 2 {
    return MAGIC_V2
  }
  /** The stored CRC-32C (unsigned). */
  get crc(): number {
    return this.raw.readUInt32BE(CRC)
  }
  get attributes(): number {
    return this.raw.readInt16BE(ATTRIBUTES)
  }
  /** Attribute bits 0-2; 5-7 are not assigned and fail when the records are read. */
  get compression(): CompressionType | 5 | 6 | 7 {
    return (this.raw[ATTRIBUTES + 1]! & COMPRESSION_MASK) as CompressionType | 5 | 6 | 7
  }
  get timestampType(): TimestampType {
    return this.raw[ATTRIBUTES + 1]! & TIMESTAMP_TYPE_BIT ? TimestampType.LogAppendTime : TimestampType.CreateTime
  }
  get isTransactional(): boolean {
    return (this.raw[ATTRIBUTES + 1]! & TRANSACTIONAL_BIT) !== 0
  }
  get isControl(): boolean {
    return (this.raw[ATTRIBUTES + 1]! & CONTROL_BIT) !== 0
  }
  /** Attribute bit 6 (KIP-534): baseTimestamp then holds the delete horizon of a compacted batch. */
  get hasDeleteHorizon(): boolean {
    return (this.raw[ATTRIBUTES + 1]! & DELETE_HORIZON_BIT) !== 0
  }
  /** The delete horizon of a compacted batch (baseTimestamp when bit 6 is set), else null. */
  get deleteHorizonMs(): bigint | null {
    return this.hasDeleteHorizon ? this.baseTimestamp : null
  }
  get lastOffsetDelta(): number {
    return this.raw.readInt32BE(LAST_OFFSET_DELTA)
  }
  get lastOffset(): bigint {
    return this.baseOffset + BigInt(this.lastOffsetDelta)
  }
  get baseTimestamp(): bigint {
    if (this.cachedBaseTimestamp === undefined) this.cachedBaseTimestamp = this.raw.readBigInt64BE(BASE_TIMESTAMP)
    return this.cachedBaseTimestamp
  }
  get maxTimestamp(): bigint {
    return this.raw.readBigInt64BE(MAX_TIMESTAMP)
  }
  /** The timestamp every record takes when the batch uses LogAppendTime (its maxTimestamp), else null. */
  get logAppendTime(): bigint | null {
    return this.timestampType === TimestampType.LogAppendTime ? this.maxTimestamp : null
  }
  get producerId(): bigint {
    return this.raw.readBigInt64BE(PRODUCER_ID)
  }
  get producerEpoch(): number {
    return this.raw.readInt16BE(PRODUCER_EPOCH)
  }
  get baseSequence(): number {
    return this.raw.readInt32BE(BASE_SEQUENCE)
  }
  /** The count the header declares; checked against the bytes when the records are read. */
  get recordCount(): number {
    return this.raw.readInt32BE(RECORDS_COUNT)
  }
  /** The records section as stored (compressed when `compression` is not 0). */
  get recordsSection(): Buffer {
    return this.raw.subarray(RECORDS)
  }

  /** CRC-32C of attributes through the end, as it should be stored. */
  computeCrc(): number {
    return crc32c(this.raw, 0, ATTRIBUTES, this.raw.length)
  }

  verifyCrc(): boolean {
    return this.computeCrc() === this.crc
  }

  /** Throws CrcMismatchError unless the CRC matches. */
  ensureValidCrc(): void {
    const actual = this.computeCrc()
    if (actual !== this.crc) throw new CrcMismatchError(this.crc, actual, CRC)
  }

  /** The records section decompressed (a view of `raw` when uncompressed). */
  decompressRecords(maxDecompressedSize = DEFAULT_MAX_DECOMPRESSED_SIZE): Buffer {
    return compressionCodec(this.compression).decompress(this.recordsSection, maxDecompressedSize)
  }

  /**
   * The records, decompressed on the first `next()` and decoded one per step. Throws CodecErrors only:
   * InvalidRecordBatchError when the count and the bytes disagree, CompressionError and
   * DecompressedSizeExceededError from decompression, CrcMismatchError with `verifyCrc`.
   */
  *records(options: RecordsOptions = {}): Generator<Record, void, undefined> {
    const data = this.checkedRecordsData(options)
    const count = this.recordCount
    const reader = new Reader(data)
    for (let i = 0; i < count; i++) yield decodeRecord(reader, this)
    checkRecordsEnd(reader, count)
  }

  /**
   * The records as offsets into their (decompressed) bytes, walked one per `next()` without a Record, a view or an
   * array per record (record-spans.ts). Throws the same errors as `records()`, at the same steps.
   */
  recordSpans(options: RecordsOptions = {}): RecordSpans {
    const data = this.checkedRecordsData(options)
    return new RecordSpans(data, this.recordCount)
  }

  /** The records section decompressed, after the CRC (when asked) and whether the count can fit were checked. */
  private checkedRecordsData(options: RecordsOptions): Buffer {
    if (options.verifyCrc) this.ensureValidCrc()
    const count = this.recordCount
    const data = this.decompressRecords(options.maxDecompressedSize)
    if (count < 0 || count > data.length / MIN_RECORD_SIZE)
      throw new InvalidRecordBatchError(
        `record batch declares ${count} record(s) but its ${data.length} byte(s) of records cannot hold them`,
        RECORDS_COUNT,
      )
    return data
  }

  [Symbol.iterator](): Generator<Record, void, undefined> {
    return this.records()
  }

  /** All records in an array (convenience for small batches and tests). */
  toArray(options?: RecordsOptions): Record[] {
    return Array.from(this.records(options))
  }
}
