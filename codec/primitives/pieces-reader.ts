import { InvalidFieldError, InvalidLengthError, InvalidVarintError, TruncatedInputError } from '../errors.js'
import { Reader } from './reader.js'

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
  private readonly starts: number[]
  /** Index of the piece that holds `pos` (a hint; reads move forward). */
  private piece = 0

  constructor(pieces: readonly Buffer[], start = 0) {
    const first = pieces[0] ?? Buffer.alloc(0)
    const total = pieces.reduce((n, p) => n + p.length, 0)
    super(first, start, total)
    this.pieces = pieces
    this.starts = []
    let at = 0
    for (const p of pieces) {
      this.starts.push(at)
      at += p.length
    }
  }

  /** The piece index and offset within it for a global position. */
  private locate(pos: number): [number, number] {
    let i = this.piece
    if (pos < this.starts[i]!) i = 0
    while (i + 1 < this.pieces.length && pos >= this.starts[i + 1]!) i++
    this.piece = i
    return [i, pos - this.starts[i]!]
  }

  /** `n` bytes at the current position: a view when they lie in one piece, else a copy. Advances. */
  private take(n: number, what: string): Buffer {
    this.need(n, what)
    const [i, off] = this.locate(this.pos)
    const p = this.pieces[i]!
    let out: Buffer
    if (off + n <= p.length) out = p.subarray(off, off + n)
    else {
      out = Buffer.allocUnsafe(n)
      let copied = 0
      let j = i
      let o = off
      while (copied < n) {
        const src = this.pieces[j]!
        const m = Math.min(n - copied, src.length - o)
        src.copy(out, copied, o, o + m)
        copied += m
        j++
        o = 0
      }
    }
    this.pos += n
    return out
  }

  override uint8(): number {
    return this.take(1, 'uint8')[0]!
  }

  override int8(): number {
    return this.take(1, 'int8').readInt8(0)
  }

  override bool(): boolean {
    return this.take(1, 'bool')[0] !== 0
  }

  override int16(): number {
    return this.take(2, 'int16').readInt16BE(0)
  }

  override uint16(): number {
    return this.take(2, 'uint16').readUInt16BE(0)
  }

  override int32(): number {
    return this.take(4, 'int32').readInt32BE(0)
  }

  override uint32(): number {
    return this.take(4, 'uint32').readUInt32BE(0)
  }

  override int64(): bigint {
    return this.take(8, 'int64').readBigInt64BE(0)
  }

  override float64(): number {
    return this.take(8, 'float64').readDoubleBE(0)
  }

  override uuid(): string {
    return this.take(16, 'uuid').toString('base64url')
  }

  override uvarint(): number {
    let value = 0
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) throw new TruncatedInputError('varint', 1, 0, this.pos)
      const b = this.uint8()
      value += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return value
    }
    throw new InvalidVarintError(32, this.pos)
  }

  override uvarlong(): bigint {
    let value = 0n
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new TruncatedInputError('varlong', 1, 0, this.pos)
      const b = this.uint8()
      value |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return value
    }
    throw new InvalidVarintError(64, this.pos)
  }

  override varlongNumberOrBigInt(): number | bigint {
    const v = this.varlong()
    return v >= -(2n ** 48n) && v < 2n ** 48n ? Number(v) : v
  }

  override string(flexible: boolean, what: string): string {
    const s = this.nullableString(flexible, what)
    if (s === null) throw new InvalidFieldError(`non-nullable string ${what} was null`, this.pos)
    return s
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
