import { InvalidFieldError } from '../errors.js'

/**
 * Writes into one Buffer allocated up front at the exact size the caller computed (see sizes.ts):
 * encoding is size() then write(), one allocation, no growth or copying. `finish()` checks that the
 * size computation and the writes agreed, which catches generator bugs at the first use.
 */
/** The most a forPieces scratch grows to; messages larger than it get a buffer of their own. */
const PIECES_SCRATCH_MAX_BYTES = 1024 * 1024
let piecesScratch: Buffer | undefined

export class Writer {
  readonly buf: Buffer
  pos: number
  /**
   * Values of at least this many bytes written by raw() (records, large bytes fields) are referenced rather than
   * copied, for encodePieces: they take no room in `buf` (`at` is where they go between the written parts) and
   * pieces() hands the values themselves out in between. Infinity: everything is copied. Set by forPieces only.
   */
  referenceFrom = Number.POSITIVE_INFINITY
  private references: { at: number; value: Uint8Array }[] | undefined
  /** forPieces: the message's size, and the bytes of the values referenced so far (not in `buf`). */
  private messageSize = 0
  private referenced = 0

  /**
   * A writer for a message of `size` bytes handed out as pieces (pieces()): values of at least `referenceFrom` bytes
   * are referenced, and the parts written around them go one after another into a scratch buffer reused from one
   * message to the next, copied out by pieces() into a buffer of their exact size. Allocating `size` bytes per
   * message instead (most of them never written: the records) was a large fresh buffer per Produce request, which
   * showed as about 5% of the CPU time of a tap producing to its cluster (bench/tap-cost.ts). Messages larger than
   * the scratch get a buffer of their own (the written parts are still packed at its start).
   */
  static forPieces(size: number, referenceFrom: number): Writer {
    let buf: Buffer
    if (size <= PIECES_SCRATCH_MAX_BYTES) {
      if (piecesScratch === undefined || piecesScratch.length < size)
        piecesScratch = Buffer.allocUnsafeSlow(Math.min(PIECES_SCRATCH_MAX_BYTES, Math.max(size, 64 * 1024)))
      buf = piecesScratch
    } else buf = Buffer.allocUnsafe(size)
    const w = new Writer(buf)
    w.referenceFrom = referenceFrom
    w.messageSize = size
    return w
  }

  /** A writer over `buf` starting at `start` (to write after a length prefix in a frame buffer). */
  constructor(sizeOrBuffer: number | Buffer, start = 0) {
    this.buf = typeof sizeOrBuffer === 'number' ? Buffer.allocUnsafe(sizeOrBuffer) : sizeOrBuffer
    this.pos = start
  }

  int8(v: number): void {
    this.buf.writeInt8(v, this.pos++)
  }

  uint8(v: number): void {
    this.buf[this.pos++] = v
  }

  bool(v: boolean): void {
    this.buf[this.pos++] = v ? 1 : 0
  }

  int16(v: number): void {
    this.pos = this.buf.writeInt16BE(v, this.pos)
  }

  uint16(v: number): void {
    this.pos = this.buf.writeUInt16BE(v, this.pos)
  }

  int32(v: number): void {
    this.pos = this.buf.writeInt32BE(v, this.pos)
  }

  uint32(v: number): void {
    this.pos = this.buf.writeUInt32BE(v, this.pos)
  }

  int64(v: bigint): void {
    this.pos = this.buf.writeBigInt64BE(v, this.pos)
  }

  float64(v: number): void {
    this.pos = this.buf.writeDoubleBE(v, this.pos)
  }

  uuid(v: string): void {
    if (v.length !== 22 || this.buf.write(v, this.pos, 16, 'base64url') !== 16)
      throw new InvalidFieldError(`uuid ${JSON.stringify(v)} is not 22 base64url characters (16 bytes)`)
    this.pos += 16
  }

  uvarint(v: number): void {
    const buf = this.buf
    let pos = this.pos
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80
      v = Math.floor(v / 128)
    }
    buf[pos++] = v
    this.pos = pos
  }

  varint(v: number): void {
    this.uvarint(((v << 1) ^ (v >> 31)) >>> 0)
  }

  /**
   * A varlong of a number, without a bigint: exact for |v| < 2^52, whose zigzag form (2|v| at most) stays an exact
   * double; callers with larger values use varlong.
   */
  varlongSafe(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1)
  }

  uvarlong(v: bigint): void {
    if (v < 0x80000000n) {
      this.uvarint(Number(v))
      return
    }
    const buf = this.buf
    let pos = this.pos
    while (v >= 0x80n) {
      buf[pos++] = Number(v & 0x7fn) | 0x80
      v >>= 7n
    }
    buf[pos++] = Number(v)
    this.pos = pos
  }

  varlong(v: bigint): void {
    this.uvarlong(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)))
  }

  raw(v: Uint8Array): void {
    if (v.length >= this.referenceFrom) {
      if (this.references === undefined) this.references = []
      this.references.push({ at: this.pos, value: v })
      this.referenced += v.length
      return
    }
    this.buf.set(v, this.pos)
    this.pos += v.length
  }

  string(flexible: boolean, v: string): void {
    if (typeof v !== 'string')
      throw new InvalidFieldError(`expected a string but got ${v === null ? 'null' : typeof v}`)
    if (flexible) {
      // A string of at most 42 UTF-16 units is at most 126 UTF-8 bytes, so its uvarint(length+1) prefix is
      // one byte: write the text first and fill the prefix in, instead of measuring the string twice.
      if (v.length <= 42) {
        const n = this.buf.write(v, this.pos + 1, 'utf8')
        this.buf[this.pos] = n + 1
        this.pos += 1 + n
        return
      }
      const n = Buffer.byteLength(v, 'utf8')
      this.uvarint(n + 1)
      this.pos += this.buf.write(v, this.pos, 'utf8')
      return
    }
    const n = this.buf.write(v, this.pos + 2, 'utf8')
    if (n > 0x7fff) throw new InvalidFieldError(`string of ${n} UTF-8 bytes does not fit an int16 length prefix`)
    this.buf.writeInt16BE(n, this.pos)
    this.pos += 2 + n
  }

  nullableString(flexible: boolean, v: string | null): void {
    if (v === null) {
      if (flexible) this.buf[this.pos++] = 0
      else this.int16(-1)
      return
    }
    this.string(flexible, v)
  }

  bytes(flexible: boolean, v: Uint8Array): void {
    if (v === null || v === undefined) throw new InvalidFieldError(`expected bytes but got ${v}`)
    if (flexible) this.uvarint(v.length + 1)
    else this.int32(v.length)
    this.raw(v)
  }

  nullableBytes(flexible: boolean, v: Uint8Array | null): void {
    if (v === null) {
      if (flexible) this.buf[this.pos++] = 0
      else this.int32(-1)
      return
    }
    this.bytes(flexible, v)
  }

  /** ARRAY / COMPACT_ARRAY count prefix; -1 writes null. */
  arrayLength(flexible: boolean, n: number): void {
    if (flexible) this.uvarint(n + 1)
    else this.int32(n)
  }

  /** The finished buffer; throws if fewer or more bytes were written than were allocated. */
  finish(): Buffer {
    if (this.pos !== this.buf.length)
      throw new Error(`codec bug: wrote ${this.pos} bytes into a buffer sized ${this.buf.length}`)
    if (this.references !== undefined) throw new Error('codec bug: finish() on a writer that referenced values')
    return this.buf
  }

  /**
   * The finished message (of a forPieces writer) as pieces: the written parts with the referenced values in
   * between. Throws if the parts and the values do not make up the message's size.
   */
  pieces(): Buffer[] {
    if (this.pos + this.referenced !== this.messageSize)
      throw new Error(
        `codec bug: wrote ${this.pos} bytes and referenced ${this.referenced} for a message of ${this.messageSize}`,
      )
    // The scratch is the next message's: the written parts are copied out (a small buffer, from Node's pool).
    const written = this.buf === piecesScratch ? Buffer.from(this.buf.subarray(0, this.pos)) : this.buf
    if (this.references === undefined) return [written.subarray(0, this.pos)]
    const out: Buffer[] = []
    let from = 0
    for (const { at, value } of this.references) {
      if (at > from) out.push(written.subarray(from, at))
      out.push(Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength))
      from = at
    }
    if (from < this.pos) out.push(written.subarray(from, this.pos))
    return out
  }
}
