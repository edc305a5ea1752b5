import { TruncatedInputError } from '../../codec/errors.js'
import { PiecesReader } from '../../codec/primitives/pieces-reader.js'
import { Reader } from '../../codec/primitives/reader.js'

/**
 * A whole Kafka frame (size prefix included) as it came off a socket: one Buffer, or the pieces of the chunks
 * it spanned (FrameDecoder.pushPieces). Frames that pass through are written out piece by piece and never
 * copied; a frame is concatenated only when something must decode all of it.
 */
export class Frame {
  private first: Buffer
  private rest: Buffer[] | undefined
  /** The first bytes, copied out of the pieces by head() when the first piece was too short. */
  private headCopy: Buffer | undefined

  constructor(
    first: Buffer,
    rest: Buffer[] | undefined,
    readonly length: number,
  ) {
    this.first = first
    this.rest = rest
  }

  static of(buf: Buffer): Frame {
    return new Frame(buf, undefined, buf.length)
  }

  /** A frame from the pieces a cut-through stream handed on (at least one), `length` bytes in all. */
  static fromPieces(pieces: readonly Buffer[], length: number): Frame {
    const [first, ...rest] = pieces
    return new Frame(first!, rest.length === 0 ? undefined : rest, length)
  }

  /**
   * A Buffer starting at the frame's first byte with at least `n` bytes of it (or all, if shorter). When the first
   * piece is shorter, only those `n` bytes are copied (a header split across reads), never the whole frame.
   */
  head(n: number): Buffer {
    if (this.rest === undefined || this.first.length >= n) return this.first
    if (this.headCopy === undefined || this.headCopy.length < Math.min(n, this.length)) {
      const want = Math.min(n, this.length)
      const out = Buffer.allocUnsafe(want)
      let copied = this.first.copy(out, 0)
      for (const piece of this.rest) {
        if (copied >= want) break
        copied += piece.copy(out, copied, 0, Math.min(piece.length, want - copied))
      }
      this.headCopy = out
    }
    return this.headCopy
  }

  /** True when the frame is one Buffer (it came in one read, or whole() joined it). */
  get isWhole(): boolean {
    return this.rest === undefined
  }

  /** The pieces of the frame, in order (one when it is whole); nothing is copied. */
  pieces(): readonly Buffer[] {
    return this.rest === undefined ? [this.first] : [this.first, ...this.rest]
  }

  /** The frame as one Buffer; concatenates (once) if it came in pieces. */
  whole(): Buffer {
    if (this.rest !== undefined) {
      this.first = Buffer.concat([this.first, ...this.rest], this.length)
      this.rest = undefined
    }
    return this.first
  }

  /** A reader over the frame from `offset`, without concatenating pieces. */
  reader(offset: number): Reader {
    return this.rest === undefined
      ? new Reader(this.first, offset)
      : new PiecesReader([this.first, ...this.rest], offset)
  }

  /**
   * Runs `peek` on the head of the frame (the first `n` bytes, no copy); if the head was too short for it (a
   * header split across chunks), runs it again on the whole frame.
   */
  peek<T>(n: number, peek: (buf: Buffer) => T): T {
    try {
      return peek(this.head(n))
    } catch (err) {
      if (err instanceof TruncatedInputError && this.rest !== undefined) return peek(this.whole())
      throw err
    }
  }

  /** Writes the frame; returns false when the socket wants the writer to wait for 'drain'. */
  writeTo(socket: { write(chunk: Buffer): boolean }): boolean {
    if (this.rest === undefined) return socket.write(this.first)
    let ok = socket.write(this.first)
    for (const piece of this.rest) ok = socket.write(piece)
    return ok
  }
}
