import { readBatches } from '../../codec/records/index.js'
import { partitionForKey } from '../../src/pipeline/filter-api.js'
import type { Capture } from './capture.js'
import { captureHeaders } from './decorate.js'
import type { ExtractionResult } from './extract.js'
import type { ProvenanceCache } from './provenance-cache.js'
import { RecordTable } from './record-table.js'
import { type CopyHeaders, copyHeaders, TapBatchBuilder } from './tap-batch.js'
import type { ActiveTap } from './taps.js'

/**
 * The tap's copies of a capture's records built from their encoded bytes (tap-batch.ts), for taps that copy
 * records as they are (no redaction, not metadata only): the records are walked in place (RecordSpans), never
 * decoded into objects, and each kept record is appended to a tap batch of the destination partition its key
 * picks. The selection is extract.ts's, step for step (control batches, partial and legacy batches, records below a
 * consumer's fetch offset, batch then record sampling per tap), and so are the offsets and timestamps; the tests
 * (record-copies.test.ts) hold both paths to the same records.
 *
 * A batch is walked once to check every record (a corrupt one makes the whole batch unreadable, as the decoding
 * path's toArray does, and nothing of it is copied), keeping their fields in a table (record-table.ts) that the
 * copy then reads back. Neither allocates anything per record.
 */

/** Where the copies of one tap go: the builder of a destination partition with room for `need` more bytes. */
export type PlaceCopy = (tap: ActiveTap, partition: number | undefined, need: number) => TapBatchBuilder

export interface FastTap {
  readonly tap: ActiveTap
  /** The destination topic's partition count (keyed copies go where Kafka's default partitioner puts the key). */
  readonly partitions: number
}

/** Beyond this, offsets and timestamps are handled as bigints (exactness over speed). */
const SAFE = Number.MAX_SAFE_INTEGER
const SAFE_BIG = BigInt(SAFE)
/** Offset bases up to here leave room for any offset delta (an int32) within the safe integers. */
const SAFE_OFFSET_BASE = BigInt(SAFE - 2 ** 31)
/** The records of the batch being copied (one table for every call: copyRecords runs synchronously). */
const TABLE = new RecordTable()

export function copyRecords(
  capture: Capture,
  taps: readonly FastTap[],
  instance: string,
  place: PlaceCopy,
  /** Where the encoded tap headers of earlier captures are kept (none: built for this capture). */
  cache?: ProvenanceCache,
): ExtractionResult {
  // The headers each tap adds, encoded once for the whole capture.
  const perTap: { readonly tap: ActiveTap; readonly partitions: number; readonly headers: CopyHeaders }[] = []
  for (const t of taps) {
    const headers: CopyHeaders =
      cache?.headersFor(capture, t.tap.name, instance) ?? copyHeaders(captureHeaders(capture, t.tap.name, instance))
    perTap.push({ tap: t.tap, partitions: t.partitions, headers })
  }
  let unreadable = 0
  let unreadableReason: string | undefined
  let index = 0 // the record's position among the partition's records (produce offsets)
  let entries: ReturnType<typeof readBatches>
  try {
    entries = readBatches(capture.records)
  } catch (err) {
    return { decompressedBytes: 0, unreadable: capture.recordCount, unreadableReason: (err as Error).message }
  }
  const produceBase = capture.baseOffset
  const wanting: typeof perTap = []
  for (;;) {
    let entry: ReturnType<typeof entries.next>
    try {
      entry = entries.next()
    } catch (err) {
      unreadableReason = (err as Error).message
      break
    }
    if (entry.done) break
    const batch = entry.value
    if (batch.kind === 'partial') continue
    if (batch.kind === 'legacy') {
      unreadable++
      unreadableReason ??= 'a legacy (magic 0/1) message set'
      index++
      continue
    }
    if (batch.isControl) continue
    wanting.length = 0
    for (const t of perTap) if (t.tap.selection.keepBatch()) wanting.push(t)
    const first = index
    index += batch.recordCount
    if (wanting.length === 0) continue
    if (capture.fetchOffset !== undefined && batch.lastOffset < capture.fetchOffset) continue
    // Every record checked (walked into the table) before any is copied.
    const spans = TABLE
    try {
      spans.fill(batch.recordSpans())
    } catch (err) {
      unreadable += batch.recordCount
      unreadableReason ??= (err as Error).message
      continue
    }
    // Offsets: fetched records carry their own; produced ones are the response's base offset plus their index.
    const offsetBase: bigint | undefined =
      capture.direction === 'fetch'
        ? batch.baseOffset
        : produceBase === undefined
          ? undefined
          : produceBase + BigInt(first)
    const offsetBaseNumber =
      offsetBase !== undefined && offsetBase >= 0n && offsetBase <= SAFE_OFFSET_BASE ? Number(offsetBase) : -1
    const fetchFrom = capture.direction === 'fetch' ? capture.fetchOffset : undefined
    // Timestamps: the broker's append time for the whole batch when it set one, else base + delta.
    const fixed = capture.logAppendTime ?? batch.logAppendTime
    const fixedTimestamp = fixed === null || fixed === undefined ? undefined : toNumberIfSafe(fixed)
    const baseTimestamp = batch.baseTimestamp
    const baseNumber = toNumberIfSafe(baseTimestamp)
    const data = spans.data
    while (spans.next()) {
      let offset: number | bigint | undefined
      if (offsetBase !== undefined) {
        offset = offsetBaseNumber >= 0 ? offsetBaseNumber + spans.offsetDelta : offsetBase + BigInt(spans.offsetDelta)
      }
      if (fetchFrom !== undefined && offset! < fetchFrom) continue
      let timestamp: number | bigint
      if (fixedTimestamp !== undefined) timestamp = fixedTimestamp
      else {
        const d = spans.timestampDelta
        timestamp =
          typeof baseNumber === 'number' && typeof d === 'number' && Math.abs(baseNumber + d) <= SAFE
            ? baseNumber + d
            : baseTimestamp + BigInt(d)
      }
      for (const t of wanting) {
        if (!t.tap.selection.keepRecord()) continue
        const partition =
          spans.keyLength < 0 ? undefined : partitionForKey(data, t.partitions, spans.keyStart, spans.keyLength)
        const builder = place(t.tap, partition, TapBatchBuilder.maxCopySize(spans, t.headers))
        builder.append(spans, timestamp, t.headers, offset, capture)
      }
    }
  }
  TABLE.clear()
  return { decompressedBytes: 0, unreadable, unreadableReason }
}

function toNumberIfSafe(v: bigint): number | bigint {
  return v >= -SAFE_BIG && v <= SAFE_BIG ? Number(v) : v
}
