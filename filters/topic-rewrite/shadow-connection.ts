import type { EndTxnRequest } from '../../codec/messages/generated/end-txn-request.js'
import type { EndTxnResponse } from '../../codec/messages/generated/end-txn-response.js'
import type { InitProducerIdRequest } from '../../codec/messages/generated/init-producer-id-request.js'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import type { ProduceResponse } from '../../codec/messages/generated/produce-response.js'
import { ApiKey, type DecodedRequest, type DecodedResponse, type FilterContext } from '../../src/pipeline/filter-api.js'
import type { Rule } from './rules.js'
import type { ShadowCopy, ShadowProducer } from './shadow-produce.js'

/**
 * One client connection under a shadow rule. The client's messages are never changed or held: the filter only
 * observes (Filter.observesOnly), so Produce requests go to the broker first and responses to the client first, and
 * large ones stream. It notes which partitions of each Produce request go to a shadow topic, and when the response
 * says a partition was written (error code 0) it hands those records to the shadow producer; EndTxn answers release
 * or drop the records of a transaction.
 */
export class ShadowConnection {
  /** Copies of each Produce request waiting for its response (a promise while Produce v13 topic ids are looked up). */
  private readonly pending = new WeakMap<object, ShadowCopy[] | Promise<ShadowCopy[]>>()

  constructor(
    private readonly rule: Rule,
    private readonly shadow: ShadowProducer,
    /** A Produce v13 request whose topic ids could not be named: its records are not copied. */
    private readonly lookupFailed: (err: unknown) => void,
  ) {}

  wantsRequest(apiKey: number): boolean {
    return apiKey === ApiKey.Produce || apiKey === ApiKey.EndTxn || apiKey === ApiKey.InitProducerId
  }

  wantsResponse(apiKey: number): boolean {
    return apiKey === ApiKey.Produce || apiKey === ApiKey.EndTxn
  }

  onRequest(req: DecodedRequest, ctx: FilterContext): Promise<void> | undefined {
    if (req.apiKey === ApiKey.InitProducerId) {
      // A new InitProducerId for a transactional id ends whatever transaction of it was open (KIP-98: the
      // coordinator aborts it), so its held records will never be committed.
      const id = (req.body as InitProducerIdRequest).transactionalId
      if (id !== null) this.shadow.endTransaction(id, false)
      return undefined
    }
    if (req.apiKey !== ApiKey.Produce) return undefined
    const body = req.body as ProduceRequest
    const copies = this.copiesOf(body, req.apiVersion, ctx)
    // acks=0 has no response (ProduceRequest.json Acks): what was sent is all there is to copy.
    if (body.acks === 0) {
      const deliver = (list: ShadowCopy[]) => {
        for (const c of list) this.shadow.acknowledged(c)
      }
      if (copies instanceof Promise) return copies.then(deliver)
      deliver(copies)
      return undefined
    }
    this.pending.set(req, copies)
    return undefined
  }

  onResponse(res: DecodedResponse): Promise<void> | undefined {
    if (res.apiKey === ApiKey.EndTxn) {
      const request = res.request?.body as EndTxnRequest | undefined
      if (request !== undefined && (res.body as EndTxnResponse).errorCode === 0) {
        this.shadow.endTransaction(request.transactionalId, request.committed)
      }
      return undefined
    }
    if (res.apiKey !== ApiKey.Produce || res.request === undefined) return undefined
    const copies = this.pending.get(res.request)
    if (copies === undefined) return undefined
    this.pending.delete(res.request)
    const body = res.body as ProduceResponse
    const written = new Set<string>()
    for (const t of body.responses) {
      for (const p of t.partitionResponses) {
        if (p.errorCode === 0) written.add(`${t.name ?? t.topicId}\u0000${p.index}`)
      }
    }
    const deliver = (list: ShadowCopy[]) => {
      for (const c of list) if (written.has(c.source)) this.shadow.acknowledged(c)
    }
    if (copies instanceof Promise) return copies.then(deliver)
    deliver(copies)
    return undefined
  }

  /** The partitions of a Produce request whose topic the rule maps, with their shadow topic. */
  private copiesOf(body: ProduceRequest, version: number, ctx: FilterContext): ShadowCopy[] | Promise<ShadowCopy[]> {
    const build = (nameOf: (t: ProduceRequest['topicData'][number]) => string | undefined) => {
      const out: ShadowCopy[] = []
      for (const t of body.topicData) {
        const name = nameOf(t)
        if (name === undefined) continue
        const target = this.rule.topics.toReal(name)
        if (target === name) continue
        for (const p of t.partitionData) {
          if (!Buffer.isBuffer(p.records) || p.records.length === 0) continue
          out.push({
            rule: this.rule.name,
            topic: target,
            partition: p.index,
            records: p.records,
            transactionalId: body.transactionalId,
            source: `${version >= 13 ? t.topicId : t.name}\u0000${p.index}`,
          })
        }
      }
      return out
    }
    // Produce v13 names topics by id (KIP-516, Kafka 4.1); the topic's name decides whether it is copied.
    if (version >= 13) {
      const ids = body.topicData.map((t) => t.topicId!)
      return ctx.topicNames(ids).then(
        (names) => build((t) => names.get(t.topicId!)),
        (err: unknown) => {
          this.lookupFailed(err)
          return []
        },
      )
    }
    return build((t) => t.name)
  }
}
