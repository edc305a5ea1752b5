import { FrameTooLargeError } from './errors.js'

/** A complete frame as pieces: `first` (with the size prefix) and, when it spans chunks, the `rest`; `length` in all. */
export type FramePiecesHandler = (first: Buffer, rest: Buffer[] | undefined, length: number) => void

/**
 * Turns socket chunks into whole Kafka frames: int32 size N, then N bytes
 * (https://kafka.apache.org/protocol#protocol_common: "RequestOrResponse => Size (RequestMessage | ResponseMessage)").
 *
 * Each frame is handed out WITH its 4-byte size prefix, so a proxy can forward it unchanged in one write.
 * A frame that lies inside one chunk is a view into that chunk (no copy). A frame spread over chunks is
 * assembled with one copy, once all of it has arrived: memory held is only what the peer actually sent,
 * never the size an untrusted prefix claims.
 */
export class FrameDecoder {
  /** Largest frame accepted, excluding the 4-byte prefix. Kafka's broker default is socket.request.max.bytes = 100 MiB. */
  readonly maxFrameSize: number
  private parts: Buffer[] = []
  private partsLength = 0
  /** Total length (prefix included) of the frame being assembled from `parts`; -1 while the prefix is incomplete. */
  private expected = -1

  constructor(maxFrameSize = 100 * 1024 * 1024) {
    this.maxFrameSize = maxFrameSize
  }

  /** Bytes received that do not yet form a whole frame. */
  get buffered(): number {
    return this.partsLength
  }

  /**
   * Feeds one chunk; calls `onFrame` for every frame it completes, in order, as one Buffer (a frame spread over
   * chunks is concatenated). Throws FrameTooLargeError (before buffering anything more) when a prefix is negative
   * or above the maximum; the decoder is then unusable and the connection should be closed.
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    this.pushPieces(chunk, (first, rest, length) =>
      onFrame(rest === undefined ? first : Buffer.concat([first, ...rest], length)),
    )
  }

  /**
   * Like push, without ever copying: a frame inside one chunk comes as `first` alone (rest undefined); a frame
   * spread over chunks comes as its pieces, `first` then `rest`, views into the chunks they arrived in. A proxy
   * forwards the pieces as they are and concatenates only a frame it must decode. `first` always holds at least the
   * 4-byte size prefix.
   */
  pushPieces(chunk: Buffer, onFrame: FramePiecesHandler): void {
    let pos = 0
    if (this.partsLength > 0) {
      pos = this.continuePending(chunk, onFrame)
      if (pos < 0) return
    }
    const end = chunk.length
    while (end - pos >= 4) {
      const size = chunk.readInt32BE(pos)
      this.check(size)
      const total = 4 + size
      if (end - pos < total) break
      onFrame(chunk.subarray(pos, pos + total), undefined, total)
      pos += total
    }
    if (pos < end) {
      const rest = chunk.subarray(pos)
      this.parts.push(rest)
      this.partsLength = rest.length
      this.expected = rest.length >= 4 ? 4 + rest.readInt32BE(0) : -1
    }
  }

  /** Completes the frame in progress with the start of `chunk`; returns where the remaining bytes begin, or -1 if the whole chunk was consumed. */
  private continuePending(chunk: Buffer, onFrame: FramePiecesHandler): number {
    if (this.expected < 0) {
      // The size prefix itself was split: take just enough of this chunk to finish it.
      const need = 4 - this.partsLength
      if (chunk.length < need) {
        this.parts.push(chunk)
        this.partsLength += chunk.length
        return -1
      }
      const prefix = Buffer.concat([...this.parts, chunk.subarray(0, need)], 4)
      const size = prefix.readInt32BE(0)
      this.check(size)
      this.parts = [prefix]
      this.partsLength = 4
      this.expected = 4 + size
      chunk = chunk.subarray(need)
      const used = this.fill(chunk, onFrame)
      return used < 0 ? -1 : need + used
    }
    return this.fill(chunk, onFrame)
  }

  private fill(chunk: Buffer, onFrame: FramePiecesHandler): number {
    const missing = this.expected - this.partsLength
    if (chunk.length < missing) {
      this.parts.push(chunk)
      this.partsLength += chunk.length
      return -1
    }
    if (missing > 0) this.parts.push(chunk.subarray(0, missing))
    const [first, ...rest] = this.parts
    const length = this.expected
    this.parts = []
    this.partsLength = 0
    this.expected = -1
    onFrame(first!, rest.length === 0 ? undefined : rest, length)
    return missing
  }

  private check(size: number): void {
    if (size < 0 || size > this.maxFrameSize) throw new FrameTooLargeError(size, this.maxFrameSize)
  }
}
