import { DecompressedSizeExceededError } from '../../errors.js'

/**
 * A growable output buffer for decompressors that cannot know their output size up front, with a hard cap:
 * it never grows past `max` bytes, so a decompression bomb costs at most `max` bytes of memory before it is
 * refused with DecompressedSizeExceededError.
 */
export class BoundedOutput {
  buf: Buffer
  /** Bytes written so far; writers put bytes at `buf[length]` after `reserve()` and advance this. */
  length = 0
  private readonly codec: string
  readonly max: number

  constructor(codec: string, max: number, initial: number) {
    this.codec = codec
    this.max = max
    this.buf = Buffer.allocUnsafe(Math.max(0, Math.min(initial, max)))
  }

  /** Bytes that may still be written before the cap. */
  get room(): number {
    return this.max - this.length
  }

  /** Ensures capacity for `n` more bytes; throws when that would pass the cap. */
  reserve(n: number): void {
    const needed = this.length + n
    if (needed > this.max) throw new DecompressedSizeExceededError(this.codec, this.max)
    if (needed <= this.buf.length) return
    const grown = Buffer.allocUnsafe(Math.min(this.max, Math.max(needed, this.buf.length * 2, 1024)))
    grown.set(this.buf.subarray(0, this.length))
    this.buf = grown
  }

  /** The bytes written, as a view of the internal buffer (no copy). */
  result(): Buffer {
    return this.buf.subarray(0, this.length)
  }
}
