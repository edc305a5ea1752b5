import { readBatches } from '../../codec/records/index.js'

/**
 * Figures taken from a `records` field by its batch headers alone (readBatches finds batches by their length
 * fields; nothing is decompressed). Record batch v2 header: BaseOffset i64, Length i32, ..., LastOffsetDelta i32,
 * ..., RecordsCount i32 (PROTOCOL.md, "Record batch v2"); legacy message sets (magic 0/1) count as one record each.
 */

export interface ProducedFigures {
  records: number
  /**
   * How many offsets the batches take in the log: the sum of LastOffsetDelta + 1. A successful Produce response's
   * BaseOffset plus this is the partition's log end offset right after the append.
   */
  offsets: number
}

/** Records and offsets in a Produce request's `records`. Throws InvalidRecordBatchError on malformed batches. */
export function producedFigures(records: Buffer): ProducedFigures {
  let count = 0
  let offsets = 0
  for (const entry of readBatches(records)) {
    if (entry.kind === 'batch') {
      count += entry.recordCount
      offsets += entry.lastOffsetDelta + 1
    } else if (entry.kind === 'legacy') {
      count += 1
      offsets += 1
    }
  }
  return { records: count, offsets }
}

/**
 * Records a consumer gets from a Fetch response's `records`. Control batches (transaction markers) are not
 * records to the application and are skipped; a trailing partial batch is skipped (the client fetches it again,
 * ByteBufferLogInputStream.nextBatch). The broker returns whole batches, so the first may start before the
 * fetch offset: records below it are not counted (without compaction, offsets in a batch are consecutive).
 */
export function fetchedRecords(records: Buffer, fetchOffset: bigint | undefined): number {
  let count = 0
  for (const entry of readBatches(records)) {
    if (entry.kind === 'batch') {
      if (entry.isControl) continue
      const n = entry.recordCount
      if (fetchOffset === undefined || entry.baseOffset >= fetchOffset) {
        count += n
        continue
      }
      const last = entry.lastOffset
      if (last < fetchOffset) continue
      count += Math.min(n, Number(last - fetchOffset) + 1)
    } else if (entry.kind === 'legacy') {
      if (fetchOffset === undefined || entry.offset >= fetchOffset) count += 1
    }
  }
  return count
}
