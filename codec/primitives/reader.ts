import {
  InvalidFieldError,
  InvalidLengthError,
  InvalidVarintError,
  TrailingBytesError,
  TruncatedInputError,
} from '../errors.js'

/**
 * A cursor over one Buffer. Byte-valued reads return views (subarray) into that Buffer, never copies,
 * so a decoded message keeps the frame it came from alive; callers that keep values longer than the
 * frame must copy them.
 *
 * Kafka wire forms (https://kafka.apache.org/protocol#protocol_types):
 *   STRING          int16 length (-1 = null) + UTF-8           COMPACT_STRING  uvarint(length+1) (0 = null) + UTF-8
 *   BYTES           int32 length (-1 = null) + bytes           COMPACT_BYTES   uvarint(length+1) (0 = null) + bytes
 *   ARRAY           int32 count  (-1 = null) + elements        COMPACT_ARRAY   uvarint(count+1)  (0 = null) + elements
 *   UUID            16 bytes; shown as base64url (22 chars), the form Kafka's tools print
 *   VARINT/VARLONG  zigzag-encoded LEB128, at most 5 / 10 bytes
 *
 * Every length is checked against the bytes actually left before anything is sliced or allocated, so an
 * untrusted length can never make the codec allocate more than the input it was given.
 */
export class Reader {
  readonly buf: Buffer
  pos: number
  readonly end: number
  /**
   * How `records` fields (Produce request, Fetch response) are read: unset, as bytes (a view, like any BYTES);
   * set, by this function, given the reader at the field's first byte and the field's length, which must leave
   * the reader after the field. Its value then stands where the field's Buffer would be (codec/records'
   * readRecordsSummary puts a RecordsSummary there, for observers that need batch headers only).
   */
  recordsReader: ((r: Reader, length: number) => unknown) | undefined = undefined

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf
    this.pos = start
    this.end = end
  }

  get remaining(): number {
    return this.end - this.pos
  }

  /** Throws unless `n` more bytes are available. */
  need(n: number, what: string): void {
    if (this.end - this.pos < n) throw new TruncatedInputError(what, n, this.end - this.pos, this.pos)
  }

  int8(): number {
    this.need(1, 'int8')
    return this.buf.readInt8(this.pos++)
  }

  uint8(): number {
    this.need(1, 'uint8')
    return this.buf[this.pos++]!
  }

  bool(): boolean {
    this.need(1, 'bool')
    return this.buf[this.pos++] !== 0
  }

  int16(): number {
    this.need(2, 'int16')
    const v = this.buf.readInt16BE(this.pos)
    this.pos += 2
    return v
  }

  uint16(): number {
    this.need(2, 'uint16')
    const v = this.buf.readUInt16BE(this.pos)
    this.pos += 2
    return v
  }

  int32(): number {
    this.need(4, 'int32')
    const v = this.buf.readInt32BE(this.pos)
    this.pos += 4
    return v
  }

  uint32(): number {
    this.need(4, 'uint32')
    const v = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return v
  }

  int64(): bigint {
    this.need(8, 'int64')
    const v = this.buf.readBigInt64BE(this.pos)
    this.pos += 8
    return v
  }

  float64(): number {
    this.need(8, 'float64')
    const v = this.buf.readDoubleBE(this.pos)
    this.pos += 8
    return v
  }

  uuid(): string {
    this.need(16, 'uuid')
    const v = this.buf.toString('base64url', this.pos, this.pos + 16)
    this.pos += 16
    return v
  }

  /** Unsigned LEB128 varint of at most 32 bits (5 bytes), as Kafka's ByteUtils.readUnsignedVarint. */
  uvarint(): number {
    const buf = this.buf
    let pos = this.pos
    // Most varints on the wire (record fields, compact lengths) are one byte: answer those before the loop.
    // Record decoding spends much of its time here (bench/codec-records.ts), hence also the running `scale`
    // rather than 2 ** shift.
    if (pos < this.end) {
      const first = buf[pos]!
      if (first < 0x80) {
        this.pos = pos + 1
        return first
      }
    }
    let value = 0
    for (let i = 0, scale = 1; i < 5; i++, scale *= 128) {
      if (pos >= this.end) throw new TruncatedInputError('varint', 1, 0, pos)
      const b = buf[pos++]!
      // Multiplication instead of << keeps bit 31 positive: the result is an unsigned 32-bit value.
      value += (b & 0x7f) * scale
      if ((b & 0x80) === 0) {
        if (value > 0xffffffff) throw new InvalidVarintError(32, this.pos)
        this.pos = pos
        return value
      }
    }
    throw new InvalidVarintError(32, this.pos)
  }

  /** Zigzag-encoded signed 32-bit varint (record fields, Kafka's ByteUtils.readVarint). */
  varint(): number {
    const u = this.uvarint()
    return (u >>> 1) ^ -(u & 1)
  }

  /** Unsigned LEB128 varlong of at most 64 bits (10 bytes). */
  uvarlong(): bigint {
    const buf = this.buf
    let pos = this.pos
    // Fast path: values below 2^28 (four bytes) need no bigint arithmetic.
    let small = 0
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= this.end) throw new TruncatedInputError('varlong', 1, 0, pos)
      const b = buf[pos++]!
      small |= (b & 0x7f) << shift
      if ((b & 0x80) === 0) {
        this.pos = pos
        return BigInt(small)
      }
    }
    let value = BigInt(small)
    for (let shift = 28n; shift < 70n; shift += 7n) {
      if (pos >= this.end) throw new TruncatedInputError('varlong', 1, 0, pos)
      const b = buf[pos++]!
      value |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) {
        if (value > 0xffffffffffffffffn) throw new InvalidVarintError(64, this.pos)
        this.pos = pos
        return value
      }
    }
    throw new InvalidVarintError(64, this.pos)
  }

  /** Zigzag-encoded signed 64-bit varlong. */
  varlong(): bigint {
    const u = this.uvarlong()
    return (u >> 1n) ^ -(u & 1n)
  }

  /**
   * Zigzag-encoded signed 64-bit varlong without bigint arithmetic when it can be avoided: a varlong of at
   * most 7 bytes carries 49 bits, so its value (|v| < 2^48) is an exact number; a longer one comes back as
   * a bigint from `varlong()`. Record timestamp deltas are read this way (milliseconds within one batch,
   * in practice a few bytes), so a record decode allocates no bigint for them.
   */
  varlongNumberOrBigInt(): number | bigint {
    const buf = this.buf
    const start = this.pos
    let pos = start
    let u = 0
    for (let scale = 1; scale < 2 ** 49; scale *= 128) {
      if (pos >= this.end) throw new TruncatedInputError('varlong', 1, 0, pos)
      const b = buf[pos++]!
      u += (b & 0x7f) * scale
      if ((b & 0x80) === 0) {
        this.pos = pos
        // Zigzag: even u is u/2, odd u is -(u+1)/2; both exact for u < 2^49.
        return u % 2 === 0 ? u / 2 : -(u + 1) / 2
      }
    }
    return this.varlong()
  }

  /** `n` raw bytes as a view. */
  raw(n: number, what = 'bytes'): Buffer {
    this.need(n, what)
    const v = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return v
  }

  private utf8(n: number, what: string): string {
    this.need(n, what)
    const v = this.buf.toString('utf8', this.pos, this.pos + n)
    this.pos += n
    return v
  }

  /** Length prefix of a STRING / COMPACT_STRING; -1 means null. */
  private stringLength(flexible: boolean): number {
    if (flexible) return this.uvarint() - 1
    return this.int16()
  }

  /** Length prefix of BYTES / COMPACT_BYTES / records; -1 means null. */
  private bytesLength(flexible: boolean): number {
    if (flexible) return this.uvarint() - 1
    return this.int32()
  }

  string(flexible: boolean, what: string): string {
    const at = this.pos
    const n = this.stringLength(flexible)
    if (n < 0) throw new InvalidFieldError(`non-nullable string ${what} was null`, at)
    return this.utf8(n, what)
  }

  nullableString(flexible: boolean, what: string): string | null {
    const at = this.pos
    const n = this.stringLength(flexible)
    if (n < 0) {
      if (n !== -1) throw new InvalidLengthError(`string ${what}`, n, at, 'negative lengths other than -1 are invalid')
      return null
    }
    return this.utf8(n, what)
  }

  bytes(flexible: boolean, what: string): Buffer {
    const at = this.pos
    const n = this.bytesLength(flexible)
    if (n < 0) throw new InvalidFieldError(`non-nullable bytes ${what} was null`, at)
    return this.raw(n, what)
  }

  nullableBytes(flexible: boolean, what: string): Buffer | null {
    const at = this.pos
    const n = this.bytesLength(flexible)
    if (n < 0) {
      if (n !== -1) throw new InvalidLengthError(`bytes ${what}`, n, at, 'negative lengths other than -1 are invalid')
      return null
    }
    return this.raw(n, what)
  }

  /** A `records` field: bytes, unless a recordsReader is set (see there). */
  records(flexible: boolean, what: string): Buffer {
    if (this.recordsReader === undefined) return this.bytes(flexible, what)
    const at = this.pos
    const n = this.bytesLength(flexible)
    if (n < 0) throw new InvalidFieldError(`non-nullable records ${what} was null`, at)
    return this.readRecordsWith(this.recordsReader, n, what)
  }

  nullableRecords(flexible: boolean, what: string): Buffer | null {
    if (this.recordsReader === undefined) return this.nullableBytes(flexible, what)
    const at = this.pos
    const n = this.bytesLength(flexible)
    if (n < 0) {
      if (n !== -1) throw new InvalidLengthError(`records ${what}`, n, at, 'negative lengths other than -1 are invalid')
      return null
    }
    return this.readRecordsWith(this.recordsReader, n, what)
  }

  private readRecordsWith(read: (r: Reader, length: number) => unknown, n: number, what: string): Buffer {
    this.need(n, what)
    const end = this.pos + n
    const value = read(this, n)
    if (this.pos !== end)
      throw new InvalidFieldError(`records ${what}: its reader stopped at ${this.pos}, not ${end}`, end)
    // Typed as the Buffer the generated message types declare; what is really there is the caller's choice.
    return value as Buffer
  }

  /**
   * Element count of an ARRAY / COMPACT_ARRAY; -1 means null (only when `nullable`).
   * Like Kafka's generated readers, a count larger than the bytes left is rejected before anything is
   * allocated: every element takes at least one byte.
   */
  arrayLength(flexible: boolean, nullable: boolean, what: string): number {
    const at = this.pos
    const n = flexible ? this.uvarint() - 1 : this.int32()
    if (n < 0) {
      if (!nullable) throw new InvalidFieldError(`non-nullable array ${what} was null`, at)
      if (n !== -1) throw new InvalidLengthError(`array ${what}`, n, at, 'negative counts other than -1 are invalid')
      return -1
    }
    if (n > this.end - this.pos)
      throw new InvalidLengthError(`array ${what}`, n, at, `only ${this.end - this.pos} byte(s) remain`)
    return n
  }

  // ---- skipping: move past values without building them (used to find a field without decoding a message)

  skip(n: number, what = 'bytes'): void {
    this.need(n, what)
    this.pos += n
  }

  /** Skips a STRING / COMPACT_STRING, null or not. */
  skipString(flexible: boolean, what: string): void {
    const n = this.stringLength(flexible)
    if (n > 0) this.skip(n, what)
  }

  /** Skips BYTES / COMPACT_BYTES / records, null or not. */
  skipBytes(flexible: boolean, what: string): void {
    const n = this.bytesLength(flexible)
    if (n > 0) this.skip(n, what)
  }

  /** Skips a tagged-field section (KIP-482): uvarint count, then per field uvarint tag, uvarint size, bytes. */
  skipTaggedFields(): void {
    const count = this.uvarint()
    for (let i = 0; i < count; i++) {
      this.uvarint()
      const size = this.uvarint()
      this.skip(size, 'tagged field')
    }
  }

  /** Throws unless the reader consumed everything it was given. */
  expectEnd(what: string): void {
    if (this.pos !== this.end) throw new TrailingBytesError(what, this.end - this.pos, this.pos)
  }
}
