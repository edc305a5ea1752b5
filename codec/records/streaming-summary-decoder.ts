import { PiecesReader } from '../primitives/pieces-reader.js'
import type { Reader } from '../primitives/reader.js'
import { type BatchSummary, type RecordsSummary, readBatchSummary } from './records-summary.js'

/**
 * Decodes a message whose records fields are read as summaries (Reader.recordsReader = readRecordsSummary) while
 * its bytes stream past, keeping a copy only of the few bytes a decode reads outside the records: the message
 * structure (topic names, partition headers) and a batch header split between two pieces. Each piece is needed only
 * for the duration of `push`, so the proxy can forward it and reuse the memory it was read into, instead of
 * holding a multi-megabyte Fetch response until its last byte only for an observer that reads its batch headers.
 *
 * The message decoders are synchronous and cannot stop half-way, so the decode is replayed from the start
 * whenever bytes it was waiting for arrive; records fields already walked are remembered by position and
 * skipped in O(1), so a replay costs only the structure before the current field. A replay that reaches bytes not
 * yet pushed stops there (NeedMore) and waits for them. A records field in progress is walked batch by batch as
 * pieces arrive, without replaying anything. Past a budget of replay reads (MAX_REPLAY_READS: a message of very
 * many small fields arriving in very many pieces, where replays would cost more than they save) the decoder keeps
 * every further byte instead and decodes once at the end.
 */
export class StreamingSummaryDecoder<T> {
  /** Copies of the bytes a replay reads, and the tail a replay is waiting on, by frame offset (ascending). */
  private readonly kept: Buffer[] = []
  private readonly keptAt: number[] = []
  /** Bytes pushed so far (frame offsets 0..available-1 have streamed past). */
  private available = 0
  /** Frame offset of the first byte the decode still needs. */
  private resumeAt: number
  /** Records fields summarized in full, by the frame offset of their first byte. */
  private readonly walked = new Map<number, RecordsSummary>()
  /** The records field being walked as its batches arrive. */
  private walk: { start: number; end: number; next: number; batches: BatchSummary[] } | undefined
  private replayCount = 0
  private keepEverything = false
  private outcome: { value: T } | { error: unknown } | undefined
  /** During push: the piece (only valid until push returns) and its frame offset. */
  private piece: Buffer | undefined
  private pieceAt = 0

  /** Reads replays and walks: one for the decoder's life, pointed at the kept copies plus the current piece. */
  private readonly r: ReplayReader
  /** Reads replays made so far (their cost; see MAX_REPLAY_READS). */
  private replayReads = 0

  /**
   * `length`: the frame's bytes in all, size prefix included; `start`: where decoding begins (4, after the
   * prefix); `decode` reads the message from a reader at `start` whose records reader is set here (and may not be
   * set by `decode`).
   */
  constructor(
    private readonly length: number,
    private readonly start: number,
    private readonly decode: (r: Reader) => T,
  ) {
    this.resumeAt = start
    this.r = new ReplayReader(this.kept, this.keptAt, start, length, (r, n) => this.records(r as ReplayReader, n))
  }

  /** Bytes held between pushes: what replays will read again. */
  get keptBytes(): number {
    return this.kept.reduce((n, b) => n + b.length, 0)
  }

  /** Replays run so far (each decodes the structure before the current field again). */
  get replays(): number {
    return this.replayCount
  }

  /** The next `piece` of the frame, in order; it is not used after this returns. */
  push(piece: Buffer): void {
    if (this.outcome !== undefined || piece.length === 0) return
    if (this.available + piece.length > this.length)
      throw new Error(
        `StreamingSummaryDecoder: ${this.available + piece.length} bytes pushed for a ${this.length}-byte frame`,
      )
    this.pieceAt = this.available
    this.available += piece.length
    // Most pieces of a large message lie wholly inside a batch already walked up to its end (socket reads are often
    // a few KB): the next byte the decode needs comes later, so there is nothing to read or keep.
    const needs = this.walk !== undefined ? this.walk.next : this.resumeAt
    if (!this.keepEverything && needs >= this.available && this.available < this.length) return
    this.piece = piece
    // The reader sees the piece after the kept copies while this push lasts.
    this.kept.push(piece)
    this.keptAt.push(this.pieceAt)
    this.r.arrived(this.available, this.pieceAt)
    try {
      const last = this.available === this.length
      if (this.keepEverything) {
        if (last) this.replay()
      } else if (this.walk === undefined || this.advanceWalk()) {
        if (this.resumeAt < this.available || last) this.replay()
      }
    } finally {
      this.kept.pop()
      this.keptAt.pop()
    }
    if (this.outcome === undefined) this.keep()
    this.piece = undefined
    this.r.readRanges.length = 0
    if (this.outcome !== undefined) {
      this.kept.length = 0
      this.keptAt.length = 0
    }
  }

  /** The decoded message, once every byte was pushed; throws what the decode threw for a malformed message. */
  result(): T {
    if (this.outcome === undefined)
      throw new Error(`StreamingSummaryDecoder: ${this.available} of ${this.length} bytes pushed, no result yet`)
    if ('error' in this.outcome) throw this.outcome.error
    return this.outcome.value
  }

  /** Runs the decode from the start over what is kept and the current piece. */
  private replay(): void {
    const last = this.available === this.length
    if (!last && this.replayReads > MAX_REPLAY_READS + this.available / BYTES_PER_REPLAY_READ) {
      this.keepEverything = true
      return
    }
    this.replayCount++
    const r = this.r
    r.rewind(this.start)
    try {
      this.outcome = { value: this.decode(r) }
    } catch (err) {
      if (err instanceof NeedMore) this.resumeAt = err.pos
      else this.outcome = { error: err }
    }
    this.replayReads += r.reads
    if (r.recordsReaderReplaced())
      this.outcome = {
        error: new Error('StreamingSummaryDecoder sets the records reader; the decode function must not'),
      }
  }

  /** The records reader of a replay: a field walked before is skipped; the one in progress is walked on. */
  private records(r: ReplayReader, length: number): RecordsSummary {
    const at = r.pos
    const known = this.walked.get(at)
    if (known === undefined) {
      if (this.walk?.start !== at) this.walk = { start: at, end: at + length, next: at, batches: [] }
      this.walkOn(r)
    }
    r.pos = at + length
    return this.walked.get(at)!
  }

  /** Between replays: walks the field in progress over the new piece; true once it is complete. */
  private advanceWalk(): boolean {
    const r = this.r
    r.rewind(this.walk!.next)
    try {
      this.walkOn(r)
      return true
    } catch (err) {
      if (err instanceof NeedMore) return false
      this.outcome = { error: err }
      return false
    }
  }

  /** Reads batch headers from walk.next on; throws NeedMore at a batch whose header has not arrived. */
  private walkOn(r: ReplayReader): void {
    const w = this.walk!
    r.recording = false
    try {
      while (w.next < w.end) {
        r.pos = w.next
        const batch = readBatchSummary(r, w.start, w.end)
        if (typeof batch === 'number') {
          w.next = w.end
          this.finishWalk(batch)
          return
        }
        w.batches.push(batch)
        w.next = r.pos
      }
      this.finishWalk(0)
    } finally {
      r.recording = true
      this.forgetWalked(w.start, w.next)
    }
  }

  /**
   * Drops the copies that lie wholly inside the walked part of a records field (batch headers that were split
   * between pieces): replays skip a walked field, and a walk goes on from where it stopped.
   */
  private forgetWalked(start: number, upTo: number): void {
    // While a push lasts the current piece is the last entry; it is not a copy and stays.
    const last = this.kept.length - 1 - (this.piece === undefined ? 0 : 1)
    for (let i = last; i >= 0 && this.keptAt[i]! + this.kept[i]!.length > start; i--) {
      const at = this.keptAt[i]!
      if (at >= start && at + this.kept[i]!.length <= upTo) {
        this.kept.splice(i, 1)
        this.keptAt.splice(i, 1)
      }
    }
  }

  private finishWalk(partialBytes: number): void {
    const w = this.walk!
    this.walked.set(w.start, { kind: 'records-summary', byteLength: w.end - w.start, batches: w.batches, partialBytes })
    this.walk = undefined
  }

  /**
   * Copies out of the current piece what later replays will read: the ranges this push's replay read (structure)
   * and everything from the first byte still needed on. Everything else was records already walked past.
   */
  /**
   * Keeps a copy of `bytes` (frame offset `at`). A copy that continues the last one is merged with it while both
   * are small, so that bytes trickling in one at a time do not become thousands of one-byte pieces.
   */
  private append(at: number, bytes: Buffer): void {
    const last = this.kept.length - 1
    if (
      !this.keepEverything &&
      last >= 0 &&
      this.keptAt[last]! + this.kept[last]!.length === at &&
      this.kept[last]!.length + bytes.length <= MERGE_BELOW
    ) {
      this.kept[last] = Buffer.concat([this.kept[last]!, bytes])
      return
    }
    this.kept.push(Buffer.from(bytes))
    this.keptAt.push(at)
  }

  private keep(): void {
    const piece = this.piece!
    const from = this.pieceAt
    const needFrom = this.keepEverything ? from : Math.max(from, this.walk?.next ?? this.resumeAt)
    const flat = this.r.readRanges
    if (needFrom < this.available) flat.push(needFrom, this.available)
    if (flat.length === 0) return
    const ranges: [number, number][] = []
    for (let i = 0; i < flat.length; i += 2) ranges.push([Math.max(flat[i]!, from), flat[i + 1]!])
    // Mostly ascending already; readRequest reads the header twice, hence the sort before merging.
    ranges.sort((x, y) => x[0] - y[0])
    let i = 0
    while (i < ranges.length) {
      const a = ranges[i]![0]
      let b = ranges[i]![1]
      i++
      while (i < ranges.length && ranges[i]![0] <= b) {
        b = Math.max(b, ranges[i]![1])
        i++
      }
      if (b <= a) continue
      this.append(a, piece.subarray(a - from, b - from))
    }
  }
}

/**
 * What replays may cost: this many reads, plus one per BYTES_PER_REPLAY_READ bytes of the message. Past that (a
 * message of many small fields arriving in many pieces, where replaying costs more than copying) the decoder
 * keeps every further byte and decodes once at the end. A Fetch response of 8 partitions x 1 MiB in 256 KiB reads
 * replays ~17 times, ~100 reads each: far below.
 */
export const MAX_REPLAY_READS = 4096
export const BYTES_PER_REPLAY_READ = 64

/** Adjacent copies are merged while together smaller than this (see append). */
const MERGE_BELOW = 4096

/** A replay reached a byte that has not arrived yet. Not an Error: thrown and caught often, it needs no stack. */
class NeedMore {
  constructor(readonly pos: number) {}
}

/**
 * A PiecesReader over the kept copies and the current piece (the decoder's arrays, which it changes between uses)
 * whose frame (`end`) is longer than what has arrived (`available`): a read past `available` throws NeedMore; reads
 * from the current piece are noted (`recording`) so that push can keep them; byte values are copied, since the
 * piece is not kept.
 */
class ReplayReader extends PiecesReader {
  recording = true
  /** Flat [from, to) pairs of the current piece read while recording. */
  readonly readRanges: number[] = []
  /** Reads since the last rewind. */
  reads = 0
  private available = 0
  private pieceAt = 0
  private readonly recordsHook: (r: Reader, length: number) => unknown

  constructor(
    pieces: readonly Buffer[],
    starts: readonly number[],
    start: number,
    end: number,
    records: (r: Reader, length: number) => unknown,
  ) {
    super(pieces, start, { starts, end })
    this.recordsHook = records
    this.recordsReader = records
  }

  /**
   * The decoder's records reader is what makes replays cheap (walked fields are skipped); a `decode` that set its
   * own (readRecordsSummary) would walk every field again on every replay. Checked after each replay (a property
   * accessor would have done it at once, but it turns the reader into a slow dictionary-mode object).
   */
  recordsReaderReplaced(): boolean {
    if (this.recordsReader === this.recordsHook) return false
    this.recordsReader = this.recordsHook
    return true
  }

  /** Bytes up to `available` have arrived; the current piece starts at `pieceAt`. */
  arrived(available: number, pieceAt: number): void {
    this.available = available
    this.pieceAt = pieceAt
  }

  rewind(pos: number): void {
    this.pos = pos
    this.reads = 0
    this.recording = true
    this.restartHint()
  }

  protected override reach(n: number, what: string): void {
    const pos = this.pos
    this.reads++
    if (pos + n > this.available) {
      this.need(n, what) // past the frame's end: malformed, not early
      throw new NeedMore(pos)
    }
    if (this.recording && pos + n > this.pieceAt) this.readRanges.push(Math.max(pos, this.pieceAt), pos + n)
  }

  override raw(n: number, what = 'bytes'): Buffer {
    return Buffer.from(super.raw(n, what))
  }
}
