import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { ProduceResponse } from '../../codec/messages/generated/produce-response.js'
import {
  type CompressionType,
  prepareZstdCompression,
  zstdCompressorName,
} from '../../codec/records/compression/index.js'
import type { RecordInput } from '../../codec/records/record.js'
import type { Logger } from '../logger.js'
import type { ExponentialBackoff } from './backoff.js'
import type { BrokerConnection } from './connection.js'
import {
  BufferFullError,
  ClientClosedError,
  DeliveryTimeoutError,
  InvalidRequestError,
  KafkaResponseError,
  UpstreamProtocolError,
} from './errors.js'
import { invalidatesMetadata, isRetriable } from './kafka-errors.js'
import type { ClusterMetadata, TopicView } from './metadata.js'
import { partitionForKey } from './partitioner.js'
import { checkedPrebuiltBatch } from './prebuilt-batch.js'
import {
  type Batch,
  type BatchMetadata,
  type Delivery,
  newBatch,
  type PartitionQueue,
  type PendingRequest,
  produceTopicData,
  produceVersion,
  rejectBatch,
  resolveBatch,
} from './produce-batch.js'
import {
  type Acks,
  type CompressionName,
  compressionType,
  type ProduceOptions,
  type ProducerRecord,
  type RecordMetadata,
  sizeOf,
  toRecordInput,
} from './produce-records.js'

/**
 * The produce path of the upstream client: records are appended to a batch per partition (and acks and
 * compression), a batch is sent when it holds batchBytes or when it is lingerMs old, and every Produce request
 * carries the ready batches of every partition led by one broker (one batch per partition: Kafka rejects more,
 * ProduceRequest.validateRecords). So a tap that produces many small records sends few requests.
 *
 * Failures: a retriable error (NOT_LEADER_OR_FOLLOWER, a lost connection, a request timeout, ...) puts the batch
 * back in its queue after a backoff, with a metadata refresh first when the error says the leaders moved, until the
 * delivery timeout (counted from the batch's creation, like delivery.timeout.ms); other errors fail the records.
 * Delivery is at least once and, with more than one request in flight per broker, a retried batch can land after a
 * later one: the producer is not idempotent (no producer id), as the Java producer with enable.idempotence=false.
 * Defaults are the Java producer's (kafka-clients 4.3.1 ProducerConfig): linger.ms 5, batch.size 16384,
 * max.request.size 1048576, delivery.timeout.ms 120000, max.in.flight.requests.per.connection 5,
 * buffer.memory 33554432. Unlike the Java producer, produce() never blocks when the buffer is full: it rejects,
 * so that a filter on the data path can count the loss and carry on.
 */

export interface ProducerSettings {
  acks: Acks
  compression: CompressionName
  lingerMs: number
  batchBytes: number
  maxRequestBytes: number
  deliveryTimeoutMs: number
  /** The Produce request's own timeout (how long the leader waits for acks=-1 replication). */
  requestTimeoutMs: number
  maxInFlightPerNode: number
  bufferBytes: number
  retryBackoff: ExponentialBackoff
}

/** What the producer needs from the client: metadata, connections to leaders, and a way to wait for a topic. */
export interface ProducerPort {
  readonly metadata: ClusterMetadata
  /** The topic's metadata, refreshed until it appears; rejects when it does not exist or the cluster is down. */
  topic(name: string): Promise<TopicView>
  connection(nodeId: number): Promise<BrokerConnection>
  readonly log: Logger
}

/** RecordBatch v2 header (61 bytes) plus the Produce request's per-partition overhead, roughly. */
const BATCH_OVERHEAD = 80

export class Producer {
  private readonly queues = new Map<string, PartitionQueue>()
  private readonly inFlightByNode = new Map<number, number>()
  /** Next partition for records without a key, per topic (see choosePartition). */
  private readonly nextPartition = new Map<string, number>()
  private buffered = 0
  private drainScheduled = false
  private timer: NodeJS.Timeout | undefined
  private timerAt = Number.POSITIVE_INFINITY
  private flushers: (() => void)[] = []
  private flushing = 0
  private inFlightRequests = 0
  private closed = false
  private metadataWanted = false
  private metadataAskedAt = 0

  constructor(
    private readonly port: ProducerPort,
    private readonly settings: ProducerSettings,
  ) {}

  /** Bytes of records accepted and not yet acknowledged or failed. */
  get bufferedBytes(): number {
    return this.buffered
  }

  produce(topic: string, records: readonly ProducerRecord[], options: ProduceOptions = {}): Promise<RecordMetadata[]> {
    if (this.closed) return Promise.reject(new ClientClosedError())
    if (records.length === 0) return Promise.resolve([])
    // Zstd's compressor is loaded on first use (codec/records/compression/zstd.ts); until then batches would go out
    // as stored, uncompressed frames. Where none loads, stored frames it is (still valid zstd).
    if ((options.compression ?? this.settings.compression) === 'zstd' && zstdCompressorName() === 'stored') {
      return prepareZstdCompression().then(() => this.produceTo(topic, records, options))
    }
    return this.produceTo(topic, records, options)
  }

  private produceTo(
    topic: string,
    records: readonly ProducerRecord[],
    options: ProduceOptions,
  ): Promise<RecordMetadata[]> {
    const known = this.port.metadata.topic(topic)
    if (known !== undefined) return this.enqueue(known, records, options)
    return this.port.topic(topic).then((view) => this.enqueue(view, records, options))
  }

  /**
   * Produces a record batch the caller encoded (uncompressed, baseOffset 0, offset deltas 0..count-1: see
   * prebuilt-batch.ts), as one batch of its own to `partition`, or without one to the next partition round robin,
   * as a produce() call of keyless records. For callers that copy records from other batches without decoding
   * them (the tap filter): no object per record on the way in or out. The batch is not copied: it must stay
   * unchanged until the promise settles (or the delivery timeout has passed, if it rejects early).
   */
  produceBatch(
    topic: string,
    partition: number | undefined,
    batch: Buffer,
    options: Omit<ProduceOptions, 'partition'> = {},
  ): Promise<BatchMetadata> {
    if (this.closed) return Promise.reject(new ClientClosedError())
    if ((options.compression ?? this.settings.compression) === 'zstd' && zstdCompressorName() === 'stored') {
      return prepareZstdCompression().then(() => this.produceBatchTo(topic, partition, batch, options))
    }
    return this.produceBatchTo(topic, partition, batch, options)
  }

  private produceBatchTo(
    topic: string,
    partition: number | undefined,
    batch: Buffer,
    options: Omit<ProduceOptions, 'partition'>,
  ): Promise<BatchMetadata> {
    const known = this.port.metadata.topic(topic)
    if (known !== undefined) return this.enqueueBatch(known, partition, batch, options)
    return this.port.topic(topic).then((view) => this.enqueueBatch(view, partition, batch, options))
  }

  private enqueueBatch(
    view: TopicView,
    partition: number | undefined,
    batch: Buffer,
    options: Omit<ProduceOptions, 'partition'>,
  ): Promise<BatchMetadata> {
    if (this.closed) return Promise.reject(new ClientClosedError())
    let recordCount: number
    try {
      recordCount = checkedPrebuiltBatch(batch)
    } catch (err) {
      return Promise.reject(new InvalidRequestError(`a batch for ${view.name}: ${(err as Error).message}`))
    }
    const size = batch.length
    if (size + BATCH_OVERHEAD > this.settings.maxRequestBytes)
      return Promise.reject(
        new InvalidRequestError(
          `a batch of ${size} bytes for ${view.name} is larger than maxRequestBytes (${this.settings.maxRequestBytes})`,
        ),
      )
    const count = view.partitions.length
    const p = partition ?? this.choosePartition(view)
    if (!Number.isInteger(p) || p < 0 || p >= count)
      return Promise.reject(
        new InvalidRequestError(`partition ${p} does not exist: ${view.name} has ${count} partitions`),
      )
    if (this.buffered + size > this.settings.bufferBytes)
      return Promise.reject(new BufferFullError(this.settings.bufferBytes))
    this.port.metadata.track(view.name)
    this.buffered += size
    const acks = options.acks ?? this.settings.acks
    const compression = compressionType(options.compression ?? this.settings.compression)
    return new Promise<BatchMetadata>((resolve, reject) => {
      const q = this.queueFor(view.name, p, acks, compression)
      // The batch open for appends (records of produce() calls) closes: records stay in the order they came.
      const open = q.batches[q.batches.length - 1]
      if (open !== undefined) open.closed = true
      const b = newBatch(q, Date.now(), { batch, recordCount, delivery: { resolve, reject } })
      b.bytes = size
      b.closed = true
      q.batches.push(b)
      this.scheduleDrain()
    })
  }

  /** Partitions of a topic the client has metadata for (undefined until something asked for it). */
  partitionCount(topic: string): number | undefined {
    return this.port.metadata.topic(topic)?.partitions.length
  }

  /** Sends everything queued now without waiting for linger, and resolves when all of it has settled. */
  flush(): Promise<void> {
    if (this.buffered === 0 && this.inFlightRequests === 0) return Promise.resolve()
    this.flushing++
    return new Promise<void>((resolve) => {
      this.flushers.push(resolve)
      this.scheduleDrain()
    }).finally(() => {
      this.flushing--
    })
  }

  /** Flushes, then refuses further records. */
  async close(): Promise<void> {
    await this.flush()
    this.closed = true
    clearTimeout(this.timer)
  }

  /** Fails everything still queued (the client is closing without waiting). */
  abort(err: Error): void {
    this.closed = true
    clearTimeout(this.timer)
    for (const q of this.queues.values()) for (const b of q.batches.splice(0)) this.fail(b, err)
    this.checkFlushers()
  }

  private enqueue(
    view: TopicView,
    records: readonly ProducerRecord[],
    options: ProduceOptions,
  ): Promise<RecordMetadata[]> {
    if (this.closed) return Promise.reject(new ClientClosedError())
    const acks = options.acks ?? this.settings.acks
    const compression = compressionType(options.compression ?? this.settings.compression)
    const count = view.partitions.length
    // Convert and size everything first, so that a bad record or a full buffer rejects the call as a whole.
    const inputs: RecordInput[] = new Array(records.length)
    const sizes: number[] = new Array(records.length)
    const partitions: number[] = new Array(records.length)
    const now = Date.now()
    let total = 0
    let unkeyed = -1
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!
      const input = toRecordInput(r, now)
      const size = sizeOf(input)
      if (size + BATCH_OVERHEAD > this.settings.maxRequestBytes)
        return Promise.reject(
          new InvalidRequestError(
            `a record of about ${size} bytes for ${view.name} is larger than maxRequestBytes (${this.settings.maxRequestBytes})`,
          ),
        )
      let p = r.partition ?? options.partition
      if (p === undefined) {
        if (input.key != null) p = partitionForKey(input.key, count)
        else {
          if (unkeyed < 0) unkeyed = this.choosePartition(view)
          p = unkeyed
        }
      }
      if (!Number.isInteger(p) || p < 0 || p >= count)
        return Promise.reject(
          new InvalidRequestError(`partition ${p} does not exist: ${view.name} has ${count} partitions`),
        )
      inputs[i] = input
      sizes[i] = size
      partitions[i] = p
      total += size
    }
    if (this.buffered + total > this.settings.bufferBytes)
      return Promise.reject(new BufferFullError(this.settings.bufferBytes))
    this.port.metadata.track(view.name)
    this.buffered += total

    return new Promise<RecordMetadata[]>((resolve, reject) => {
      const delivery: Delivery = {
        results: new Array(records.length),
        remaining: records.length,
        settled: false,
        resolve,
        reject,
      }
      let wake = false
      for (let i = 0; i < inputs.length; i++) {
        const q = this.queueFor(view.name, partitions[i]!, acks, compression)
        let b = q.batches[q.batches.length - 1]
        if (b === undefined || b.closed || (b.bytes + sizes[i]! > this.settings.batchBytes && b.records.length > 0)) {
          if (b !== undefined && !b.closed) {
            b.closed = true
            wake = true
          }
          b = newBatch(q, now)
          q.batches.push(b)
        }
        b.records.push(inputs[i]!)
        b.owners.push(delivery)
        b.slots.push(i)
        b.bytes += sizes[i]!
        if (b.bytes >= this.settings.batchBytes) {
          b.closed = true
          wake = true
        }
      }
      if (wake || this.settings.lingerMs <= 0) this.scheduleDrain()
      else this.arm(now + this.settings.lingerMs)
    })
  }

  /**
   * Records without a key: all of one produce() call go to one partition, and successive calls take the next
   * partition that has a leader, round robin. Kafka's own producer sticks to one partition per batch for the same
   * reason (KIP-480): spreading single records over partitions would make many small batches.
   */
  private choosePartition(view: TopicView): number {
    const count = view.partitions.length
    const start = this.nextPartition.get(view.name) ?? Math.floor(Math.random() * count)
    for (let i = 0; i < count; i++) {
      const p = (start + i) % count
      if ((view.partitions[p]?.leader ?? -1) >= 0) {
        this.nextPartition.set(view.name, p + 1)
        return p
      }
    }
    this.nextPartition.set(view.name, start + 1)
    return start % count
  }

  private queueFor(topic: string, partition: number, acks: Acks, compression: CompressionType): PartitionQueue {
    const key = `${topic}\u0000${partition}\u0000${acks}\u0000${compression}`
    let q = this.queues.get(key)
    if (q === undefined) {
      q = { topic, partition, acks, compression, batches: [] }
      this.queues.set(key, q)
    }
    return q
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return
    this.drainScheduled = true
    setImmediate(() => {
      this.drainScheduled = false
      this.drain()
    })
  }

  /** Wakes the sender at `at` (epoch ms) unless it is due to wake earlier anyway. */
  private arm(at: number): void {
    if (at >= this.timerAt) return
    clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(
      () => {
        this.timerAt = Number.POSITIVE_INFINITY
        this.timer = undefined
        this.drain()
      },
      Math.max(0, at - Date.now()),
    )
    this.timer.unref()
  }

  /**
   * One pass of the sender: fail what is past its delivery timeout, then group the ready head batch of every
   * partition into one request per leader (and acks), within maxRequestBytes and the in-flight limit, and repeat
   * while that sends anything; finally arm the timer for the next batch that becomes ready.
   */
  private drain(): void {
    const now = Date.now()
    const s = this.settings
    let nextWake = Number.POSITIVE_INFINITY
    let leaderMissing = false
    for (;;) {
      const requests = new Map<string, PendingRequest>()
      for (const q of this.queues.values()) {
        // Every batch past its delivery timeout fails now, not only the head: otherwise a queue of many batches
        // (a tap's batches while its cluster is down) fails one per pass, and batches added meanwhile expire
        // behind it before they are ever sent.
        let b = q.batches[0]
        while (b !== undefined && now - b.createdAt >= s.deliveryTimeoutMs) {
          q.batches.shift()
          this.fail(b, new DeliveryTimeoutError(q.topic, q.partition, s.deliveryTimeoutMs, b.lastError))
          b = q.batches[0]
        }
        if (b === undefined) continue
        const readyAt = b.closed || this.flushing > 0 ? b.retryAt : Math.max(b.retryAt, b.createdAt + s.lingerMs)
        if (readyAt > now) {
          nextWake = Math.min(nextWake, readyAt, b.createdAt + s.deliveryTimeoutMs)
          continue
        }
        const leader = this.port.metadata.topic(q.topic)?.partitions[q.partition]?.leader ?? -1
        if (leader < 0) {
          leaderMissing = true
          nextWake = Math.min(nextWake, b.createdAt + s.deliveryTimeoutMs)
          continue
        }
        const key = `${leader}:${q.acks}`
        let r = requests.get(key)
        if (r === undefined) {
          if ((this.inFlightByNode.get(leader) ?? 0) >= s.maxInFlightPerNode) continue
          r = { nodeId: leader, acks: q.acks, batches: [], bytes: 0 }
          requests.set(key, r)
          this.inFlightByNode.set(leader, (this.inFlightByNode.get(leader) ?? 0) + 1)
        } else if (r.bytes + b.bytes + BATCH_OVERHEAD > s.maxRequestBytes) continue
        q.batches.shift()
        b.closed = true
        r.batches.push(b)
        r.bytes += b.bytes + BATCH_OVERHEAD
      }
      if (requests.size === 0) break
      for (const r of requests.values()) void this.send(r)
    }
    if (leaderMissing) {
      this.refreshMetadata()
      nextWake = Math.min(nextWake, now + s.retryBackoff.delay(1))
    }
    if (nextWake < Number.POSITIVE_INFINITY) this.arm(nextWake)
    this.checkFlushers()
  }

  /** One refresh at a time, and not more often than the retry backoff, however many batches wait for a leader. */
  private refreshMetadata(): void {
    if (this.metadataWanted) return
    const now = Date.now()
    const due = this.metadataAskedAt + this.settings.retryBackoff.initialMs
    if (due > now) {
      this.arm(due)
      return
    }
    this.metadataWanted = true
    this.metadataAskedAt = now
    this.port.metadata
      .refreshTracked()
      .catch(() => {})
      .finally(() => {
        this.metadataWanted = false
        this.scheduleDrain()
      })
  }

  private async send(r: PendingRequest): Promise<void> {
    this.inFlightRequests++
    try {
      const conn = await this.port.connection(r.nodeId)
      const version = produceVersion(conn, r, this.port.metadata)
      const topicData = produceTopicData(r, version, this.port.metadata)
      const body = { transactionalId: null, acks: r.acks, timeoutMs: this.settings.requestTimeoutMs, topicData }
      if (r.acks === 0) {
        // The batches are the producer's, unchanged until the request settles: written from where they are.
        await conn.sendWithoutResponse(ApiKey.Produce, version, body, { referenceRecords: true })
        for (const b of r.batches) this.complete(b, undefined)
      } else {
        const res = await conn.request(ApiKey.Produce, version, body, { referenceRecords: true })
        this.onResponse(r, res, version, conn)
      }
    } catch (err) {
      // No answer (connection lost, request timed out, ...): the whole request may be retried. The broker may
      // have written it: at least once.
      const error = err as Error
      const retriable = !(err instanceof InvalidRequestError || err instanceof ClientClosedError)
      for (const b of r.batches) this.retryOrFail(b, error, retriable, true)
    } finally {
      this.inFlightRequests--
      const n = (this.inFlightByNode.get(r.nodeId) ?? 1) - 1
      if (n <= 0) this.inFlightByNode.delete(r.nodeId)
      else this.inFlightByNode.set(r.nodeId, n)
      this.scheduleDrain()
    }
  }

  private onResponse(r: PendingRequest, res: ProduceResponse, version: number, conn: BrokerConnection): void {
    const batches = r.byResponseKey!
    for (const t of res.responses) {
      const topicKey = version >= 13 ? t.topicId : t.name
      for (const p of t.partitionResponses) {
        const key = `${topicKey}:${p.index}`
        const b = batches.get(key)
        if (b === undefined) continue
        batches.delete(key)
        if (p.errorCode === 0) {
          this.complete(b, p.baseOffset)
          continue
        }
        const err = new KafkaResponseError(
          p.errorCode,
          `Produce to ${b.queue.topic}-${b.queue.partition}`,
          p.errorMessage ?? p.recordErrors?.[0]?.batchIndexErrorMessage,
        )
        this.retryOrFail(b, err, isRetriable(p.errorCode), invalidatesMetadata(p.errorCode))
      }
    }
    for (const b of batches.values())
      this.retryOrFail(
        b,
        new UpstreamProtocolError(conn.target, `a Produce response without ${b.queue.topic}-${b.queue.partition}`),
        true,
        false,
      )
  }

  private retryOrFail(b: Batch, err: Error, retriable: boolean, staleMetadata: boolean): void {
    const now = Date.now()
    b.attempts++
    b.lastError = err
    b.closed = true
    b.retryAt = now + this.settings.retryBackoff.delay(b.attempts)
    const q = b.queue
    if (!retriable || this.closed) {
      this.fail(b, retriable ? new ClientClosedError() : err)
      return
    }
    if (b.retryAt >= b.createdAt + this.settings.deliveryTimeoutMs) {
      this.fail(b, new DeliveryTimeoutError(q.topic, q.partition, this.settings.deliveryTimeoutMs, err))
      return
    }
    this.port.log.debug(
      { topic: q.topic, partition: q.partition, attempt: b.attempts, err: err.message },
      'upstream produce will be retried',
    )
    if (staleMetadata) this.refreshMetadata()
    // Back in its queue, ahead of batches created after it.
    let i = 0
    while (i < q.batches.length && q.batches[i]!.createdAt <= b.createdAt) i++
    q.batches.splice(i, 0, b)
    this.arm(b.retryAt)
  }

  private complete(b: Batch, baseOffset: bigint | undefined): void {
    this.buffered -= b.bytes
    resolveBatch(b, baseOffset)
    this.checkFlushers()
  }

  private fail(b: Batch, err: Error): void {
    this.buffered -= b.bytes
    rejectBatch(b, err)
    this.checkFlushers()
  }

  private checkFlushers(): void {
    if (this.flushers.length === 0 || this.buffered > 0 || this.inFlightRequests > 0) return
    const done = this.flushers
    this.flushers = []
    for (const resolve of done) resolve()
  }
}
