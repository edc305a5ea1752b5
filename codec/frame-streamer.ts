import { FrameTooLargeError } from './errors.js'

/**
 * Cut-through framing: like FrameDecoder, but a frame that spans socket reads can be handed on piece by piece as
 * it arrives instead of after its last byte. A proxy forwarding a multi-megabyte Fetch response that no filter
 * needs would otherwise hold it until complete, adding the full transfer time to every fetch round trip (a Java
 * consumer waits for each response before it sends the next fetch).
 *
 * For each frame that spans reads, `start` is asked once its first `headBytes` bytes (or all of it, if shorter)
 * are in: true streams it (`piece` for every part, in order, `done` on the last), false buffers it (`frame` with
 * all its pieces once complete). A frame that lies inside one read is always delivered whole through `frame`.
 * Pieces are views into the reads: nothing is copied, except a size prefix or head split across reads.
 */
export interface FrameStreamHandler {
  /** A whole frame: `first` (with the size prefix) and, when it came in several reads, the `rest`. */
  frame(first: Buffer, rest: Buffer[] | undefined, length: number): void
  /** A frame spanning reads has begun: stream it? `head` holds its first bytes (size prefix included). */
  start(head: Buffer, length: number): boolean
  /** The next piece of a streamed frame; `done` on the last one. */
  piece(piece: Buffer, done: boolean): void
}

type Mode = 'idle' | 'collecting' | 'buffering' | 'streaming'

export class FrameStreamer {
  readonly maxFrameSize: number
  private mode: Mode = 'idle'
  /** Bytes of a split size prefix. */
  private prefix: Buffer[] = []
  private prefixLength = 0
  /** Pieces held while collecting the head or buffering the frame. */
  private parts: Buffer[] = []
  private partsLength = 0
  /** Total length of the current frame, prefix included. */
  private frameLength = 0
  /** Bytes of the current frame still to come. */
  private remaining = 0
  /** Frames begun so far (a frame begins with the first byte of its size prefix). */
  private begun = 0

  constructor(
    maxFrameSize = 100 * 1024 * 1024,
    private readonly headBytes = 16,
  ) {
    this.maxFrameSize = maxFrameSize
  }

  /** Bytes held that do not yet form a frame handed on (streamed pieces are not held). */
  get buffered(): number {
    return this.prefixLength + this.partsLength
  }

  /** True between the first and the last byte of a frame: the last read ended inside one. */
  get inFrame(): boolean {
    return this.mode !== 'idle' || this.prefixLength > 0
  }

  /**
   * How many frames have begun: with inFrame, tells a caller whether the frame it is waiting on is still the same
   * one (to time how long one frame takes to arrive) without a clock in the codec.
   */
  get framesBegun(): number {
    return this.begun
  }

  /** Feeds one read. Throws FrameTooLargeError for a negative or oversized prefix; then the streamer is unusable. */
  push(chunk: Buffer, handler: FrameStreamHandler): void {
    let pos = 0
    const end = chunk.length
    while (pos < end) {
      if (this.mode === 'idle') {
        if (this.prefixLength === 0) {
          // Fast path: whole frames inside this read.
          this.begun++
          if (end - pos >= 4) {
            const size = chunk.readInt32BE(pos)
            this.check(size)
            const total = 4 + size
            if (end - pos >= total) {
              handler.frame(chunk.subarray(pos, pos + total), undefined, total)
              pos += total
              continue
            }
            this.begin(total)
            const piece = chunk.subarray(pos)
            this.remaining -= piece.length
            this.parts.push(piece)
            this.partsLength += piece.length
            pos = end
            this.maybeStart(handler)
            continue
          }
          const piece = chunk.subarray(pos)
          this.prefix.push(piece)
          this.prefixLength += piece.length
          pos = end
          continue
        }
        // A size prefix split across reads: complete it (the only copy, four bytes).
        const need = 4 - this.prefixLength
        const take = Math.min(need, end - pos)
        this.prefix.push(chunk.subarray(pos, pos + take))
        this.prefixLength += take
        pos += take
        if (this.prefixLength < 4) continue
        const prefix = Buffer.concat(this.prefix, 4)
        this.prefix = []
        this.prefixLength = 0
        const size = prefix.readInt32BE(0)
        this.check(size)
        this.begin(4 + size)
        this.remaining -= 4
        this.parts.push(prefix)
        this.partsLength += 4
        if (this.remaining === 0) {
          this.finishBuffered(handler)
          continue
        }
        continue
      }
      // Inside a frame: take what belongs to it from this read.
      const take = Math.min(this.remaining, end - pos)
      const piece = chunk.subarray(pos, pos + take)
      pos += take
      this.remaining -= take
      if (this.mode === 'streaming') {
        if (this.remaining === 0) this.mode = 'idle'
        handler.piece(piece, this.remaining === 0)
        continue
      }
      this.parts.push(piece)
      this.partsLength += take
      if (this.mode === 'collecting') this.maybeStart(handler)
      else if (this.remaining === 0) this.finishBuffered(handler)
    }
  }

  private begin(total: number): void {
    this.mode = 'collecting'
    this.frameLength = total
    this.remaining = total
  }

  /** Once the head is in, asks whether to stream; a frame already complete is delivered whole. */
  private maybeStart(handler: FrameStreamHandler): void {
    if (this.remaining === 0) {
      this.finishBuffered(handler)
      return
    }
    const head = Math.min(this.headBytes, this.frameLength)
    if (this.partsLength < head) return
    const headBuf = this.parts[0]!.length >= head ? this.parts[0]! : Buffer.concat(this.parts, this.partsLength)
    if (!handler.start(headBuf, this.frameLength)) {
      this.mode = 'buffering'
      return
    }
    this.mode = 'streaming'
    const parts = this.parts
    this.parts = []
    this.partsLength = 0
    for (const p of parts) handler.piece(p, false)
  }

  private finishBuffered(handler: FrameStreamHandler): void {
    const [first, ...rest] = this.parts
    const length = this.frameLength
    this.parts = []
    this.partsLength = 0
    this.mode = 'idle'
    handler.frame(first!, rest.length === 0 ? undefined : rest, length)
  }

  private check(size: number): void {
    if (size < 0 || size > this.maxFrameSize) throw new FrameTooLargeError(size, this.maxFrameSize)
  }
}
