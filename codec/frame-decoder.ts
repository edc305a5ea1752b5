import { FrameTooLargeError } from './errors.js'

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
   * Feeds one chunk; calls `onFrame` for every frame it completes, in order. Throws FrameTooLargeError
   * (before buffering anything more) when a prefix is negative or above the maximum; the decoder is then
   * unusable and the connection should be closed.
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
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
      onFrame(chunk.subarray(pos, pos + total))
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
  private continuePending(chunk: Buffer, onFrame: (frame: Buffer) => void): number {
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

  private fill(chunk: Buffer, onFrame: (frame: Buffer) => void): number {
    const missing = this.expected - this.partsLength
    if (chunk.length < missing) {
      this.parts.push(chunk)
      this.partsLength += chunk.length
      return -1
    }
    this.parts.push(chunk.subarray(0, missing))
    const frame = Buffer.concat(this.parts, this.expected)
    this.parts = []
    this.partsLength = 0
    this.expected = -1
    onFrame(frame)
    return missing
  }

  private check(size: number): void {
    if (size < 0 || size > this.maxFrameSize) throw new FrameTooLargeError(size, this.maxFrameSize)
  }
}
