/**
 * Fixed layout of a record batch v2 header (https://kafka.apache.org/documentation/#recordbatch;
 * clients/src/main/java/org/apache/kafka/common/record/DefaultRecordBatch.java, the *_OFFSET constants):
 *
 *   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32 |
 *   attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64 | producerId int64 |
 *   producerEpoch int16 | baseSequence int32 | recordsCount int32 | records...
 *
 * batchLength counts the bytes after itself; the CRC-32C covers attributes through the end of the batch.
 */
export const BASE_OFFSET = 0
export const BATCH_LENGTH = 8
export const PARTITION_LEADER_EPOCH = 12
export const MAGIC = 16
export const CRC = 17
export const ATTRIBUTES = 21
export const LAST_OFFSET_DELTA = 23
export const BASE_TIMESTAMP = 27
export const MAX_TIMESTAMP = 35
export const PRODUCER_ID = 43
export const PRODUCER_EPOCH = 51
export const BASE_SEQUENCE = 53
export const RECORDS_COUNT = 57
export const RECORDS = 61

/** Bytes before batchLength's count starts: baseOffset and batchLength themselves (Records.LOG_OVERHEAD). */
export const LOG_OVERHEAD = 12
/** Smallest batchLength of a v2 batch: the header without records (DefaultRecordBatch.RECORD_BATCH_OVERHEAD - 12). */
export const MIN_BATCH_LENGTH = RECORDS - LOG_OVERHEAD
/** Bytes up to and including magic, the least needed to tell batch formats apart (Records.HEADER_SIZE_UP_TO_MAGIC). */
export const HEADER_SIZE_UP_TO_MAGIC = MAGIC + 1

/** Attribute bits (DefaultRecordBatch: COMPRESSION_CODEC_MASK, TIMESTAMP_TYPE_MASK, ...). */
export const COMPRESSION_MASK = 0x07
export const TIMESTAMP_TYPE_BIT = 0x08
export const TRANSACTIONAL_BIT = 0x10
export const CONTROL_BIT = 0x20
export const DELETE_HORIZON_BIT = 0x40

/** Which clock a batch's timestamps come from (attribute bit 3; clients/.../record/TimestampType.java). */
export const TimestampType = { CreateTime: 0, LogAppendTime: 1 } as const
export type TimestampType = (typeof TimestampType)[keyof typeof TimestampType]

/** Record batch format versions: 0 and 1 are the legacy message sets, 2 the record batch (KIP-98). */
export const MAGIC_V0 = 0
export const MAGIC_V1 = 1
export const MAGIC_V2 = 2

/** "No value" markers of the header (RecordBatch.NO_PRODUCER_ID, NO_PRODUCER_EPOCH, NO_SEQUENCE, NO_TIMESTAMP, ...). */
export const NO_PRODUCER_ID = -1n
export const NO_PRODUCER_EPOCH = -1
export const NO_SEQUENCE = -1
export const NO_TIMESTAMP = -1n
export const NO_PARTITION_LEADER_EPOCH = -1
