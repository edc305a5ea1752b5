import type { FetchRequest } from '../../codec/messages/generated/fetch-request.js'
import type { FetchResponse } from '../../codec/messages/generated/fetch-response.js'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import type { ProduceResponse } from '../../codec/messages/generated/produce-response.js'
import {
  ApiKey,
  type ConnectionView,
  type DecodedRequest,
  type DecodedResponse,
  type Filter,
  type FilterContext,
} from '../../src/pipeline/filter-api.js'
import type { Capture } from './capture.js'
import type { Direction } from './config.js'
import type { TapEngine } from './engine.js'
import type { ActiveTap } from './taps.js'

/** log_append_time_ms of a Produce answer for a topic that does not use LogAppendTime (ProduceResponse.json: -1). */
const NO_LOG_APPEND_TIME = -1n

/**
 * The tap on one client connection: an observer (it never holds or changes a message; the runtime forwards first
 * and hands it the decoded message after). It copies the records of Produce requests and Fetch responses that a
 * tap selects, and hands the copies to the engine: fetched records at once, produced records once the Produce
 * response has given them their offsets (acks=0 requests get none, and go at once).
 *
 * It reads records, so it does not ask for summaries (Filter.records stays 'bytes').
 */
export class TapConnection implements Filter {
  readonly observesOnly = true
  /** Captures of Produce requests waiting for their response, in request order (responses come in that order). */
  private readonly pending = new Map<DecodedRequest, Capture[]>()
  private chosen: { generation: number; clientId: string | null; produce: ActiveTap[]; fetch: ActiveTap[] } | undefined

  constructor(
    private readonly engine: TapEngine,
    private readonly connection: ConnectionView,
  ) {}

  wantsRequest(apiKey: number): boolean {
    // Fetch requests say from which offset the consumer reads: records before it in a returned batch are not its.
    return (
      (apiKey === ApiKey.Produce && this.engine.mayTap('produce')) ||
      (apiKey === ApiKey.Fetch && this.engine.mayTap('fetch'))
    )
  }

  wantsResponse(apiKey: number): boolean {
    return this.wantsRequest(apiKey)
  }

  /** Only responses there is something to do with are decoded: a Produce answer to a captured request, a Fetch answer a tap wants. */
  needsResponse(apiKey: number): boolean {
    if (apiKey === ApiKey.Produce) return this.pending.size > 0
    return this.tapsFor('fetch', this.connection).length > 0
  }

  onRequest(req: DecodedRequest, ctx: FilterContext): undefined {
    if (req.apiKey !== ApiKey.Produce) return undefined
    const taps = this.tapsFor('produce', ctx)
    if (taps.length === 0) return undefined
    const body = req.body as ProduceRequest
    const captures: Capture[] = []
    for (const t of body.topicData) {
      // Produce v13 names topics by id (KIP-516).
      const topicId = req.apiVersion >= 13 ? t.topicId : undefined
      const topic = topicId === undefined ? t.name : this.engine.nameOf(topicId)
      const selected = topic === undefined ? taps : this.engine.forTopic(taps, topic)
      if (selected.length === 0) continue
      for (const p of t.partitionData) {
        if (!Buffer.isBuffer(p.records) || p.records.length === 0) continue
        const c = this.engine.capture({
          direction: 'produce',
          topic,
          topicId,
          partition: p.index,
          view: p.records,
          taps: selected,
          ctx,
          fetchOffset: undefined,
        })
        if (c !== undefined) captures.push(c)
      }
    }
    if (captures.length === 0) return undefined
    // acks=0: the broker sends no response (ProduceRequest.json), so no offsets will come.
    if (body.acks === 0) for (const c of captures) this.engine.enqueue(c)
    else this.pending.set(req, captures)
    return undefined
  }

  onResponse(res: DecodedResponse, ctx: FilterContext): undefined {
    if (res.apiKey === ApiKey.Produce) this.produced(res)
    else if (res.apiKey === ApiKey.Fetch) this.fetched(res, ctx)
    return undefined
  }

  onClose(): void {
    for (const captures of this.pending.values()) for (const c of captures) this.engine.discard(c)
    this.pending.clear()
  }

  private produced(res: DecodedResponse): void {
    const req = res.request
    if (req === undefined) return
    const captures = this.pending.get(req)
    if (captures === undefined) return
    // Responses come in request order on a connection, so requests before this one that were never answered
    // through the filters (another filter answered them itself) will not be: their copies go without offsets.
    for (const [earlier, cs] of this.pending) {
      if (earlier === req) break
      this.pending.delete(earlier)
      for (const c of cs) this.engine.enqueue(c)
    }
    this.pending.delete(req)
    const body = res.body as ProduceResponse
    const v13 = res.apiVersion >= 13
    for (const c of captures) {
      const topic = body.responses.find((t) => (v13 ? t.topicId === c.topicId : t.name === c.topic))
      const p = topic?.partitionResponses.find((x) => x.index === c.partition)
      if (p !== undefined) {
        c.errorCode = p.errorCode
        if (p.errorCode === 0) c.baseOffset = p.baseOffset
        if (p.logAppendTimeMs !== NO_LOG_APPEND_TIME) c.logAppendTime = p.logAppendTimeMs
      }
      this.engine.enqueue(c)
    }
  }

  private fetched(res: DecodedResponse, ctx: FilterContext): void {
    const taps = this.tapsFor('fetch', ctx)
    if (taps.length === 0) return
    const body = res.body as FetchResponse
    // Fetch v13+ names topics by id (KIP-516), in the request and the response alike.
    const v13 = res.apiVersion >= 13
    const offsets = fetchOffsets(res.request as DecodedRequest<typeof ApiKey.Fetch> | undefined, v13)
    for (const t of body.responses) {
      const topicId = v13 ? t.topicId : undefined
      const topic = topicId === undefined ? t.topic : this.engine.nameOf(topicId)
      const selected = topic === undefined ? taps : this.engine.forTopic(taps, topic)
      if (selected.length === 0) continue
      for (const p of t.partitions) {
        if (p.errorCode !== 0 || !Buffer.isBuffer(p.records) || p.records.length === 0) continue
        const c = this.engine.capture({
          direction: 'fetch',
          topic,
          topicId,
          partition: p.partitionIndex,
          view: p.records,
          taps: selected,
          ctx,
          fetchOffset: offsets?.get(`${(v13 ? topicId : topic) ?? ''}\u0000${p.partitionIndex}`),
        })
        if (c !== undefined) this.engine.enqueue(c)
      }
    }
  }

  /** The taps of a direction that select this connection, chosen again when the taps or the client id change. */
  private tapsFor(direction: Direction, conn: ConnectionView): ActiveTap[] {
    const generation = this.engine.taps.generation
    let chosen = this.chosen
    if (chosen === undefined || chosen.generation !== generation || chosen.clientId !== conn.clientId) {
      chosen = {
        generation,
        clientId: conn.clientId,
        produce: this.engine.tapsFor('produce', conn.clientId, conn.principal),
        fetch: this.engine.tapsFor('fetch', conn.clientId, conn.principal),
      }
      this.chosen = chosen
    }
    return chosen[direction]
  }
}

function fetchOffsets(
  req: DecodedRequest<typeof ApiKey.Fetch> | undefined,
  v13: boolean,
): Map<string, bigint> | undefined {
  if (req === undefined) return undefined
  const out = new Map<string, bigint>()
  for (const t of (req.body as FetchRequest).topics) {
    const key = (v13 ? t.topicId : t.topic) ?? ''
    for (const p of t.partitions) out.set(`${key}\u0000${p.partition}`, p.fetchOffset)
  }
  return out
}
