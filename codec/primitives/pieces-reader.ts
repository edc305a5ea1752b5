import { InvalidFieldError, InvalidLengthError, InvalidVarintError, TruncatedInputError } from '../errors.js'
import { Reader } from './reader.js'

const EMPTY = Buffer.alloc(0)
/** Where fixed-size values split between pieces are put together; read at once, so one serves every reader. */
const SCRATCH = Buffer.alloc(16)

/**
 * A Reader over a frame that arrived in several pieces (socket chunks), so that a large frame can be scanned
 * (skip functions: find where the top-level tagged fields start) without first being copied into one Buffer.
 *
 * Positions are offsets into the concatenation of the pieces. Fixed-size values and varints are read across
 * piece boundaries; skipping a length-prefixed field only moves the position. Methods that return views
 * (raw, bytes, string) read from one piece when they can and copy only when a value straddles two; the skip
 * functions, the intended use, never call them for large values.
 */
export class PiecesReader extends Reader {
  private readonly pieces: readonly Buffer[]
  /** Start offset of each piece in the concatenation. */
  private readonly starts: readonly number[]
  /** Index of the piece that holds `pos` (a hint; reads move forward). */
  private piece = 0

  /**
   * `layout` places the pieces at explicit offsets, in order, with gaps allowed between them (bytes nobody will read:
   * StreamingSummaryDecoder keeps only what a replay reads); `end` is then the frame's length. Without it the pieces
   * are contiguous from offset 0.
   */
  constructor(pieces: readonly Buffer[], start = 0, layout?: { starts: readonly number[]; end: number }) {
    const first = pieces[0] ?? Buffer.alloc(0)
    let starts = layout?.starts
    let end = layout?.end
    if (starts === undefined) {
      const at: number[] = []
      let total = 0
      for (const p of pieces) {
        at.push(total)
        total += p.length
      }
      starts = at
      end = total
    }
    super(first, start, end)
    this.pieces = pieces
    this.starts = starts
  }

  /** Forgets the piece hint (the pieces changed, or the position moved back). */
  protected restartHint(): void {
    this.piece = 0
  }

  /** Moves the piece hint to the piece that holds `pos` (or the last before it) and returns the offset in it. */
  private locate(pos: number): number {
    let i = this.piece
    if (i >= this.pieces.length || pos < this.starts[i]!) i = 0
    while (i + 1 < this.pieces.length && pos >= this.starts[i + 1]!) i++
    this.piece = i
    const off = pos - (this.starts[i] ?? 0)
    if (off < 0 || i >= this.pieces.length) throw this.gap(pos)
    return off
  }

  /**
   * Called before every read of `n` bytes at the current position: throws unless they are there. A subclass that
   * gets its pieces over time (StreamingSummaryDecoder's replays) also learns here what is read.
   */
  protected reach(n: number, what: string): void {
    this.need(n, what)
  }

  /**
   * Points `src`/`srcOff` at the `n` (at most 16) bytes at the current position and advances: in place when they lie
   * in one piece (no Buffer view is made: a view costs more than the read), else copied into a scratch buffer.
   */
  private fixed(n: number, what: string): void {
    this.reach(n, what)
    const off = this.locate(this.pos)
    const p = this.pieces[this.piece]!
    if (off + n <= p.length) {
      this.src = p
      this.srcOff = off
    } else {
      this.gather(this.scratch, n, off)
      this.src = this.scratch
      this.srcOff = 0
    }
    this.pos += n
  }

  private src: Buffer = EMPTY
  private srcOff = 0
  private readonly scratch = SCRATCH

  /** `n` bytes at the current position: a view when they lie in one piece, else a copy. Advances. */
  private take(n: number, what: string): Buffer {
    this.reach(n, what)
    if (n === 0) return EMPTY
    const off = this.locate(this.pos)
    const p = this.pieces[this.piece]!
    let out: Buffer
    if (off + n <= p.length) out = p.subarray(off, off + n)
    else {
      out = Buffer.allocUnsafe(n)
      this.gather(out, n, off)
    }
    this.pos += n
    return out
  }

  /** Copies `n` bytes starting at offset `off` of the hinted piece, across the following pieces, into `out`. */
  private gather(out: Buffer, n: number, off: number): void {
    const i = this.piece
    if (off > this.pieces[i]!.length || (off === this.pieces[i]!.length && n > 0)) throw this.gap(this.pos)
    let copied = 0
    let j = i
    let o = off
    while (copied < n) {
      const src = this.pieces[j]
      // The bytes must continue in the next piece, with no gap between.
      if (src === undefined || (j > i && this.starts[j] !== this.starts[j - 1]! + this.pieces[j - 1]!.length))
        throw this.gap(this.pos + copied)
      const m = Math.min(n - copied, src.length - o)
      src.copy(out, copied, o, o + m)
      copied += m
      j++
      o = 0
    }
  }

  /** A read landed where no piece lies: a bug in whoever laid the pieces out, never bad input. */
  private gap(pos: number): Error {
    return new Error(`PiecesReader: no piece holds byte ${pos}`)
  }

  override uint8(): number {
    this.fixed(1, 'uint8')
    return this.src[this.srcOff]!
  }

  override int8(): number {
    this.fixed(1, 'int8')
    return this.src.readInt8(this.srcOff)
  }

  override bool(): boolean {
    this.fixed(1, 'bool')
    return this.src[this.srcOff] !== 0
  }

  override int16(): number {
    this.fixed(2, 'int16')
    return this.src.readInt16BE(this.srcOff)
  }

  override uint16(): number {
    this.fixed(2, 'uint16')
    return this.src.readUInt16BE(this.srcOff)
  }

  override int32(): number {
    this.fixed(4, 'int32')
    return this.src.readInt32BE(this.srcOff)
  }

  override uint32(): number {
    this.fixed(4, 'uint32')
    return this.src.readUInt32BE(this.srcOff)
  }

  override int64(): bigint {
    this.fixed(8, 'int64')
    return this.src.readBigInt64BE(this.srcOff)
  }

  override float64(): number {
    this.fixed(8, 'float64')
    return this.src.readDoubleBE(this.srcOff)
  }

  override uuid(): string {
    this.fixed(16, 'uuid')
    return this.src.toString('base64url', this.srcOff, this.srcOff + 16)
  }

  // The same limits as Reader's: a fifth byte carrying bits past 32 (a tenth past 64) is refused, so a frame decodes
  // the same whether it came in one piece or several.
  override uvarint(): number {
    const start = this.pos
    let value = 0
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) throw new TruncatedInputError('varint', 1, 0, this.pos)
      const b = this.uint8()
      value += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) {
        if (value > 0xffffffff) throw new InvalidVarintError(32, start)
        return value
      }
    }
    throw new InvalidVarintError(32, start)
  }

  override uvarlong(): bigint {
    const start = this.pos
    let value = 0n
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new TruncatedInputError('varlong', 1, 0, this.pos)
      const b = this.uint8()
      value |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) {
        if (value > 0xffffffffffffffffn) throw new InvalidVarintError(64, start)
        return value
      }
    }
    throw new InvalidVarintError(64, start)
  }

  override varlongNumberOrBigInt(): number | bigint {
    const v = this.varlong()
    return v >= -(2n ** 48n) && v < 2n ** 48n ? Number(v) : v
  }

  // Any negative length of a non-nullable string is refused as a null, as Reader.string does (and Kafka's generated
  // readers: "non-nullable field was serialized as null"), so both readers give the same error for the same bytes.
  override string(flexible: boolean, what: string): string {
    const at = this.pos
    const n = flexible ? this.uvarint() - 1 : this.int16()
    if (n < 0) throw new InvalidFieldError(`non-nullable string ${what} was null`, at)
    return this.take(n, what).toString('utf8')
  }

  override nullableString(flexible: boolean, what: string): string | null {
    const at = this.pos
    const n = flexible ? this.uvarint() - 1 : this.int16()
    if (n < 0) {
      if (n !== -1) throw new InvalidLengthError(`string ${what}`, n, at, 'negative lengths other than -1 are invalid')
      return null
    }
    return this.take(n, what).toString('utf8')
  }

  override raw(n: number, what = 'bytes'): Buffer {
    return this.take(n, what)
  }
}
