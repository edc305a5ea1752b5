/**
 * Scratch buffers for tap batches (tap-batch.ts), of one size, kept for reuse. A tap batch that fills most of its
 * builder's scratch is produced from the scratch itself (the builder takes another from here), instead of being
 * copied into the arena: that copy was a memcpy of every tapped byte once more. A batch that fills less is still
 * copied (engine.ts), so a scratch handed over is always at least half used and the memory the tap holds stays
 * within twice what its batches need.
 */
export class ScratchPool {
  private readonly free: Buffer[] = []

  constructor(
    readonly size: number,
    /** Free buffers kept; beyond them a buffer given back is left to the garbage collector. */
    private readonly keepFree: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size)
  }

  /** A buffer back once nothing points into it any more (one of another size, grown for a large record, is dropped). */
  give(buf: Buffer): void {
    if (buf.length === this.size && this.free.length < this.keepFree) this.free.push(buf)
  }
}
