import { type Record as KafkaRecord, readBatches } from '../../codec/records/index.js'
import type { OwnRecord } from '../../src/pipeline/filter-api.js'
import type { Capture } from './capture.js'
import { captureHeaders, metadataValue, notJsonHeader, offsetHeader, type TapHeader } from './decorate.js'
import type { ActiveTap } from './taps.js'

/**
 * Records out of a capture, as each tap copies them: batches read from the copied `records` field (decompressed
 * where compressed, codec/records), control batches and records below a consumer's fetch offset left out, sampling
 * applied per tap, then each record decorated (decorate.ts), redacted or reduced to metadata.
 *
 * Offsets. Fetched records carry their own (batch base offset + offset delta). Produced ones get theirs from the
 * Produce response: the partition's base_offset is the offset of the first record of the request's records for it
 * (ProduceResponse.json: "The base offset"), and the broker assigns the following ones in order, so a record's
 * offset is that plus its index among the partition's records (with magic v2 a request carries one batch per
 * partition, ProduceRequest.validateRecords, and the index is the record's offset delta).
 */

export interface Extracted {
  readonly tap: ActiveTap
  readonly record: OwnRecord
  /** Key and value bytes copied (what the tap counts as tapped bytes). */
  readonly bytes: number
}

export interface ExtractionResult {
  /** Bytes of decompressed records the extraction made (memory the produced copies may still point into). */
  readonly decompressedBytes: number
  /** Records that could not be read (a malformed or legacy-format batch), per tap that wanted them. */
  readonly unreadable: number
  readonly unreadableReason: string | undefined
}

export function extractRecords(
  capture: Capture,
  instance: string,
  emit: (e: Extracted) => void,
  /** The taps to copy for (default: all the capture's; the others copy encoded bytes, record-copies.ts). */
  taps: readonly ActiveTap[] = capture.taps,
): ExtractionResult {
  // Taps stopped since the copy was taken still get it: it was theirs when the client's message passed.
  const perTap = taps.map((tap) => ({ tap, headers: captureHeaders(capture, tap.name, instance) }))
  let decompressedBytes = 0
  let unreadable = 0
  let unreadableReason: string | undefined
  let index = 0 // the record's position among the partition's records (produce offsets)
  let entries: ReturnType<typeof readBatches>
  try {
    entries = readBatches(capture.records)
  } catch (err) {
    return { decompressedBytes, unreadable: capture.recordCount, unreadableReason: (err as Error).message }
  }
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
    if (batch.kind === 'partial') continue // the tail of a Fetch response cut at max.bytes: fetched again later
    if (batch.kind === 'legacy') {
      // Magic 0/1 messages from old log segments: passed on, but not read by the sidecar (LegacyMessageSet).
      unreadable++
      unreadableReason ??= 'a legacy (magic 0/1) message set'
      index++
      continue
    }
    if (batch.isControl) continue // transaction markers: not records of the application
    const wanting = perTap.filter((t) => t.tap.selection.keepBatch())
    const first = index
    index += batch.recordCount
    if (wanting.length === 0) continue
    if (capture.fetchOffset !== undefined && batch.lastOffset < capture.fetchOffset) continue
    let records: KafkaRecord[]
    try {
      records = batch.toArray()
    } catch (err) {
      unreadable += batch.recordCount
      unreadableReason ??= (err as Error).message
      continue
    }
    if (batch.compression !== 0) for (const r of records) decompressedBytes += r.sizeInBytes
    for (const r of records) {
      const offset = offsetOf(capture, r, first)
      if (capture.direction === 'fetch' && capture.fetchOffset !== undefined && offset! < capture.fetchOffset) continue
      const timestamp = capture.logAppendTime ?? r.timestamp
      for (const { tap, headers } of wanting) {
        if (!tap.selection.keepRecord()) continue
        emit(copyFor(tap, r, headers, offset, timestamp))
      }
    }
  }
  return { decompressedBytes, unreadable, unreadableReason }
}

function offsetOf(capture: Capture, r: KafkaRecord, first: number): bigint | undefined {
  if (capture.direction === 'fetch') return r.offset
  if (capture.baseOffset === undefined) return undefined
  return capture.baseOffset + BigInt(first + r.offsetDelta)
}

function copyFor(
  tap: ActiveTap,
  r: KafkaRecord,
  tapHeaders: readonly TapHeader[],
  offset: bigint | undefined,
  timestamp: bigint,
): Extracted {
  const own = r.headers
  if (tap.spec.metadataOnly) {
    const value = metadataValue(r.key, r.value, own)
    const headers = offset === undefined ? tapHeaders : [...tapHeaders, offsetHeader(offset)]
    return { tap, record: { key: null, value, headers, timestamp }, bytes: value.length }
  }
  let value = r.value
  const headers: TapHeader[] = own.length === 0 ? [...tapHeaders] : [...own, ...tapHeaders]
  if (offset !== undefined) headers.push(offsetHeader(offset))
  if (value !== null && tap.redactor.active) {
    const out = tap.redactor.redact(value)
    if (out.kind === 'not-json') {
      value = null
      headers.push(notJsonHeader())
    } else value = out.value
  }
  return {
    tap,
    record: { key: r.key, value, headers, timestamp },
    bytes: (r.key?.length ?? 0) + (value?.length ?? 0),
  }
}
