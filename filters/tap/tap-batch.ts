import { sizeOfVarint, sizeOfVarlongSafe } from '../../codec/primitives/sizes.js'
import { Writer } from '../../codec/primitives/writer.js'
import {
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  RECORD_BATCH_HEADER_SIZE,
  writeRecordBatchHeader,
} from '../../codec/records/index.js'
import type { Capture } from './capture.js'
import { TAP_HEADERS } from './decorate.js'
import { OffsetDigits } from './offset-digits.js'
import type { CopySpans } from './record-table.js'

/**
 * One tap batch being built from the encoded bytes of captured records, for one tap and one destination partition:
 * each copy is the record's own key, value and headers bytes as the client encoded them, followed by the tap's
 * headers (encoded once per capture, provenanceHeaders) and the record's offset header, under a new length, a new
 * header count and deltas of the tap batch (records are renumbered 0..n-1; timestamps are re-based on the tap
 * batch's first record, so copies of several captured batches can share one tap batch). The copies go into a
 * scratch buffer the builder keeps across batches; finish() writes the batch header (one CRC per tap batch) and
 * hands out a view of the scratch, which the caller copies into memory of its own before the next record.
 *
 * The result decodes to what the decoding path (extract.ts) makes of the same records: record-copies.test.ts.
 */

/** Safe integers whose differences and zigzag forms stay exact in a double (Writer.varlongSafe). */
const SAFE_TIMESTAMP = 2 ** 51
/** The offset header's key, with its length prefix: written before each copy's offset digits. */
const OFFSET_KEY = encodeHeaderKey(TAP_HEADERS.offset)
/** Room for an offset header: key, value length and up to 20 digits. */
const OFFSET_HEADER_MAX = OFFSET_KEY.length + 1 + 20

export function encodeHeaderKey(key: string): Buffer {
  const keyBytes = Buffer.from(key, 'utf8')
  const w = new Writer(sizeOfVarint(keyBytes.length) + keyBytes.length)
  w.varint(keyBytes.length)
  w.raw(keyBytes)
  return w.finish()
}

/** Headers as they are encoded inside a record (count not included): varint lengths, UTF-8 keys, raw values. */
export function encodeHeaders(headers: readonly { readonly key: string; readonly value: Buffer | null }[]): Buffer {
  let size = 0
  for (const h of headers) {
    const k = Buffer.byteLength(h.key, 'utf8')
    size += sizeOfVarint(k) + k + sizeOfVarint(h.value === null ? -1 : h.value.length) + (h.value?.length ?? 0)
  }
  const w = new Writer(size)
  for (const h of headers) {
    w.varint(Buffer.byteLength(h.key, 'utf8'))
    w.pos += w.buf.write(h.key, w.pos, 'utf8')
    if (h.value === null) w.varint(-1)
    else {
      w.varint(h.value.length)
      w.raw(h.value)
    }
  }
  return w.finish()
}

/**
 * The headers a tap adds to every copy of a capture's records (all but the offset's value), encoded: `bytes` the
 * headers followed by the offset header's key (`withOffsetKey`, for copies with an offset: one copy for all of it).
 */
export interface CopyHeaders {
  readonly bytes: Buffer
  readonly count: number
  /** `bytes` then the offset header's key and nothing else: copies with an offset take this. */
  readonly withOffsetKey: Buffer
}

export function copyHeaders(headers: readonly { readonly key: string; readonly value: Buffer | null }[]): CopyHeaders {
  const bytes = encodeHeaders(headers)
  return { bytes, count: headers.length, withOffsetKey: Buffer.concat([bytes, OFFSET_KEY]) }
}

/** Below this many bytes a loop copies faster than Buffer.copy, which makes a view per call. */
const LOOP_COPY_BYTES = 64

/** Copies source[start, end) to target at `at`; returns the bytes copied. */
function copyBytes(source: Buffer, start: number, end: number, target: Buffer, at: number): number {
  const n = end - start
  if (n >= LOOP_COPY_BYTES) return source.copy(target, at, start, end)
  for (let i = 0; i < n; i++) target[at + i] = source[start + i]!
  return n
}

export class TapBatchBuilder {
  /** Copies in the batch, and their key and value bytes (what the tap counts as tapped bytes). */
  count = 0
  keyValueBytes = 0
  /** Captures whose records are in the batch: they are held until the batch is produced. */
  readonly captures: Capture[] = []
  private w: Writer
  private baseTimestamp: number | bigint = 0
  /** The digits of the last offset header written, incremented for the next (offset-digits.ts). */
  private readonly offsetDigits = new OffsetDigits()
  private maxTimestamp: number | bigint = 0

  constructor(
    /** Destination partition: undefined for keyless records (the producer picks one per batch). */
    public partition: number | undefined,
    /** Bytes a batch should not grow beyond (a single larger copy still makes a batch of its own). */
    private limit: number,
  ) {
    this.w = new Writer(Math.max(limit, 4096))
    this.w.pos = RECORD_BATCH_HEADER_SIZE
  }

  /** Bytes of the batch so far, header included. */
  get size(): number {
    return this.w.pos
  }

  /** The most a copy of this record can take (the caller starts a new batch when it would not fit). */
  static maxCopySize(spans: CopySpans, headers: CopyHeaders): number {
    return spans.recordEnd - spans.recordStart + headers.bytes.length + OFFSET_HEADER_MAX + 16
  }

  /** Whether a copy of at most `need` bytes should go into a new batch rather than this one. */
  wouldOverflow(need: number): boolean {
    return this.count > 0 && this.w.pos + need > this.limit
  }

  /**
   * Appends a copy of the record `spans` is at: `timestamp` its absolute timestamp (ms), `offset` its offset in its
   * topic partition when known (undefined: no offset header).
   */
  append(
    spans: CopySpans,
    timestamp: number | bigint,
    headers: CopyHeaders,
    offset: number | bigint | undefined,
    capture: Capture,
  ): void {
    const data = spans.data
    if (this.count === 0) {
      this.baseTimestamp = timestamp
      this.maxTimestamp = timestamp
    } else if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp
    const base = this.baseTimestamp
    // Exact in a double while both are safe; otherwise (timestamps past year 70,000) in bigints.
    const safe =
      typeof timestamp === 'number' &&
      typeof base === 'number' &&
      Math.abs(timestamp) < SAFE_TIMESTAMP &&
      Math.abs(base) < SAFE_TIMESTAMP
    const deltaNumber = safe ? (timestamp as number) - (base as number) : 0
    const deltaBig = safe ? 0n : BigInt(timestamp) - BigInt(base)
    const keyValue = spans.valueEnd - spans.keyFieldStart
    const ownHeaders = spans.recordEnd - spans.headersStart
    const digits = offset === undefined ? '' : typeof offset === 'bigint' ? offset.toString() : undefined
    if (digits === undefined) this.offsetDigits.set(offset as number)
    const digitCount = digits !== undefined ? digits.length : this.offsetDigits.count
    const offsetHeader = offset === undefined ? 0 : OFFSET_KEY.length + 1 + digitCount
    const headerCount = spans.headerCount + headers.count + (offset === undefined ? 0 : 1)
    const bodySize =
      1 +
      (safe ? sizeOfVarlongSafe(deltaNumber) : sizeOfBigVarlong(deltaBig)) +
      sizeOfVarint(this.count) +
      keyValue +
      sizeOfVarint(headerCount) +
      ownHeaders +
      headers.bytes.length +
      offsetHeader
    this.ensure(sizeOfVarint(bodySize) + bodySize)
    const w = this.w
    w.varint(bodySize)
    w.uint8(0) // record attributes: unused (DefaultRecord writes 0)
    if (safe) w.varlongSafe(deltaNumber)
    else w.varlong(deltaBig)
    w.varint(this.count)
    w.pos += copyBytes(data, spans.keyFieldStart, spans.valueEnd, w.buf, w.pos)
    w.varint(headerCount)
    w.pos += copyBytes(data, spans.headersStart, spans.recordEnd, w.buf, w.pos)
    if (offset === undefined) w.pos += headers.bytes.copy(w.buf, w.pos)
    else {
      w.pos += headers.withOffsetKey.copy(w.buf, w.pos)
      w.varint(digitCount)
      if (digits !== undefined) w.pos += w.buf.write(digits, w.pos, 'latin1')
      else {
        const d = this.offsetDigits.digits
        const buf = w.buf
        const at = w.pos
        for (let i = 0; i < digitCount; i++) buf[at + i] = d[i]!
        w.pos += digitCount
      }
    }
    this.count++
    this.keyValueBytes += Math.max(0, spans.keyLength) + Math.max(0, spans.valueLength)
    if (this.captures[this.captures.length - 1] !== capture) this.captures.push(capture)
  }

  /**
   * The batch: header written (CRC included) over the copies. A view of the builder's scratch, valid until the
   * next append or reset: the caller copies it.
   */
  finish(): Buffer {
    const batch = this.w.buf.subarray(0, this.w.pos)
    writeRecordBatchHeader(batch, {
      baseOffset: 0n,
      partitionLeaderEpoch: NO_PARTITION_LEADER_EPOCH,
      attributes: 0, // uncompressed (the producer compresses when the tap asks), CreateTime
      lastOffsetDelta: this.count - 1,
      baseTimestamp: BigInt(this.baseTimestamp),
      maxTimestamp: BigInt(this.maxTimestamp),
      producerId: NO_PRODUCER_ID,
      producerEpoch: NO_PRODUCER_EPOCH,
      baseSequence: NO_SEQUENCE,
      recordCount: this.count,
    })
    return batch
  }

  /** Bytes the scratch holds: a batch of at most this many is built without the scratch growing. */
  get capacity(): number {
    return this.w.buf.length
  }

  /**
   * The whole scratch, with the batch finish() returned at its start, given away (to be produced from where it is,
   * instead of copied), and `replacement` taken as the scratch from the next reset on.
   */
  handOver(replacement: Buffer): Buffer {
    const given = this.w.buf
    this.w = new Writer(replacement, RECORD_BATCH_HEADER_SIZE)
    return given
  }

  /** Empty again, for another batch (the scratch is kept). */
  reset(partition: number | undefined, limit: number): void {
    this.partition = partition
    this.limit = limit
    this.count = 0
    this.keyValueBytes = 0
    this.captures.length = 0
    // A scratch grown for one very large record is not kept: builders are pooled.
    if (this.w.buf.length > 4 * Math.max(limit, 4096)) this.w = new Writer(Math.max(limit, 4096))
    this.w.pos = RECORD_BATCH_HEADER_SIZE
  }

  private ensure(n: number): void {
    if (this.w.pos + n <= this.w.buf.length) return
    const bigger = new Writer(Math.max(this.w.buf.length * 2, this.w.pos + n))
    this.w.buf.copy(bigger.buf, 0, 0, this.w.pos)
    bigger.pos = this.w.pos
    this.w = bigger
  }
}

function sizeOfBigVarlong(v: bigint): number {
  let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n))
  let n = 1
  while (z >= 0x80n) {
    z >>= 7n
    n++
  }
  return n
}
