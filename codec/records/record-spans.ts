import { Reader } from '../primitives/reader.js'
import {
  checkRecordEnd,
  checkRecordsEnd,
  readHeaderCount,
  readHeaderKeyLength,
  readNullableLength,
  readRecordLength,
} from './record.js'

/**
 * The records of one batch as offsets into its (decompressed) records section, for readers that look at a few
 * bytes of each record and keep nothing: one object per batch, updated in place by `next()`, where decodeRecord
 * makes a Record, Buffer views and a headers array per record. Lengths are checked exactly as decodeRecord checks
 * them (the same helpers of record.ts), so a corrupt record throws the same error at the same record.
 * Layout of a record: record.ts.
 */
export class RecordSpans {
  /** The decompressed records section (a view of the batch when uncompressed); the offsets below index it. */
  readonly data: Buffer
  /** Where the current record starts (its length prefix) and ends (after its last header). */
  recordStart = 0
  recordEnd = 0
  /** The current record's deltas from the batch's base timestamp (a bigint only beyond 2^53) and base offset. */
  timestampDelta: number | bigint = 0
  offsetDelta = 0
  /** Where the current record's key length prefix starts: key and value, with their prefixes, run to `valueEnd`. */
  keyFieldStart = 0
  valueEnd = 0
  /** Where the current record's key starts, and its length; -1 for a null key. */
  keyStart = 0
  keyLength = -1
  /** Where the current record's value starts, and its length; -1 for a null value. */
  valueStart = 0
  valueLength = -1
  /** Where the current record's headers start (after their count), and how many there are. */
  headersStart = 0
  headerCount = 0
  private readonly reader: Reader
  private readonly count: number
  private walked = 0

  /** `count`: the records the batch declares (RecordBatch.recordSpans has checked that `data` can hold them). */
  constructor(data: Buffer, count: number) {
    this.data = data
    this.reader = new Reader(data)
    this.count = count
  }

  /** Back before the first record: walks the same records again (a check of them all first, then a use). */
  rewind(): void {
    this.reader.pos = 0
    this.walked = 0
  }

  /**
   * Moves to the next record and returns true, or returns false after the last one (throwing, as
   * RecordBatch.records does, when bytes are left after it).
   */
  next(): boolean {
    const reader = this.reader
    if (this.walked === this.count) {
      checkRecordsEnd(reader, this.count)
      return false
    }
    this.walked++
    const start = reader.pos
    const end = readRecordLength(reader)
    const bodyStart = reader.pos
    reader.int8() // attributes
    this.recordStart = start
    this.timestampDelta = reader.varlongNumberOrBigInt()
    this.offsetDelta = reader.varint()
    this.keyFieldStart = reader.pos
    this.keyLength = readNullableLength(reader, 'record key')
    this.keyStart = reader.pos
    if (this.keyLength > 0) reader.pos += this.keyLength
    this.valueLength = readNullableLength(reader, 'record value')
    this.valueStart = reader.pos
    if (this.valueLength > 0) reader.pos += this.valueLength
    this.valueEnd = reader.pos
    const headerCount = readHeaderCount(reader, end)
    this.headerCount = headerCount
    this.headersStart = reader.pos
    for (let i = 0; i < headerCount; i++) {
      // Read first: `reader.pos += f()` would add to the position from before f read the length.
      const keyLength = readHeaderKeyLength(reader)
      reader.pos += keyLength
      const n = readNullableLength(reader, 'header value')
      if (n > 0) reader.pos += n
    }
    checkRecordEnd(reader, start, bodyStart, end)
    this.recordEnd = reader.pos
    return true
  }
}
