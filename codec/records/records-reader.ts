import { InvalidRecordBatchError } from '../errors.js'
import {
  BATCH_LENGTH,
  HEADER_SIZE_UP_TO_MAGIC,
  LOG_OVERHEAD,
  MAGIC,
  MAGIC_V1,
  MAGIC_V2,
  MIN_BATCH_LENGTH,
} from './batch-layout.js'
import { LEGACY_MIN_MESSAGE_SIZE, LegacyMessageSet } from './legacy-message-set.js'
import { RecordBatch } from './record-batch.js'

/**
 * The tail of a `records` field that holds less than a whole batch. A broker answers Fetch with at most
 * max.bytes of log, cut wherever that falls, so the last batch of a Fetch response may be partial; clients
 * skip it and fetch again from there (ByteBufferLogInputStream.nextBatch returns null for it). It is kept as
 * bytes so the response can be forwarded unchanged.
 */
export class PartialBatch {
  readonly kind = 'partial'
  readonly raw: Buffer
  /** Where it starts in the `records` buffer. */
  readonly position: number

  constructor(raw: Buffer, position: number) {
    this.raw = raw
    this.position = position
  }
}

export type RecordsEntry = RecordBatch | LegacyMessageSet | PartialBatch

export interface ReadBatchesOptions {
  /**
   * What a trailing partial batch is: 'yield' (default) hands it out as a PartialBatch, right for Fetch
   * responses; 'reject' throws InvalidRecordBatchError, right for Produce requests, where a client sends
   * whole batches only.
   */
  partial?: 'yield' | 'reject'
}

/**
 * The batches of a `records` field (Produce request, Fetch response), in order, found by their length fields
 * alone as clients/src/main/java/org/apache/kafka/common/record/ByteBufferLogInputStream.java does: nothing
 * inside a batch is decoded. A length too small for its format, or a magic above 2, throws
 * InvalidRecordBatchError; a batch cut short by the end of the buffer comes last as a PartialBatch.
 */
export function* readBatches(
  records: Buffer,
  options: ReadBatchesOptions = {},
): Generator<RecordsEntry, void, undefined> {
  let pos = 0
  while (pos < records.length) {
    const remaining = records.length - pos
    if (remaining < HEADER_SIZE_UP_TO_MAGIC) {
      yield partial(records, pos, options)
      return
    }
    // Same order of checks as ByteBufferLogInputStream.nextBatch: a length below the smallest message of any
    // format is corruption, a length past the end is a partial batch, and only then is the magic looked at.
    const length = records.readInt32BE(pos + BATCH_LENGTH)
    if (length < LEGACY_MIN_MESSAGE_SIZE)
      throw new InvalidRecordBatchError(
        `record batch length ${length} is below the smallest message`,
        pos + BATCH_LENGTH,
      )
    const size = LOG_OVERHEAD + length
    if (size > remaining) {
      yield partial(records, pos, options)
      return
    }
    const magic = records.readInt8(pos + MAGIC)
    if (magic > MAGIC_V2 || magic < 0)
      throw new InvalidRecordBatchError(`unknown record batch magic ${magic}`, pos + MAGIC)
    if (magic === MAGIC_V2 && length < MIN_BATCH_LENGTH)
      throw new InvalidRecordBatchError(
        `record batch length ${length} is below the ${MIN_BATCH_LENGTH} bytes of a v2 header`,
        pos + BATCH_LENGTH,
      )
    const raw = records.subarray(pos, pos + size)
    yield magic > MAGIC_V1 ? new RecordBatch(raw) : new LegacyMessageSet(raw)
    pos += size
  }
}

function partial(records: Buffer, pos: number, options: ReadBatchesOptions): PartialBatch {
  if (options.partial === 'reject')
    throw new InvalidRecordBatchError(`records end with a partial batch of ${records.length - pos} byte(s)`, pos)
  return new PartialBatch(records.subarray(pos), pos)
}
