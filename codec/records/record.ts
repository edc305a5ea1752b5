import { InvalidLengthError, InvalidRecordBatchError } from '../errors.js'
import type { Reader } from '../primitives/reader.js'
import { sizeOfVarint, sizeOfVarlong } from '../primitives/sizes.js'
import type { Writer } from '../primitives/writer.js'

/**
 * One record of a v2 batch (https://kafka.apache.org/documentation/#record;
 * clients/src/main/java/org/apache/kafka/common/record/DefaultRecord.java):
 *
 *   length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
 *   keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value |
 *   headersCount varint | headers: headerKeyLength varint | key (UTF-8) | headerValueLength varint (-1 = null) | value
 *
 * `length` counts the bytes after itself; DefaultRecord.readFrom rejects a record whose fields do not use exactly
 * that many bytes, and so does this decoder.
 */

export interface RecordHeader {
  key: string
  value: Buffer | null
}

/** What a decoded record needs from its batch to turn deltas into absolute values. */
export interface RecordBase {
  readonly baseOffset: bigint
  readonly baseTimestamp: bigint
  /** The batch's maxTimestamp when its timestamps are LogAppendTime, which then applies to every record. */
  readonly logAppendTime: bigint | null
}

// A record is at least a length, attributes, timestampDelta, offsetDelta, keyLength, valueLength and
// headersCount of one byte each (DefaultRecord.MAX_RECORD_OVERHEAD is the opposite bound).
export const MIN_RECORD_SIZE = 7
// A header is at least its key length and value length.
const MIN_HEADER_SIZE = 2

const NO_HEADERS: readonly RecordHeader[] = Object.freeze([])

/** A decoded record. Key, value and header values are views of the batch (or of its decompressed records). */
export class Record {
  readonly attributes: number
  /** Exact while |delta| < 2^48 (any batch a real producer writes); `timestamp` is always exact. */
  readonly timestampDelta: number
  readonly offsetDelta: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: readonly RecordHeader[]
  /** Encoded size including the length prefix. */
  readonly sizeInBytes: number
  private readonly base: RecordBase
  private readonly exactTimestampDelta: bigint | undefined

  constructor(
    base: RecordBase,
    attributes: number,
    timestampDelta: number | bigint,
    offsetDelta: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: readonly RecordHeader[],
    sizeInBytes: number,
  ) {
    this.base = base
    this.attributes = attributes
    if (typeof timestampDelta === 'bigint') {
      this.timestampDelta = Number(timestampDelta)
      this.exactTimestampDelta = timestampDelta
    } else {
      this.timestampDelta = timestampDelta
      this.exactTimestampDelta = undefined
    }
    this.offsetDelta = offsetDelta
    this.key = key
    this.value = value
    this.headers = headers
    this.sizeInBytes = sizeInBytes
  }

  get offset(): bigint {
    return this.base.baseOffset + BigInt(this.offsetDelta)
  }

  /**
   * With LogAppendTime every record carries the batch's maxTimestamp, whatever its delta says
   * (DefaultRecordBatch passes logAppendTime to DefaultRecord.readFrom).
   */
  get timestamp(): bigint {
    if (this.base.logAppendTime !== null) return this.base.logAppendTime
    return this.base.baseTimestamp + (this.exactTimestampDelta ?? BigInt(this.timestampDelta))
  }
}

/**
 * Reads a nullable length prefix (-1 = null) and checks that its bytes are there; the reader stays before them.
 * Shared with the offset walk (record-spans.ts) so that both refuse the same records with the same words.
 */
export function readNullableLength(reader: Reader, what: string): number {
  const at = reader.pos
  const n = reader.varint()
  if (n < 0) {
    if (n !== -1) throw new InvalidLengthError(what, n, at, 'negative lengths other than -1 are invalid')
    return -1
  }
  reader.need(n, what)
  return n
}

function nullableView(reader: Reader, what: string): Buffer | null {
  const n = readNullableLength(reader, what)
  return n < 0 ? null : reader.raw(n, what)
}

/** Reads a record's length prefix and checks it against the bytes left; returns where the record ends. */
export function readRecordLength(reader: Reader): number {
  const start = reader.pos
  const length = reader.varint()
  const bodyStart = reader.pos
  if (length < MIN_RECORD_SIZE - 1 || length > reader.end - bodyStart)
    throw new InvalidRecordBatchError(
      `record length ${length} is not between ${MIN_RECORD_SIZE - 1} and the ${reader.end - bodyStart} byte(s) left`,
      start,
    )
  return bodyStart + length
}

/** Reads a record's header count and checks that the rest of the record can hold that many headers. */
export function readHeaderCount(reader: Reader, end: number): number {
  const countAt = reader.pos
  const headerCount = reader.varint()
  if (headerCount !== 0 && (headerCount < 0 || headerCount > (end - reader.pos) / MIN_HEADER_SIZE))
    throw new InvalidLengthError('record headers', headerCount, countAt, 'more headers than the record has bytes for')
  return headerCount
}

/** Reads a header key's length prefix (keys cannot be null) and checks that its bytes are there. */
export function readHeaderKeyLength(reader: Reader): number {
  const keyAt = reader.pos
  const keyLength = reader.varint()
  if (keyLength < 0) throw new InvalidLengthError('header key', keyLength, keyAt, 'header keys cannot be null')
  reader.need(keyLength, 'header key')
  return keyLength
}

/** Throws unless the record's fields (from `bodyStart`, after its length prefix at `start`) ended exactly at `end`. */
export function checkRecordEnd(reader: Reader, start: number, bodyStart: number, end: number): void {
  if (reader.pos !== end)
    throw new InvalidRecordBatchError(
      `record declared ${end - bodyStart} byte(s) but its fields took ${reader.pos - bodyStart}`,
      start,
    )
}

/** Throws unless the records section ended with the last of its `count` declared records. */
export function checkRecordsEnd(reader: Reader, count: number): void {
  if (reader.remaining !== 0)
    throw new InvalidRecordBatchError(
      `record batch has ${reader.remaining} byte(s) after its ${count} declared record(s)`,
      reader.pos,
    )
}

/** Decodes the record at the reader's position; the reader ends after it. */
export function decodeRecord(reader: Reader, base: RecordBase): Record {
  const start = reader.pos
  const end = readRecordLength(reader)
  const bodyStart = reader.pos
  const attributes = reader.int8()
  const timestampDelta = reader.varlongNumberOrBigInt()
  const offsetDelta = reader.varint()
  const key = nullableView(reader, 'record key')
  const value = nullableView(reader, 'record value')
  const headerCount = readHeaderCount(reader, end)
  let headers = NO_HEADERS
  if (headerCount !== 0) {
    const list: RecordHeader[] = new Array(headerCount)
    for (let i = 0; i < headerCount; i++) {
      const keyBytes = reader.raw(readHeaderKeyLength(reader), 'header key')
      list[i] = { key: keyBytes.toString('utf8'), value: nullableView(reader, 'header value') }
    }
    headers = list
  }
  checkRecordEnd(reader, start, bodyStart, end)
  return new Record(base, attributes, timestampDelta, offsetDelta, key, value, headers, end - start)
}

/** A record to encode. */
export interface RecordInput {
  key?: Uint8Array | null
  value?: Uint8Array | null
  headers?: readonly { key: string; value: Uint8Array | null }[]
  /** Absolute timestamp in ms; the batch stores it relative to its baseTimestamp. */
  timestamp?: bigint
  /** Offset relative to the batch's baseOffset; defaults to the record's index. */
  offsetDelta?: number
}

/** A record with everything the size and write passes need, computed once. */
export interface PreparedRecord {
  bodySize: number
  timestampDelta: bigint
  offsetDelta: number
  key: Uint8Array | null
  value: Uint8Array | null
  headers: readonly { key: string; keyBytes: number; value: Uint8Array | null }[]
}

function sizeOfNullable(v: Uint8Array | null): number {
  return v === null ? 1 : sizeOfVarint(v.length) + v.length
}

export function prepareRecord(input: RecordInput, timestampDelta: bigint, offsetDelta: number): PreparedRecord {
  const key = input.key ?? null
  const value = input.value ?? null
  const headers = (input.headers ?? []).map((h) => ({
    key: h.key,
    keyBytes: Buffer.byteLength(h.key, 'utf8'),
    value: h.value,
  }))
  let bodySize =
    1 +
    sizeOfVarlong(timestampDelta) +
    sizeOfVarint(offsetDelta) +
    sizeOfNullable(key) +
    sizeOfNullable(value) +
    sizeOfVarint(headers.length)
  for (const h of headers) bodySize += sizeOfVarint(h.keyBytes) + h.keyBytes + sizeOfNullable(h.value)
  return { bodySize, timestampDelta, offsetDelta, key, value, headers }
}

export function sizeOfPreparedRecord(r: PreparedRecord): number {
  return sizeOfVarint(r.bodySize) + r.bodySize
}

function writeNullable(w: Writer, v: Uint8Array | null): void {
  if (v === null) {
    w.varint(-1)
    return
  }
  w.varint(v.length)
  w.raw(v)
}

export function writeRecord(w: Writer, r: PreparedRecord): void {
  w.varint(r.bodySize)
  // Record attributes are unused (DefaultRecord writes 0).
  w.int8(0)
  w.varlong(r.timestampDelta)
  w.varint(r.offsetDelta)
  writeNullable(w, r.key)
  writeNullable(w, r.value)
  w.varint(r.headers.length)
  for (const h of r.headers) {
    w.varint(h.keyBytes)
    w.pos += w.buf.write(h.key, w.pos, 'utf8')
    writeNullable(w, h.value)
  }
}
