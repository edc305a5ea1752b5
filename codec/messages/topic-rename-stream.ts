import { InvalidLengthError, TruncatedInputError } from '../errors.js'
import { PiecesReader } from '../primitives/pieces-reader.js'
import { sizeOfArrayLength, sizeOfString } from '../primitives/sizes.js'
import { Writer } from '../primitives/writer.js'
import { ApiKey } from './generated/apis.js'

/**
 * Renaming the topics of a message that carries records and names its topics, while it streams, without decoding
 * its partitions into objects or copying its records: a Fetch response (v4-v12; v13+ carry topic ids) on its way to
 * the client, or a Produce request (v3-v12; v13 carries topic ids) on its way to the broker.
 *
 * A rename changes only the topic name strings (and, when a topic is left out, the topic count and that topic's
 * bytes); every other byte, the records above all, is the sender's own. The output is the input cut at those places:
 * views of the input pieces around the new name strings. The one thing a rename changes ahead of the names is the
 * frame's size prefix, so the input is held until the output size is known: once every topic's name has been read
 * and every topic left out has been read to its end. For the usual message of one topic that is its first few dozen
 * bytes; a message of several topics is held up to its last topic's name. From then on each input piece goes on as
 * it is, and nothing more is read.
 *
 * The bytes after the point where the output size is known are not looked at: like any message the sidecar streams
 * unfiltered, their validity is the receiver's to judge. A message that ends before its names do is refused (throws).
 */

/** The name each topic of a response becomes for the client; undefined leaves the topic out of the response. */
export type TopicRename = (name: string) => string | undefined

/** Whether messages of this API, version and direction can be renamed by TopicRenameStream. */
export function canStreamTopicRename(apiKey: number, apiVersion: number, direction: 'request' | 'response'): boolean {
  return layoutOf(apiKey, direction) !== undefined && apiVersion >= LAYOUTS[apiKey]!.minVersion && apiVersion <= 12
}

/**
 * Where the topics of a message lie: what comes before the topic count (`head`, which leaves the reader at the
 * count), and what follows a topic's name up to the next topic (`skipTopic`).
 */
interface TopicsLayout {
  readonly direction: 'request' | 'response'
  readonly what: string
  readonly minVersion: number
  /** The first version whose message (and header) is flexible. */
  readonly flexibleFrom: number
  head(r: PiecesReader, apiVersion: number, flexible: boolean): void
  skipTopic(r: PiecesReader, apiVersion: number, flexible: boolean): void
}

/** FetchResponse.json: header, throttle_time_ms, error_code and session_id (v7+), then the topics. */
const FETCH_RESPONSE: TopicsLayout = {
  direction: 'response',
  what: 'FetchResponse.Responses',
  minVersion: 4,
  flexibleFrom: 12,
  head(r, v, flexible) {
    r.int32() // correlation id
    if (flexible) r.skipTaggedFields() // response header v1
    r.int32() // throttle_time_ms
    if (v >= 7) r.skip(6, 'error_code and session_id')
  },
  skipTopic(r, v, flexible) {
    const n = r.arrayLength(flexible, false, 'FetchResponse.Responses.Partitions')
    for (let i = 0; i < n; i++) {
      // partition_index, error_code, high_watermark, last_stable_offset (v4+), log_start_offset (v5+)
      r.skip(4 + 2 + 8 + 8 + (v >= 5 ? 8 : 0), 'partition fields')
      const aborted = r.arrayLength(flexible, true, 'FetchResponse.Responses.Partitions.AbortedTransactions')
      for (let a = 0; a < aborted; a++) {
        r.skip(16, 'aborted transaction') // producer_id, first_offset
        if (flexible) r.skipTaggedFields()
      }
      if (v >= 11) r.skip(4, 'preferred_read_replica')
      r.skipBytes(flexible, 'FetchResponse.Responses.Partitions.Records')
      if (flexible) r.skipTaggedFields()
    }
    if (flexible) r.skipTaggedFields()
  },
}

/**
 * ProduceRequest.json: request header (v1, v2 from v9 with its tagged fields; the client id keeps its int16 length
 * even then), transactional_id (nullable), acks, timeout_ms, then the topics.
 */
const PRODUCE_REQUEST: TopicsLayout = {
  direction: 'request',
  what: 'ProduceRequest.TopicData',
  minVersion: 3,
  flexibleFrom: 9,
  head(r, _v, flexible) {
    r.skip(8, 'request api key, version and correlation id')
    r.skipString(false, 'RequestHeader.ClientId')
    if (flexible) r.skipTaggedFields() // request header v2
    r.skipString(flexible, 'ProduceRequest.TransactionalId')
    r.skip(6, 'acks and timeout_ms')
  },
  skipTopic(r, _v, flexible) {
    const n = r.arrayLength(flexible, false, 'ProduceRequest.TopicData.PartitionData')
    for (let i = 0; i < n; i++) {
      r.skip(4, 'partition index')
      r.skipBytes(flexible, 'ProduceRequest.TopicData.PartitionData.Records')
      if (flexible) r.skipTaggedFields()
    }
    if (flexible) r.skipTaggedFields()
  },
}

const LAYOUTS: Readonly<Record<number, TopicsLayout>> = {
  [ApiKey.Fetch]: FETCH_RESPONSE,
  [ApiKey.Produce]: PRODUCE_REQUEST,
}

function layoutOf(apiKey: number, direction: 'request' | 'response'): TopicsLayout | undefined {
  const layout = LAYOUTS[apiKey]
  return layout?.direction === direction ? layout : undefined
}

/** Replace the input bytes [start, end) with `bytes`. */
interface Edit {
  readonly start: number
  readonly end: number
  readonly bytes: Buffer
}

const EMPTY = Buffer.alloc(0)

export class TopicRenameStream {
  /** Input pieces held until the output size is known. */
  private held: Buffer[] = []
  /** Offset of each held piece in the frame. */
  private heldStarts: number[] = []
  private received = 0
  private readonly edits: Edit[] = []
  private readonly flexible: boolean
  private readonly layout: TopicsLayout
  /** Where the next scan starts: the frame's header, then the start of the next topic not read yet. */
  private scanAt = 4
  /** Topics of the response, and where its count lies; -1 until read. */
  private topics = -1
  private countStart = 0
  private countEnd = 0
  private topicsRead = 0
  private kept = 0
  /** The last topic's new name, asked once (a scan may restart inside that topic when its partitions are split). */
  private lastTopic: { readonly at: number; readonly name: string | undefined } | undefined
  /** The output's length, size prefix included; -1 until known. */
  private outLength = -1

  /**
   * `length` is the input frame's length, size prefix included; `emit` gets the output's pieces in order, the first
   * of them holding the new size prefix. `apiKey`: Fetch (a response) or Produce (a request), at a version
   * canStreamTopicRename accepts.
   */
  constructor(
    readonly length: number,
    readonly apiVersion: number,
    private readonly rename: TopicRename,
    private readonly emit: (piece: Buffer) => void,
    apiKey: number = ApiKey.Fetch,
  ) {
    const layout = LAYOUTS[apiKey]
    if (layout === undefined) throw new Error(`topic renaming as a message streams does not know API key ${apiKey}`)
    this.layout = layout
    this.flexible = apiVersion >= layout.flexibleFrom
  }

  /** The output's length (size prefix included), once known; -1 before. */
  get outputLength(): number {
    return this.outLength
  }

  /** True while input pieces are held after push returns: they must stay valid until the output size is known. */
  get holding(): boolean {
    return this.held.length > 0
  }

  /** Bytes of input held (until the output size is known, everything received). */
  get heldBytes(): number {
    return this.held.length > 0 ? this.received : 0
  }

  /** The next input piece. Throws a CodecError when the response is malformed where it must be read. */
  push(piece: Buffer): void {
    this.received += piece.length
    if (this.received > this.length) throw new InvalidLengthError('frame', this.received, 0, 'more bytes than its size')
    if (this.outLength >= 0) {
      if (piece.length > 0) this.emit(piece)
      return
    }
    this.held.push(piece)
    this.heldStarts.push(this.received - piece.length)
    if (this.scan()) this.release()
  }

  /** Reads on from the last checkpoint; true once the output size is known. */
  private scan(): boolean {
    // Only the pieces from the checkpoint on: a response split into many small reads is not walked from its start
    // on every read.
    let first = this.heldStarts.length - 1
    while (first > 0 && this.heldStarts[first]! > this.scanAt) first--
    const r = new PiecesReader(this.held.slice(first), this.scanAt, {
      starts: this.heldStarts.slice(first),
      end: this.received,
    })
    const flexible = this.flexible
    try {
      if (this.topics < 0) {
        this.layout.head(r, this.apiVersion, flexible)
        this.countStart = r.pos
        this.topics = r.arrayLength(flexible, false, this.layout.what)
        this.countEnd = r.pos
        this.scanAt = r.pos
      }
      while (this.topicsRead < this.topics) {
        const start = r.pos
        const name = r.string(flexible, `${this.layout.what} topic name`)
        const nameEnd = r.pos
        const last = this.topicsRead === this.topics - 1
        let renamed: string | undefined
        if (last) {
          if (this.lastTopic?.at !== start) this.lastTopic = { at: start, name: this.rename(name) }
          renamed = this.lastTopic.name
        }
        // A topic that stays needs reading to its end only when another topic follows it.
        if (!last || renamed === undefined) this.layout.skipTopic(r, this.apiVersion, flexible)
        if (!last) renamed = this.rename(name)
        if (renamed === undefined) this.edits.push({ start, end: r.pos, bytes: EMPTY })
        else {
          this.kept++
          if (renamed !== name) this.edits.push({ start, end: nameEnd, bytes: this.stringBytes(renamed) })
        }
        this.topicsRead++
        this.scanAt = r.pos
      }
    } catch (err) {
      // Until the last byte is in, a value cut off where the input ends (or a count larger than what has arrived) may
      // be whole after the next piece: the scan starts again from the last topic read to its end.
      if (this.received < this.length && (err instanceof TruncatedInputError || err instanceof InvalidLengthError)) {
        return false
      }
      throw err
    }
    return true
  }

  private stringBytes(name: string): Buffer {
    const w = new Writer(sizeOfString(this.flexible, name))
    w.string(this.flexible, name)
    return w.finish()
  }

  /** The output size is known: the new size prefix, then what is held, cut where it changes. */
  private release(): void {
    if (this.kept !== this.topics) {
      const w = new Writer(sizeOfArrayLength(this.flexible, this.kept))
      w.arrayLength(this.flexible, this.kept)
      this.edits.unshift({ start: this.countStart, end: this.countEnd, bytes: w.finish() })
    }
    let out = this.length
    for (const e of this.edits) out += e.bytes.length - (e.end - e.start)
    this.outLength = out
    const prefix = Buffer.allocUnsafe(4)
    prefix.writeInt32BE(out - 4, 0)
    this.emit(prefix)
    let at = 4
    for (const e of this.edits) {
      this.emitHeld(at, e.start)
      if (e.bytes.length > 0) this.emit(e.bytes)
      at = e.end
    }
    this.emitHeld(at, this.received)
    this.held = []
    this.heldStarts = []
  }

  /** Emits the held input bytes [from, to) as views of the pieces that hold them. */
  private emitHeld(from: number, to: number): void {
    let start = 0
    for (const p of this.held) {
      const end = start + p.length
      if (end > from && start < to) {
        const a = Math.max(from, start) - start
        const b = Math.min(to, end) - start
        if (b > a) this.emit(a === 0 && b === p.length ? p : p.subarray(a, b))
      }
      if (end >= to) return
      start = end
    }
  }
}

/** Renames a whole frame given as pieces (see TopicRenameStream); returns the output's pieces. */
export function renameTopics(
  pieces: readonly Buffer[],
  length: number,
  apiVersion: number,
  rename: TopicRename,
  apiKey: number = ApiKey.Fetch,
): Buffer[] {
  const out: Buffer[] = []
  const stream = new TopicRenameStream(length, apiVersion, rename, (p) => out.push(p), apiKey)
  for (const p of pieces) stream.push(p)
  if (stream.outputLength < 0) throw new TruncatedInputError(`${LAYOUTS[apiKey]!.what} topic names`, length, 0, length)
  return out
}
