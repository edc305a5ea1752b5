/**
 * Memory for the tap's copies: a few large chunks, reused, instead of a new Buffer per copy. Every copy the tap
 * takes lives until the tap cluster acknowledges it, long enough for the garbage collector to promote its Buffer, so
 * a Buffer per copy is external memory that only a full collection gives back: copying a gigabyte of produced
 * records would make a gigabyte of it. Copies are placed one after another in the current chunk; a chunk goes back
 * to the free list when the last copy in it is released.
 */

export interface ArenaSlice {
  /** The copy's bytes: a view of a chunk (or a Buffer of its own, for a copy larger than a chunk). */
  readonly buf: Buffer
  readonly chunk: Chunk
}

export interface Chunk {
  readonly buf: Buffer
  used: number
  /** Copies in it not yet released. */
  refs: number
  /** False for a Buffer made for one large copy: it is dropped, never reused. */
  readonly pooled: boolean
}

export class Arena {
  private current: Chunk | undefined
  private readonly free: Chunk[] = []

  constructor(
    private readonly chunkBytes: number,
    /** Free chunks kept for reuse; beyond them a released chunk is left to the garbage collector. */
    private readonly keepFree: number,
  ) {}

  /** A copy of `source` in the arena. */
  copy(source: Buffer): ArenaSlice {
    const n = source.length
    if (n > this.chunkBytes / 4) {
      // A large copy gets a Buffer of its own: placing it would leave most of a chunk pinned by one copy.
      const chunk: Chunk = { buf: Buffer.allocUnsafeSlow(n), used: n, refs: 1, pooled: false }
      source.copy(chunk.buf)
      return { buf: chunk.buf, chunk }
    }
    let chunk = this.current
    if (chunk === undefined || chunk.used + n > chunk.buf.length) {
      if (chunk !== undefined) this.retire(chunk)
      chunk = this.free.pop() ?? { buf: Buffer.allocUnsafeSlow(this.chunkBytes), used: 0, refs: 0, pooled: true }
      this.current = chunk
    }
    const start = chunk.used
    source.copy(chunk.buf, start)
    chunk.used += n
    chunk.refs++
    return { buf: chunk.buf.subarray(start, start + n), chunk }
  }

  release(chunk: Chunk): void {
    chunk.refs--
    if (chunk.refs > 0) return
    if (chunk === this.current)
      chunk.used = 0 // nothing in it is alive: start again from its beginning
    else this.retire(chunk)
  }

  /** Chunks in use or kept, for tests. */
  get freeChunks(): number {
    return this.free.length
  }

  private retire(chunk: Chunk): void {
    if (chunk === this.current) this.current = undefined
    if (chunk.refs > 0 || !chunk.pooled) return
    chunk.used = 0
    if (this.free.length < this.keepFree) this.free.push(chunk)
  }
}
