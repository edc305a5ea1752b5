/**
 * Record batches: the `records` field of Produce requests and Fetch responses.
 *
 *   readBatches(records)      -> RecordBatch | LegacyMessageSet | PartialBatch, without decoding inside
 *   batch.records()           -> Record, decompressed and decoded lazily
 *   batch.recordSpans()       -> the records as offsets, walked in place (no object per record)
 *   encodeRecordBatch(...)    -> a new batch;  recompressBatch(batch, type) -> same batch, other codec
 */
export {
  MAGIC_V0,
  MAGIC_V1,
  MAGIC_V2,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  NO_TIMESTAMP,
  /** Bytes of a batch v2 header: where its records section starts. */
  RECORDS as RECORD_BATCH_HEADER_SIZE,
  TimestampType,
} from './batch-layout.js'
export {
  type CompressionCodec,
  CompressionType,
  compressionCodec,
  DEFAULT_MAX_DECOMPRESSED_SIZE,
  prepareZstdCompression,
  snappyImplementation,
  type ZstdCompressorName,
  zstdCompressorName,
} from './compression/index.js'
export { type ControlRecord, ControlRecordType, decodeControlRecord, encodeEndTxnMarker } from './control-record.js'
export { crc32c, crc32cImplementation } from './crc32c.js'
export { LegacyMessageSet } from './legacy-message-set.js'
export { Record, type RecordHeader, type RecordInput } from './record.js'
export { RecordBatch, type RecordsOptions } from './record-batch.js'
export {
  type EncodeBatchOptions,
  type EndTxnMarkerOptions,
  encodeEndTxnMarkerBatch,
  encodeRecordBatch,
  type RecompressOptions,
  type RecordBatchHeader,
  recompressBatch,
  writeRecordBatchHeader,
} from './record-batch-encoder.js'
export { RecordSpans } from './record-spans.js'
export { PartialBatch, type ReadBatchesOptions, type RecordsEntry, readBatches } from './records-reader.js'
export {
  type BatchSummary,
  isRecordsSummary,
  type RecordsSummary,
  readRecordsSummary,
  summarizeRecords,
} from './records-summary.js'
