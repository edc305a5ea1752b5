import { InvalidRecordBatchError } from '../errors.js'
import { Reader } from '../primitives/reader.js'
import {
  ATTRIBUTES,
  BATCH_LENGTH,
  CONTROL_BIT,
  HEADER_SIZE_UP_TO_MAGIC,
  LOG_OVERHEAD,
  MAGIC_V1,
  MAGIC_V2,
  MIN_BATCH_LENGTH,
  RECORDS,
  TRANSACTIONAL_BIT,
} from './batch-layout.js'
import { LEGACY_MIN_MESSAGE_SIZE } from './legacy-message-set.js'

/**
 * A `records` field (Produce request, Fetch response) reduced to its size and its batch headers: what statistics,
 * quotas and audit need, read without the records themselves. Decoding with `Reader.recordsReader = readRecordsSummary` puts one
 * of these where the field's Buffer would be, read from wherever the bytes lie (across socket reads, with no copy
 * of the records), so a message can be observed without holding or joining its records.
 */
export interface RecordsSummary {
  readonly kind: 'records-summary'
  /** Bytes of the field (its length prefix excluded), as `records.length` would be. */
  readonly byteLength: number
  /** The whole batches, in order. */
  readonly batches: readonly BatchSummary[]
  /** Bytes of a trailing partial batch (a Fetch response cut at max.bytes), 0 when the field ends on a batch. */
  readonly partialBytes: number
}

/** A batch header: record batch v2, or a legacy message (magic 0/1, one wrapper message, counted as one record). */
export interface BatchSummary {
  readonly magic: number
  readonly baseOffset: bigint
  /** LastOffsetDelta of a v2 batch (0 for a legacy message): the batch takes offsets baseOffset..baseOffset+this. */
  readonly lastOffsetDelta: number
  /** RecordsCount of a v2 batch; 1 for a legacy message. */
  readonly recordCount: number
  readonly isControl: boolean
  readonly isTransactional: boolean
  /** The whole batch, LOG_OVERHEAD included. */
  readonly sizeInBytes: number
}

export function isRecordsSummary(x: unknown): x is RecordsSummary {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'records-summary'
}

/**
 * The summary of a `records` field, whichever form a decode gave it: a Buffer (decoded in full) or a summary
 * already. A malformed batch throws InvalidRecordBatchError (see readRecordsSummary).
 */
export function summarizeRecords(records: Buffer | RecordsSummary): RecordsSummary {
  return Buffer.isBuffer(records) ? readRecordsSummary(new Reader(records), records.length) : records
}

function legacy(magic: number, offset: bigint, sizeInBytes: number): BatchSummary {
  return {
    magic,
    baseOffset: offset,
    lastOffsetDelta: 0,
    recordCount: 1,
    isControl: false,
    isTransactional: false,
    sizeInBytes,
  }
}

/**
 * Reads the `length` bytes of a `records` field at the reader's position as a summary: each batch's header is
 * read and the rest of the batch skipped (readBatchSummary).
 */
export function readRecordsSummary(r: Reader, length: number): RecordsSummary {
  const start = r.pos
  const end = start + length
  r.need(length, 'records')
  const batches: BatchSummary[] = []
  let partialBytes = 0
  while (r.pos < end) {
    const batch = readBatchSummary(r, start, end)
    if (typeof batch === 'number') {
      partialBytes = batch
      break
    }
    batches.push(batch)
  }
  return { kind: 'records-summary', byteLength: length, batches, partialBytes }
}

/**
 * One step of readRecordsSummary, for the field `start`..`end`: the batch at the reader's position, from its header
 * alone, leaving the reader at the next batch without reading the records between; or, when the rest of the field
 * is a trailing partial batch, its size in bytes, leaving the reader at `end`. The checks, and their order, are
 * readBatches' (and Kafka's ByteBufferLogInputStream.nextBatch): a length below the smallest message is corruption,
 * a batch running past the field's end is a trailing partial batch, and only then is the magic looked at.
 * Callers that get the bytes as they arrive (StreamingSummaryDecoder) resume the walk batch by batch.
 */
export function readBatchSummary(r: Reader, start: number, end: number): BatchSummary | number {
  const at = r.pos
  const remaining = end - at
  if (remaining < HEADER_SIZE_UP_TO_MAGIC) {
    r.pos = end
    return remaining
  }
  const baseOffset = r.int64()
  const batchLength = r.int32()
  if (batchLength < LEGACY_MIN_MESSAGE_SIZE)
    throw new InvalidRecordBatchError(
      `record batch length ${batchLength} is below the smallest message`,
      at - start + BATCH_LENGTH,
    )
  const size = LOG_OVERHEAD + batchLength
  if (size > remaining) {
    r.pos = end
    return remaining
  }
  r.skip(4, 'partitionLeaderEpoch') // v2; for a legacy message, its crc
  const magic = r.int8()
  if (magic > MAGIC_V2 || magic < 0)
    throw new InvalidRecordBatchError(`unknown record batch magic ${magic}`, at - start + HEADER_SIZE_UP_TO_MAGIC - 1)
  if (magic <= MAGIC_V1) {
    r.pos = at + size
    return legacy(magic, baseOffset, size)
  }
  if (batchLength < MIN_BATCH_LENGTH)
    throw new InvalidRecordBatchError(
      `record batch length ${batchLength} is below the ${MIN_BATCH_LENGTH} bytes of a v2 header`,
      at - start + BATCH_LENGTH,
    )
  r.skip(ATTRIBUTES - HEADER_SIZE_UP_TO_MAGIC, 'crc')
  const attributes = r.int16()
  const lastOffsetDelta = r.int32()
  // baseTimestamp, maxTimestamp, producerId, producerEpoch, baseSequence: up to RecordsCount.
  r.skip(RECORDS - 4 - (ATTRIBUTES + 2 + 4), 'batch header')
  const recordCount = r.int32()
  r.pos = at + size
  return {
    magic,
    baseOffset,
    lastOffsetDelta,
    recordCount,
    isControl: (attributes & CONTROL_BIT) !== 0,
    isTransactional: (attributes & TRANSACTIONAL_BIT) !== 0,
    sizeInBytes: size,
  }
}
