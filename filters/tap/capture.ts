import { readBatches } from '../../codec/records/index.js'
import type { FilterContext } from '../../src/pipeline/filter-api.js'
import type { Arena, Chunk } from './arena.js'
import type { Direction } from './config.js'
import type { ActiveTap } from './taps.js'

/**
 * A capture: the records of one partition of one client message (a Produce request or a Fetch response) that some
 * tap selected, copied out of the message at once. The copy is the only work done while the runtime hands the
 * message over; its bytes are the sidecar's socket buffers, valid only during that call (README "Behaviour worth
 * knowing", src/pipeline/read-lease.ts), so nothing of the message itself is kept. Extraction, decoration and
 * producing happen later, off that call.
 */
export interface Capture {
  readonly direction: Direction
  /** The topic's name; undefined while only its id is known (Produce v13, Fetch v13+). */
  topic: string | undefined
  readonly topicId: string | undefined
  readonly partition: number
  /** The partition's `records` field, copied: the capture's own memory. */
  readonly records: Buffer
  /** Records the batch headers declare. */
  readonly recordCount: number
  /** Taps that selected it (by connection and direction; by topic too once the name is known). */
  taps: ActiveTap[]
  readonly clientId: string | null
  readonly principal: string | undefined
  /** For names of topics the capture knows by id only. */
  readonly ctx: FilterContext
  /** Produce: the partition's base offset from the response (undefined: acks=0, an error, or no answer). */
  baseOffset: bigint | undefined
  /** Produce: the partition's error in the response (0: written). */
  errorCode: number
  /** Produce: the broker's LogAppendTime for the partition, when the topic uses it. */
  logAppendTime: bigint | undefined
  /** Fetch: the offset the consumer asked from; a batch may start before it, and those records are not its. */
  readonly fetchOffset: bigint | undefined
  /** Budget held for it (TapBudget): bytes and records. */
  heldBytes: number
  heldRecords: number
  /** Where `records` lives (Arena), given back once with the budget. */
  readonly chunk: Chunk
  released: boolean
}

/** Records the headers of the batches in `records` declare (legacy messages count one; a partial batch none). */
export function declaredRecords(records: Buffer): number {
  let n = 0
  for (const entry of readBatches(records)) {
    if (entry.kind === 'batch') n += entry.isControl ? 0 : entry.recordCount
    else if (entry.kind === 'legacy') n += 1
  }
  return n
}

/** What a connection hands over to capture one partition's records (`view`: the records field as decoded). */
export type CaptureFields = Pick<
  Capture,
  'direction' | 'topic' | 'topicId' | 'partition' | 'taps' | 'ctx' | 'fetchOffset'
> & {
  readonly view: Buffer
}

/** `recordCount` apart from the fields: a spread of the fields with it was a measurable part of a capture's cost. */
export function newCapture(fields: CaptureFields, recordCount: number, arena: Arena): Capture {
  // The copy, in the tap's own memory: nothing of the socket buffer is kept.
  const { buf: records, chunk } = arena.copy(fields.view)
  return {
    direction: fields.direction,
    topic: fields.topic,
    topicId: fields.topicId,
    partition: fields.partition,
    records,
    recordCount,
    taps: fields.taps,
    clientId: fields.ctx.clientId,
    principal: fields.ctx.principal,
    ctx: fields.ctx,
    baseOffset: undefined,
    errorCode: 0,
    logAppendTime: undefined,
    fetchOffset: fields.fetchOffset,
    heldBytes: records.length,
    heldRecords: recordCount,
    chunk,
    released: false,
  }
}
