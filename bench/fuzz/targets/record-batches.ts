import { DecompressedSizeExceededError } from '../../../codec/errors.js'
import { Reader } from '../../../codec/primitives/reader.js'
import {
  type CompressionType,
  decodeControlRecord,
  encodeRecordBatch,
  RecordBatch,
  type RecordInput,
  type RecordsEntry,
  readBatches,
  readRecordsSummary,
  recompressBatch,
} from '../../../codec/records/index.js'
import { applyByteMutation, ByteChoices } from '../byte-mutations.js'
import { check, codecOutcome, type FuzzTarget, hex } from '../target.js'
import {
  type BatchSpec,
  bombSection,
  encodeSpec,
  FUZZ_MAX_DECOMPRESSED,
  fixCrc,
  mutateBatch,
  prepareBombs,
  type RecordsInput,
  recordsInputArbitrary,
  withSection,
} from './record-batch-inputs.js'

/**
 * The record batch reader (readBatches, RecordBatch and its records, the batch summaries observers read, and
 * recompressBatch) for all four compressions and none. Valid batches must decode to the records they were built
 * from, re-encode from what was decoded to the same bytes, and recompress to another codec and back to the same
 * bytes. Mutated batches: header fields set to extremes, record fields inside the (decompressed) records section
 * set to hostile varints then recompressed with the CRC fixed (so the damage reaches the record decoder), the
 * compressed payload corrupted (with and without a fixed CRC, so it reaches the decompressor), blind bytes; then
 * only CodecErrors, and readBatches and the summaries agree on the batches they find. Decompression bombs (small
 * batches that decompress past the cap) must stop with DecompressedSizeExceededError within the memory the codec
 * promises: about the cap (compression/index.ts; twice the cap for zstd, zstd.ts).
 */

function toInput(record: {
  key: Buffer | null
  value: Buffer | null
  headers: readonly { key: string; value: Buffer | null }[]
  offsetDelta: number
}): RecordInput {
  return { key: record.key, value: record.value, headers: record.headers, offsetDelta: record.offsetDelta }
}

function sameBytes(a: Uint8Array | null | undefined, b: Uint8Array | null | undefined): boolean {
  if (a == null || b == null) return (a ?? null) === (b ?? null)
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))
}

function checkValidBatch(raw: Buffer, spec: BatchSpec, recompressTo: CompressionType): void {
  const batches = [...readBatches(raw)]
  check(batches.length === 1 && batches[0]!.kind === 'batch', () => `a valid batch reads as ${batches.length} entries`)
  const batch = batches[0] as RecordBatch
  check(batch.verifyCrc(), () => 'a valid batch fails its CRC')
  const records = batch.toArray({ verifyCrc: true, maxDecompressedSize: FUZZ_MAX_DECOMPRESSED })
  if (spec.marker === undefined) {
    check(records.length === spec.records.length, () => `${records.length} records decoded of ${spec.records.length}`)
    records.forEach((r, i) => {
      const want = spec.records[i]!
      check(
        sameBytes(r.key, want.key) &&
          sameBytes(r.value, want.value) &&
          r.headers.length === (want.headers ?? []).length,
        () => `record ${i} decodes differently (compression ${spec.compression})`,
      )
      r.headers.forEach((h, j) => {
        const wh = want.headers![j]!
        check(h.key === wh.key && sameBytes(h.value, wh.value), () => `record ${i} header ${j} decodes differently`)
      })
      check(
        spec.logAppendTime ? r.timestamp === batch.maxTimestamp : r.timestamp === want.timestamp,
        () => `record ${i} timestamp ${r.timestamp}, written ${want.timestamp}`,
      )
    })
  } else check(decodeControlRecord(records[0]!).type === (spec.marker ? 1 : 0), () => 'marker type changed')
  // Decode then encode: the decoded header and records, written again, are the same bytes.
  const again = encodeRecordBatch(
    records.map((r) => ({
      ...toInput(r),
      timestamp: batch.logAppendTime === null ? r.timestamp : batch.baseTimestamp + BigInt(r.timestampDelta),
    })),
    {
      baseOffset: batch.baseOffset,
      partitionLeaderEpoch: batch.partitionLeaderEpoch,
      compression: batch.compression as CompressionType,
      timestampType: batch.timestampType,
      baseTimestamp: batch.baseTimestamp,
      maxTimestamp: batch.maxTimestamp,
      lastOffsetDelta: batch.lastOffsetDelta,
      isTransactional: batch.isTransactional,
      isControl: batch.isControl,
      producerId: batch.producerId,
      producerEpoch: batch.producerEpoch,
      baseSequence: batch.baseSequence,
    },
  )
  check(again.equals(raw), () => `decode then encode changed the batch (compression ${spec.compression})`)
  // Recompressed to another codec and back: the same bytes (compression is deterministic, the header untouched).
  const other = recompressBatch(batch, recompressTo, { maxDecompressedSize: FUZZ_MAX_DECOMPRESSED })
  const back = recompressBatch(new RecordBatch(other), batch.compression as CompressionType, {
    maxDecompressedSize: FUZZ_MAX_DECOMPRESSED,
  })
  check(back.equals(raw), () => `recompressed to ${recompressTo} and back, the batch changed`)
}

/** Everything a caller can do with a records buffer, as deep as the API goes; returns the entries it found. */
function decodeDeeply(buf: Buffer, verifyCrc: boolean): RecordsEntry[] {
  const entries: RecordsEntry[] = []
  for (const entry of readBatches(buf)) {
    entries.push(entry)
    if (entry.kind === 'legacy') void [entry.offset, entry.magic, entry.attributes, entry.compression]
    if (entry.kind !== 'batch') continue
    void [entry.baseOffset, entry.lastOffset, entry.partitionLeaderEpoch, entry.crc, entry.attributes]
    void [entry.timestampType, entry.isTransactional, entry.isControl, entry.maxTimestamp, entry.deleteHorizonMs]
    void [entry.producerId, entry.producerEpoch, entry.baseSequence, entry.recordCount, entry.verifyCrc()]
    void entry.logAppendTime
    for (const record of entry.records({ verifyCrc, maxDecompressedSize: FUZZ_MAX_DECOMPRESSED })) {
      void [record.offset, record.timestamp, record.key?.length, record.value?.length, record.headers.length]
      if (entry.isControl) codecOutcome(() => decodeControlRecord(record))
    }
    recompressBatch(entry, ((entry.compression + 1) % 5) as CompressionType, {
      maxDecompressedSize: FUZZ_MAX_DECOMPRESSED,
    })
  }
  return entries
}

/** The batches readBatches finds (up to its first error) must be those the summary reader finds. */
function checkSummaryAgrees(buf: Buffer): void {
  const found: { baseOffset: bigint; size: number }[] = []
  const listed = codecOutcome(() => {
    for (const entry of readBatches(buf)) {
      if (entry.kind === 'partial') return entry.raw.length
      found.push({ baseOffset: entry.kind === 'batch' ? entry.baseOffset : entry.offset, size: entry.raw.length })
    }
    return 0
  })
  const summary = codecOutcome(() => readRecordsSummary(new Reader(buf), buf.length))
  check(
    listed.ok === summary.ok,
    () =>
      `readBatches ${listed.ok ? 'accepts' : `refuses (${listed.error.message})`} but the summary ` +
      `${summary.ok ? 'accepts' : `refuses (${summary.error.message})`}: ${hex(buf)}`,
  )
  if (!listed.ok || !summary.ok) return
  const s = summary.value
  check(
    s.batches.length === found.length &&
      s.partialBytes === listed.value &&
      s.batches.every((b, i) => b.baseOffset === found[i]!.baseOffset && b.sizeInBytes === found[i]!.size),
    () => `readBatches and the summary find different batches: ${hex(buf)}`,
  )
}

function checkAnyRecords(buf: Buffer, verifyCrc: boolean): void {
  checkSummaryAgrees(buf)
  codecOutcome(() => decodeDeeply(buf, verifyCrc))
  codecOutcome(() => [...readBatches(buf, { partial: 'reject' })])
}

function runRecords(input: RecordsInput): void {
  let raws = input.batches.map(encodeSpec)
  input.batches.forEach((spec, i) => {
    checkValidBatch(raws[i]!, spec, input.recompressTo)
  })
  if (input.bomb !== undefined) {
    const { compression, factor } = input.bomb
    raws[0] = withSection(raws[0]!, bombSection(compression, factor), compression)
    const outcome = codecOutcome(() => decodeDeeply(raws[0]!, true))
    if (factor === 'over')
      check(
        !outcome.ok && outcome.error instanceof DecompressedSizeExceededError,
        () => `a ${compression} bomb of 8x the cap gave ${outcome.ok ? 'records' : outcome.error.message}`,
      )
  }
  for (const m of input.mutations) {
    if (m.kind === 'bytes') {
      raws = [applyByteMutation(Buffer.concat(raws), m.mutation)]
      continue
    }
    const i = m.batch % raws.length
    const target = raws[i]!
    // A batch already broken by an earlier mutation may not decompress: then this one is a blind one.
    const mutated = codecOutcome(() => mutateBatch(target, m))
    raws[i] = mutated.ok ? mutated.value : applyByteMutation(target, { kind: 'flip', at: m.batch, bit: m.batch % 8 })
  }
  // Without the CRC check half the time: a corrupted batch with a fixed or unfixed CRC then reaches decompression.
  checkAnyRecords(Buffer.concat(raws), input.recompressTo % 2 === 0)
}

export const recordBatchesTarget: FuzzTarget<RecordsInput> = {
  name: 'record-batches',
  description: 'record batches (none, gzip, snappy, lz4, zstd): round trip, recompression, mutations, bombs',
  arbitrary: recordsInputArbitrary,
  prepare: prepareBombs,
  run: runRecords,
  runBytes(data) {
    const choices = new ByteChoices(data)
    const mode = choices.pick(2)
    const rest = Buffer.from(choices.rest())
    if (mode === 0) {
      checkAnyRecords(rest, false)
      return
    }
    // The bytes as the records section of a batch of some compression, CRC fixed: straight to the decompressor.
    const compression = choices.pick(5)
    const header = encodeRecordBatch([], { compression: 0 })
    const batch = withSection(header, rest, compression)
    batch.writeInt32BE(rest.length === 0 ? 0 : 1 + (rest[0]! % 8), 57)
    fixCrc(batch)
    checkAnyRecords(batch, true)
  },
  // Decompression stops at the cap (lz4, snappy, gzip: about the cap; zstd: about twice, zstd.ts); valid batches
  // here are some KiB.
  limits: { allocation: 2 * FUZZ_MAX_DECOMPRESSED + (64 << 10), growth: 8 * FUZZ_MAX_DECOMPRESSED + (32 << 20) },
}
