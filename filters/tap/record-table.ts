import type { RecordSpans } from '../../codec/records/index.js'

/**
 * The fields of a record the tap's copy needs (RecordSpans has them; so does RecordTable, read back).
 */
export type CopySpans = Pick<
  RecordSpans,
  | 'data'
  | 'recordStart'
  | 'recordEnd'
  | 'timestampDelta'
  | 'offsetDelta'
  | 'keyFieldStart'
  | 'keyStart'
  | 'keyLength'
  | 'valueEnd'
  | 'valueLength'
  | 'headersStart'
  | 'headerCount'
>

/** Int32 fields per record, in this order. */
const RECORD_START = 0
const RECORD_END = 1
const OFFSET_DELTA = 2
const KEY_FIELD_START = 3
const KEY_START = 4
const KEY_LENGTH = 5
const VALUE_END = 6
const VALUE_LENGTH = 7
const HEADERS_START = 8
const HEADER_COUNT = 9
const FIELDS = 10
const EMPTY = Buffer.alloc(0)

/**
 * A batch's records walked once and their fields kept, then read back record by record. The tap checks every
 * record of a batch before it copies any (a corrupt record makes the whole batch unreadable, as on the decoding
 * path), which walked each batch twice, parsing every varint again the second time: reading the fields back from
 * this table costs a fraction of that. One table is reused for every batch (the walk is synchronous).
 */
export class RecordTable implements CopySpans {
  data: Buffer = EMPTY
  recordStart = 0
  recordEnd = 0
  timestampDelta: number | bigint = 0
  offsetDelta = 0
  keyFieldStart = 0
  keyStart = 0
  keyLength = -1
  valueEnd = 0
  valueLength = -1
  headersStart = 0
  headerCount = 0
  private ints = new Int32Array(64 * FIELDS)
  private deltas = new Float64Array(64)
  /** Timestamp deltas beyond the safe integers (bigints), by record; usually none. */
  private bigDeltas = new Map<number, bigint>()
  private count = 0
  private at = 0

  /** Walks `spans` to its end, throwing as it does at a corrupt record, and keeps every record's fields. */
  fill(spans: RecordSpans): void {
    this.data = spans.data
    this.count = 0
    this.at = 0
    this.bigDeltas.clear()
    while (spans.next()) {
      const i = this.count
      if ((i + 1) * FIELDS > this.ints.length) this.grow()
      const ints = this.ints
      const o = i * FIELDS
      ints[o + RECORD_START] = spans.recordStart
      ints[o + RECORD_END] = spans.recordEnd
      ints[o + OFFSET_DELTA] = spans.offsetDelta
      ints[o + KEY_FIELD_START] = spans.keyFieldStart
      ints[o + KEY_START] = spans.keyStart
      ints[o + KEY_LENGTH] = spans.keyLength
      ints[o + VALUE_END] = spans.valueEnd
      ints[o + VALUE_LENGTH] = spans.valueLength
      ints[o + HEADERS_START] = spans.headersStart
      ints[o + HEADER_COUNT] = spans.headerCount
      const d = spans.timestampDelta
      if (typeof d === 'bigint') this.bigDeltas.set(i, d)
      else this.deltas[i] = d
      this.count = i + 1
    }
  }

  /** Moves to the next kept record (false after the last). */
  next(): boolean {
    const i = this.at
    if (i >= this.count) return false
    this.at = i + 1
    const ints = this.ints
    const o = i * FIELDS
    this.recordStart = ints[o + RECORD_START]!
    this.recordEnd = ints[o + RECORD_END]!
    this.offsetDelta = ints[o + OFFSET_DELTA]!
    this.keyFieldStart = ints[o + KEY_FIELD_START]!
    this.keyStart = ints[o + KEY_START]!
    this.keyLength = ints[o + KEY_LENGTH]!
    this.valueEnd = ints[o + VALUE_END]!
    this.valueLength = ints[o + VALUE_LENGTH]!
    this.headersStart = ints[o + HEADERS_START]!
    this.headerCount = ints[o + HEADER_COUNT]!
    this.timestampDelta = this.bigDeltas.size > 0 ? (this.bigDeltas.get(i) ?? this.deltas[i]!) : this.deltas[i]!
    return true
  }

  /** Lets go of the batch's records (a decompressed batch can be large). */
  clear(): void {
    this.data = EMPTY
    this.count = 0
    this.at = 0
  }

  private grow(): void {
    const ints = new Int32Array(this.ints.length * 2)
    ints.set(this.ints)
    this.ints = ints
    const deltas = new Float64Array(this.deltas.length * 2)
    deltas.set(this.deltas)
    this.deltas = deltas
  }
}
