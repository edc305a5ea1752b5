import { type RecordsSummary, summarizeRecords } from '../../codec/records/index.js'

/**
 * Figures taken from a `records` field by its batch headers alone (nothing is decompressed). The field comes as a
 * RecordsSummary (the runtime decoded the message with summaries, which this filter asks for) or as a Buffer
 * (another filter needed the bytes); summarizeRecords reads either. Record batch v2 header: BaseOffset i64,
 * Length i32, ..., LastOffsetDelta i32, ..., RecordsCount i32 (PROTOCOL.md, "Record batch v2"); legacy message
 * sets (magic 0/1) count as one record each.
 */

export type RecordsField = Buffer | RecordsSummary

/** Bytes of a `records` field, whichever form it came in. */
export function recordsBytes(records: RecordsField): number {
  return Buffer.isBuffer(records) ? records.length : records.byteLength
}

export interface ProducedFigures {
  records: number
  /**
   * How many offsets the batches take in the log: the sum of LastOffsetDelta + 1. A successful Produce response's
   * BaseOffset plus this is the partition's log end offset right after the append.
   */
  offsets: number
}

/** Records and offsets in a Produce request's `records`. Throws InvalidRecordBatchError on malformed batches. */
export function producedFigures(records: RecordsField): ProducedFigures {
  let count = 0
  let offsets = 0
  for (const batch of summarizeRecords(records).batches) {
    count += batch.recordCount
    offsets += batch.lastOffsetDelta + 1
  }
  return { records: count, offsets }
}

/**
 * Records a consumer gets from a Fetch response's `records`. Control batches (transaction markers) are not
 * records to the application and are skipped; a trailing partial batch is skipped (the client fetches it again,
 * ByteBufferLogInputStream.nextBatch). The broker returns whole batches, so the first may start before the
 * fetch offset: records below it are not counted (without compaction, offsets in a batch are consecutive).
 */
export function fetchedRecords(records: RecordsField, fetchOffset: bigint | undefined): number {
  let count = 0
  for (const batch of summarizeRecords(records).batches) {
    if (batch.isControl) continue
    const n = batch.recordCount
    if (fetchOffset === undefined || batch.baseOffset >= fetchOffset) {
      count += n
      continue
    }
    const last = batch.baseOffset + BigInt(batch.lastOffsetDelta)
    if (last < fetchOffset) continue
    count += Math.min(n, Number(last - fetchOffset) + 1)
  }
  return count
}
