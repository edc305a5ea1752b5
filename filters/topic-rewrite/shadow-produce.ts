import type { Logger } from 'pino'
import { RecordBatch, readBatches } from '../../codec/records/index.js'
import type {
  Clock,
  FilterCounter,
  FilterGauge,
  FilterMetrics,
  OwnRecord,
  UpstreamClientService,
} from '../../src/pipeline/filter-api.js'
import type { ShadowConfig } from './config.js'

/**
 * Shadow produce: records a client produced to a topic, once the broker acknowledged them there, are produced again
 * to the mapped topic by the sidecar's own client (setup service `upstream`). The client's answer never waits for or
 * depends on the copy. Copies wait in a bounded queue (records and bytes accepted and not yet acknowledged by the
 * shadow topic); when it is full, new copies are dropped and counted rather than holding memory or slowing the
 * client. Failures (after the upstream client's own retries, which ride out a leader change) are counted and logged
 * once per topic and cause.
 *
 * Transactional batches are held until their transaction ends: EndTxn committed releases them, an abort (or a new
 * InitProducerId for the transactional id, which aborts what was open: KIP-98, and the transaction timeout) drops
 * them, so the shadow topic sees the committed records only, written without a transaction.
 */

/** The records of one partition of a Produce request that go to the shadow topic. */
export interface ShadowCopy {
  readonly rule: string
  /** The shadow topic (real name). */
  readonly topic: string
  readonly partition: number
  /** The partition's `records` field as the client sent it (record batches v2). */
  readonly records: Buffer
  readonly transactionalId: string | null
  /** The original topic (name, or id for Produce v13) and partition, as the Produce response names them. */
  readonly source: string
}

interface Decoded {
  readonly plain: OwnRecord[]
  readonly transactional: OwnRecord[]
  readonly bytes: number
  readonly transactionalBytes: number
}

interface HeldTransaction {
  readonly copies: { rule: string; topic: string; records: OwnRecord[]; bytes: number }[]
  records: number
  bytes: number
  readonly since: number
}

export class ShadowProducer {
  private queuedRecords = 0
  private queuedBytes = 0
  private readonly held = new Map<string, HeldTransaction>()
  private readonly inFlight = new Set<Promise<unknown>>()
  private readonly reported = new Set<string>()
  private readonly outcomes: FilterCounter
  private readonly queueRecords: FilterGauge
  private readonly queueBytes: FilterGauge

  constructor(
    private config: ShadowConfig,
    private readonly upstream: UpstreamClientService | undefined,
    metrics: FilterMetrics,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {
    this.outcomes = metrics.counter(
      'shadow_records_total',
      'Records copied to shadow topics, by outcome: produced, failed (the shadow produce failed), dropped (queue full or no upstream client), aborted (their transaction aborted)',
      ['rule', 'outcome'],
    )
    this.queueRecords = metrics.gauge(
      'shadow_queued_records',
      'Records waiting for their shadow produce or their transaction to end',
    )
    this.queueBytes = metrics.gauge('shadow_queued_bytes', 'Bytes of keys, values and headers waiting likewise')
  }

  /** A hot reload keeps the queue and what it holds; new bounds apply to copies from now on. */
  reconfigure(config: ShadowConfig): void {
    this.config = config
  }

  get queued(): { readonly records: number; readonly bytes: number; readonly transactions: number } {
    return { records: this.queuedRecords, bytes: this.queuedBytes, transactions: this.held.size }
  }

  /** The broker acknowledged these records on the original topic (or acks=0: they were sent). */
  acknowledged(copy: ShadowCopy): void {
    let decoded: Decoded
    try {
      decoded = this.decode(copy)
    } catch (err) {
      this.count(copy.rule, 'failed', 1)
      this.once(`decode:${copy.topic}`, () =>
        this.log.warn(
          { topic: copy.topic, err: (err as Error).message },
          'shadow produce: a produced batch could not be read; it is not copied',
        ),
      )
      return
    }
    if (decoded.plain.length > 0) {
      if (this.reserve(copy.rule, copy.topic, decoded.plain.length, decoded.bytes)) {
        this.send(copy.rule, copy.topic, decoded.plain, decoded.bytes)
      }
    }
    if (decoded.transactional.length > 0) this.hold(copy, decoded.transactional, decoded.transactionalBytes)
  }

  /** EndTxn succeeded for this transactional id: committed records are copied, aborted ones dropped. */
  endTransaction(transactionalId: string, committed: boolean): void {
    const t = this.held.get(transactionalId)
    if (t === undefined) return
    this.held.delete(transactionalId)
    for (const c of t.copies) {
      if (committed) this.send(c.rule, c.topic, c.records, c.bytes)
      else {
        this.release(c.records.length, c.bytes)
        this.count(c.rule, 'aborted', c.records.length)
      }
    }
  }

  /** Resolves once every copy sent so far has settled (at most `timeoutMs`). */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs)
    })
    await Promise.race([Promise.allSettled([...this.inFlight]), limit])
    clearTimeout(timer)
  }

  private decode(copy: ShadowCopy): Decoded {
    const plain: OwnRecord[] = []
    const transactional: OwnRecord[] = []
    let bytes = 0
    let transactionalBytes = 0
    const partition = this.config.partition === 'same' ? copy.partition : undefined
    for (const entry of readBatches(copy.records, { partial: 'reject' })) {
      // Produce v3+ carries record batches v2 only (ProduceRequest.json: "the broker rejects older formats").
      if (!(entry instanceof RecordBatch) || entry.isControl) continue
      const into = entry.isTransactional && copy.transactionalId !== null ? transactional : plain
      for (const r of entry.records()) {
        let size = (r.key?.length ?? 0) + (r.value?.length ?? 0)
        for (const h of r.headers) size += h.key.length + (h.value?.length ?? 0)
        into.push({
          key: r.key,
          value: r.value,
          headers: r.headers,
          timestamp: r.timestamp,
          ...(partition === undefined ? {} : { partition }),
        })
        if (into === transactional) transactionalBytes += size
        else bytes += size
      }
    }
    return { plain, transactional, bytes, transactionalBytes }
  }

  private hold(copy: ShadowCopy, records: OwnRecord[], bytes: number): void {
    this.expireTransactions()
    if (!this.reserve(copy.rule, copy.topic, records.length, bytes)) return
    const id = copy.transactionalId!
    let t = this.held.get(id)
    if (t === undefined) {
      t = { copies: [], records: 0, bytes: 0, since: this.clock.monotonic() }
      this.held.set(id, t)
    }
    t.copies.push({ rule: copy.rule, topic: copy.topic, records, bytes })
    t.records += records.length
    t.bytes += bytes
  }

  private expireTransactions(): void {
    const now = this.clock.monotonic()
    for (const [id, t] of this.held) {
      if (now - t.since < this.config.transactionTimeoutMs) continue
      this.held.delete(id)
      for (const c of t.copies) {
        this.release(c.records.length, c.bytes)
        this.count(c.rule, 'dropped', c.records.length)
      }
      this.once(`expired:${id}`, () =>
        this.log.warn(
          { transactionalId: id, records: t.records },
          'shadow produce: a transaction did not end within transactionTimeoutMs; its held records are dropped',
        ),
      )
    }
  }

  private reserve(rule: string, topic: string, records: number, bytes: number): boolean {
    if (this.upstream === undefined) {
      this.count(rule, 'dropped', records)
      this.once('no-upstream', () =>
        this.log.warn('shadow produce: the sidecar has no upstream client of its own; records are not copied'),
      )
      return false
    }
    if (
      this.queuedRecords + records > this.config.maxQueuedRecords ||
      this.queuedBytes + bytes > this.config.maxQueuedBytes
    ) {
      this.count(rule, 'dropped', records)
      this.once(`full:${topic}`, () =>
        this.log.warn(
          { topic, maxQueuedRecords: this.config.maxQueuedRecords, maxQueuedBytes: this.config.maxQueuedBytes },
          'shadow produce: the queue is full; copies are dropped (counted in kafka_sidecar_filter_topic_rewrite_shadow_records_total{outcome="dropped"})',
        ),
      )
      return false
    }
    this.queuedRecords += records
    this.queuedBytes += bytes
    this.gauges()
    return true
  }

  private release(records: number, bytes: number): void {
    this.queuedRecords -= records
    this.queuedBytes -= bytes
    this.gauges()
  }

  private send(rule: string, topic: string, records: OwnRecord[], bytes: number): void {
    const p = this.upstream!.produce(topic, records, {
      acks: this.config.acks,
      compression: this.config.compression,
    }).then(
      () => this.count(rule, 'produced', records.length),
      (err: unknown) => {
        this.count(rule, 'failed', records.length)
        const e = err as Error & { code?: string }
        this.once(`failed:${topic}:${e.code ?? e.name}`, () =>
          this.log.warn(
            { topic, code: e.code, err: e.message },
            'shadow produce failed; the client was not affected (counted in kafka_sidecar_filter_topic_rewrite_shadow_records_total{outcome="failed"})',
          ),
        )
      },
    )
    this.inFlight.add(p)
    void p.finally(() => {
      this.inFlight.delete(p)
      this.release(records.length, bytes)
    })
  }

  private count(rule: string, outcome: string, n: number): void {
    this.outcomes.inc({ rule, outcome }, n)
  }

  private gauges(): void {
    this.queueRecords.set({}, this.queuedRecords)
    this.queueBytes.set({}, this.queuedBytes)
  }

  private once(key: string, log: () => void): void {
    if (this.reported.has(key)) return
    if (this.reported.size < 10_000) this.reported.add(key)
    log()
  }
}
