import type { Logger } from 'pino'
import type { FilterCounter, FilterGauge, FilterSetupContext, OwnRecord } from '../../src/pipeline/filter-api.js'
import { Arena } from './arena.js'
import { type Capture, type CaptureFields, declaredRecords, newCapture } from './capture.js'
import type { Direction, TapFilterConfig, TapSpec } from './config.js'
import { clusterProducer, Destination, type DestinationHealth, upstreamProducer } from './destinations.js'
import { type Extracted, type ExtractionResult, extractRecords } from './extract.js'
import { ProvenanceCache } from './provenance-cache.js'
import { TapBudget } from './queue.js'
import { copyRecords, type FastTap } from './record-copies.js'
import { ScratchPool } from './scratch-pool.js'
import { TapBatchBuilder } from './tap-batch.js'
import { ActiveTap, TapSet } from './taps.js'

/**
 * The shared part of the tap filter, one per sidecar, carried across hot reloads: the taps running now (from the
 * file and from the admin endpoint), the destinations, the budget, and the worker that turns captures into tap
 * records and produces them.
 *
 * The worker runs in slices of a few milliseconds (setImmediate between them), so that a burst of captures never
 * holds the event loop, and the clients' traffic, for long: the tap falls behind instead, its budget fills, and
 * further copies are dropped and counted.
 */

/** How long one slice of the worker may run before it lets the event loop turn. */
const SLICE_MS = 4
/** Records per produce() call at most (one failure loses at most these). */
const RECORDS_PER_CALL = 500
const DEFAULT_CALL_BYTES = 16 * 1024
/**
 * Bytes of a tap batch the tap builds itself (record-copies.ts). Larger than a producer's usual 16 KiB: each batch
 * costs a promise chain, a CRC call and a partition entry in a Produce request whatever its size, and a Produce
 * request carries one batch per partition, so larger batches make fewer requests (fewer socket writes) for the
 * same records. Within a quarter of an arena chunk, so that batches share chunks, and far below the broker's
 * default max.message.bytes (1 MiB). All batches are sent at the end of each worker slice, full or not.
 */
const TAP_BATCH_BYTES = 64 * 1024
/** How long close() waits for copies already taken to be handed to their producers. */
const CLOSE_IDLE_MS = 2_000
/** Topic ids whose names are remembered (Produce v13, Fetch v13+ name topics by id). */
const MAX_NAMES = 10_000

export type Outcome = 'tapped' | 'dropped' | 'failed'

/** The copies' memory: chunks of 1 MiB, as many kept for reuse as the default queue fills. */
const ARENA_CHUNK_BYTES = 1024 * 1024
const ARENA_KEEP_FREE = 8
/**
 * Free tap batch scratches kept (2 MiB): a quarter of a default queue's worth of full batches. Batches in flight
 * beyond it come from new buffers, which the garbage collector takes back.
 */
const SCRATCH_KEEP_FREE = 32

export interface TapCounts {
  records: Record<Outcome, number>
  bytes: Record<Outcome, number>
}

const zeroCounts = (): TapCounts => ({
  records: { tapped: 0, dropped: 0, failed: 0 },
  bytes: { tapped: 0, dropped: 0, failed: 0 },
})

/** Failures of produce() before any record was queued: nothing in the producer points into the copies. */
const NEVER_QUEUED = new Set([
  'KSC_ERR_UPSTREAM_CLIENT_BUFFER_FULL',
  'KSC_ERR_UPSTREAM_CLIENT_INVALID_REQUEST',
  'KSC_ERR_UPSTREAM_CLIENT_UNREACHABLE',
  'KSC_ERR_UPSTREAM_CLIENT_UNKNOWN_TOPIC',
  'KSC_ERR_UPSTREAM_CLIENT_SHUT_DOWN',
  'KSC_ERR_TAP_DESTINATION',
])

function neverQueued(err: unknown): boolean {
  return NEVER_QUEUED.has((err as { code?: string } | undefined)?.code ?? '')
}

export class TapAdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

interface Outbox {
  readonly tap: ActiveTap
  /** About this many bytes per produce() call: the destination producer's batch size. */
  readonly callBytes: number
  records: OwnRecord[]
  bytes: number
  captures: Capture[]
  /** Tap batches built from encoded records (record-copies.ts), by destination partition (-1: keyless). */
  readonly builders: Map<number, TapBatchBuilder>
}

export class TapEngine {
  readonly taps = new TapSet()
  private config: TapFilterConfig
  private setup: FilterSetupContext
  private log: Logger
  private readonly budget: TapBudget
  private readonly arena = new Arena(ARENA_CHUNK_BYTES, ARENA_KEEP_FREE)
  private readonly scratch = new ScratchPool(TAP_BATCH_BYTES, SCRATCH_KEEP_FREE)
  private readonly destinations = new Map<string, Destination>()
  private readonly adminTaps = new Map<string, { tap: ActiveTap; cancel: () => void }>()
  private configTaps: ActiveTap[] = []
  private readonly names = new Map<string, string>()
  private readonly counts = new Map<string, TapCounts>()
  private readonly ready: Capture[] = []
  private readonly outstanding = new Map<Capture, number>()
  private readonly provenance = new ProvenanceCache()
  /** Builders (and their scratch buffers) kept between slices. */
  private readonly spareBuilders: TapBatchBuilder[] = []
  private scheduled = false
  /** Captures waiting for their topic's name. */
  private resolving = 0
  private closed = false
  private recordsCounter!: FilterCounter
  private bytesCounter!: FilterCounter
  private queueBytes!: FilterGauge
  private queueRecords!: FilterGauge

  constructor(
    config: TapFilterConfig,
    setup: FilterSetupContext,
    /** For tests: how the worker's next slice is scheduled, and the sampler's randomness. */
    private readonly hooks: { schedule?: (fn: () => void) => void; random?: () => number } = {},
  ) {
    this.config = config
    this.setup = setup
    this.log = setup.log
    this.budget = new TapBudget(config.queue.maxBytes, config.queue.maxRecords, (bytes, records) => {
      this.queueBytes.set({}, bytes)
      this.queueRecords.set({}, records)
    })
    this.apply(config, setup)
  }

  /** A new configuration (hot reload): new file taps and destinations; admin taps and the queue's contents stay. */
  reconfigure(config: TapFilterConfig, setup: FilterSetupContext): void {
    this.apply(config, setup)
  }

  private apply(config: TapFilterConfig, setup: FilterSetupContext): void {
    this.config = config
    this.setup = setup
    this.log = setup.log
    const m = setup.metrics
    this.recordsCounter = m.counter(
      'records_total',
      'Records a tap copied (tapped), dropped (queue full) or failed to produce',
      ['tap', 'outcome'],
    )
    this.bytesCounter = m.counter(
      'bytes_total',
      'Key and value bytes of the records a tap tapped, dropped or failed to produce',
      ['tap', 'outcome'],
    )
    this.queueBytes = m.gauge('queue_bytes', 'Bytes the tap holds: copies waiting to be produced or being produced')
    this.queueRecords = m.gauge(
      'queue_records',
      'Records the tap holds: copies waiting to be produced or being produced',
    )
    this.budget.resize(config.queue.maxBytes, config.queue.maxRecords)
    this.updateDestinations(config, setup)
    const now = setup.clock.now()
    const previous = new Map(this.configTaps.map((t) => [t.name, t]))
    this.configTaps = config.taps.map((spec) => {
      const before = previous.get(spec.name)
      // An unchanged tap keeps running as it was (its start time, its sampler); a changed one starts afresh.
      if (before !== undefined && JSON.stringify(before.spec) === JSON.stringify(spec)) return before
      return new ActiveTap(spec, 'config', now, undefined, this.hooks.random)
    })
    for (const [name, { tap, cancel }] of this.adminTaps) {
      const clash = config.taps.some((t) => t.name === name)
      const lost = tap.spec.cluster !== undefined && config.clusters[tap.spec.cluster] === undefined
      if (!clash && !lost) continue
      cancel()
      this.adminTaps.delete(name)
      tap.stopped = true
      this.log.warn(
        { tap: name },
        clash
          ? `admin tap ${name} stopped: the configuration now has a tap of that name`
          : `admin tap ${name} stopped: its cluster ${tap.spec.cluster} is no longer configured`,
      )
    }
    this.publish()
  }

  private updateDestinations(config: TapFilterConfig, setup: FilterSetupContext): void {
    // The upstream cluster: the setup service of the newest configuration (the same client in a running sidecar).
    this.destinations.set(
      'upstream',
      new Destination('upstream', upstreamProducer(setup.upstream), setup.log, undefined),
    )
    for (const [name, dest] of this.destinations) {
      if (name === 'upstream') continue
      const spec = config.clusters[name]
      if (spec !== undefined && JSON.stringify(spec) === JSON.stringify(dest.spec)) continue
      this.destinations.delete(name)
      void dest.close().catch(() => {})
    }
    for (const [name, spec] of Object.entries(config.clusters)) {
      if (this.destinations.has(name)) continue
      const producer = clusterProducer(name, spec, setup.configDir, setup.log)
      this.destinations.set(name, new Destination(name, producer, setup.log, spec))
    }
  }

  private publish(): void {
    const taps = [...this.configTaps, ...[...this.adminTaps.values()].map((a) => a.tap)]
    for (const t of this.taps.all) if (!taps.includes(t)) t.stopped = true
    this.taps.replace(taps)
  }

  get isClosed(): boolean {
    return this.closed
  }

  get instance(): string {
    return this.config.instance
  }

  get control(): TapFilterConfig['control'] {
    return this.config.control
  }

  get clusterNames(): string[] {
    return Object.keys(this.config.clusters)
  }

  /** Whether messages of this direction must be decoded for taps: any tap copies it, or one may be started at run time. */
  mayTap(direction: Direction): boolean {
    return this.config.control.enabled || this.taps.any(direction)
  }

  // ------------------------------------------------------------------ admin taps

  /** Starts (or restarts, with a new selection and time limit) a tap of the admin endpoint's. */
  startAdminTap(spec: TapSpec): ActiveTap {
    if (this.closed) throw new TapAdminError(404, 'the tap filter is no longer configured')
    if (this.configTaps.some((t) => t.name === spec.name)) {
      throw new TapAdminError(409, `tap ${spec.name} is defined in the configuration file; change it there`)
    }
    const now = this.setup.clock.now()
    const durationMs = spec.durationMs ?? this.config.control.maxDurationMs
    const tap = new ActiveTap(spec, 'admin', now, now + durationMs, this.hooks.random)
    const previous = this.adminTaps.get(spec.name)
    previous?.cancel()
    if (previous !== undefined) previous.tap.stopped = true
    const cancel = this.setup.clock.setTimer(durationMs, () => {
      if (this.adminTaps.get(spec.name)?.tap !== tap) return
      this.adminTaps.delete(spec.name)
      this.publish()
      this.log.info({ tap: spec.name, durationMs }, `tap ${spec.name} stopped: its time limit passed`)
    })
    this.adminTaps.set(spec.name, { tap, cancel })
    this.publish()
    this.log.info(
      { tap: spec.name, topic: spec.topic, cluster: spec.cluster ?? 'upstream', match: spec.match, durationMs },
      `tap ${spec.name} started from the admin endpoint`,
    )
    return tap
  }

  stopAdminTap(name: string): ActiveTap {
    const entry = this.adminTaps.get(name)
    if (entry === undefined) {
      if (this.configTaps.some((t) => t.name === name)) {
        throw new TapAdminError(409, `tap ${name} is defined in the configuration file; remove it there`)
      }
      throw new TapAdminError(404, `no tap ${name} is running`)
    }
    entry.cancel()
    this.adminTaps.delete(name)
    this.publish()
    this.log.info({ tap: name }, `tap ${name} stopped from the admin endpoint`)
    return entry.tap
  }

  /** Taps, counts, queue and destinations, for the admin endpoint. */
  describe(): Record<string, unknown> {
    return {
      instance: this.config.instance,
      taps: this.taps.all.map((t) => ({ ...t.describe(), counts: this.countsOf(t.name) })),
      queue: {
        bytes: this.budget.bytes,
        records: this.budget.records,
        maxBytes: this.config.queue.maxBytes,
        maxRecords: this.config.queue.maxRecords,
      },
      destinations: this.health(),
    }
  }

  health(): DestinationHealth[] {
    const used = new Set(this.taps.all.map((t) => t.spec.cluster ?? 'upstream'))
    return [...this.destinations.values()]
      .filter((d) => d.name !== 'upstream' || used.has('upstream'))
      .map((d) => d.health())
  }

  countsOf(tap: string): TapCounts {
    let c = this.counts.get(tap)
    if (c === undefined) {
      c = zeroCounts()
      this.counts.set(tap, c)
    }
    return c
  }

  private count(tap: ActiveTap, outcome: Outcome, records: number, bytes: number): void {
    if (records === 0 && bytes === 0) return
    const c = this.countsOf(tap.name)
    c.records[outcome] += records
    c.bytes[outcome] += bytes
    this.recordsCounter.inc({ tap: tap.name, outcome }, records)
    if (bytes > 0) this.bytesCounter.inc({ tap: tap.name, outcome }, bytes)
  }

  // ------------------------------------------------------------------ selection and captures

  /** The taps of this direction whose connection conditions this client meets (per-connection choices cache it). */
  tapsFor(direction: Direction, clientId: string | null, principal: string | undefined): ActiveTap[] {
    return this.taps.all.filter(
      (t) => t.selection.wants(direction) && t.selection.connectionMatches(clientId, principal),
    )
  }

  /** Of `taps`, those selecting this topic; never a tap's own destination topic. */
  forTopic(taps: readonly ActiveTap[], topic: string): ActiveTap[] {
    if (this.taps.isDestination(topic)) return []
    return taps.filter((t) => t.selection.topicMatches(topic))
  }

  nameOf(topicId: string): string | undefined {
    return this.names.get(topicId)
  }

  /**
   * Copies one partition's records for `taps` when the budget has room; otherwise counts them as dropped for each
   * tap (its expected share, with sampling) and returns undefined.
   */
  capture(fields: CaptureFields): Capture | undefined {
    let records: number
    try {
      records = declaredRecords(fields.view)
    } catch {
      return undefined // a malformed records field: the broker rejects it (produce) or the client does (fetch)
    }
    if (records === 0) return undefined
    if (this.closed || !this.budget.take(fields.view.length, records)) {
      for (const t of fields.taps) {
        this.count(t, 'dropped', t.selection.share(records), t.selection.share(fields.view.length))
      }
      return undefined
    }
    return newCapture(fields, records, this.arena)
  }

  /** A capture is done with: produced, or not to be after all (its connection closed first, no tap wants it now). */
  discard(c: Capture): void {
    if (c.released) return
    c.released = true
    this.budget.release(c.heldBytes, c.heldRecords)
    this.arena.release(c.chunk)
  }

  /** A capture complete with what the answer said: named (if only its id was known), then queued for the worker. */
  enqueue(c: Capture): void {
    if (c.topic !== undefined) {
      this.ready.push(c)
      this.schedule()
      return
    }
    const id = c.topicId!
    this.resolving++
    c.ctx.topicNames([id]).then(
      (names) => {
        this.resolving--
        const name = names.get(id)
        if (name !== undefined && this.names.size < MAX_NAMES) this.names.set(id, name)
        c.topic = name
        c.taps = name === undefined ? [] : this.forTopic(c.taps, name)
        if (c.taps.length === 0) {
          this.discard(c)
          return
        }
        this.ready.push(c)
        this.schedule()
      },
      () => {
        this.resolving--
        this.discard(c) // the connection closed: its name cannot be asked any more
      },
    )
  }

  // ------------------------------------------------------------------ the worker

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    const run = () => this.runSlice()
    if (this.hooks.schedule !== undefined) this.hooks.schedule(run)
    else setImmediate(run)
  }

  private runSlice(): void {
    this.scheduled = false
    const deadline = performance.now() + SLICE_MS
    const outboxes = new Map<ActiveTap, Outbox>()
    const processed: Capture[] = []
    while (this.ready.length > 0) {
      const c = this.ready.shift()!
      processed.push(c)
      this.extract(c, outboxes)
      if (performance.now() >= deadline) break
    }
    for (const box of outboxes.values()) {
      this.send(box)
      for (const b of box.builders.values()) {
        if (b.count > 0) this.sendBatch(box.tap, b)
        this.spareBuilders.push(b)
      }
    }
    // Captures that yielded nothing to produce (all sampled out, control batches) are done now.
    for (const c of processed) if (!this.outstanding.has(c)) this.discard(c)
    if (this.ready.length > 0) this.schedule()
  }

  private outboxFor(outboxes: Map<ActiveTap, Outbox>, tap: ActiveTap): Outbox {
    let box = outboxes.get(tap)
    if (box === undefined) {
      const callBytes = this.destinations.get(tap.spec.cluster ?? 'upstream')?.batchBytes ?? DEFAULT_CALL_BYTES
      box = { tap, records: [], bytes: 0, captures: [], callBytes, builders: new Map() }
      outboxes.set(tap, box)
    }
    return box
  }

  /**
   * Which of the capture's taps copy its records from their bytes (record-copies.ts): those that copy records as
   * they are, to a destination that takes tap batches and whose topic's partitions are known (the first records to
   * a topic go the decoding way, whose produce() asks for them). Redaction and metadata-only taps decode.
   */
  private split(c: Capture): { fast: FastTap[]; slow: ActiveTap[] } {
    const fast: FastTap[] = []
    const slow: ActiveTap[] = []
    for (const tap of c.taps) {
      const partitions =
        tap.spec.metadataOnly || tap.redactor.active
          ? undefined
          : this.destinations.get(tap.spec.cluster ?? 'upstream')?.batchPartitions(tap.spec.topic)
      if (partitions === undefined || partitions <= 0) slow.push(tap)
      else fast.push({ tap, partitions })
    }
    return { fast, slow }
  }

  private extract(c: Capture, outboxes: Map<ActiveTap, Outbox>): void {
    const { fast, slow } = this.split(c)
    if (fast.length > 0) {
      // The outbox of the tap of the last copy, remembered: place() is called for every copy.
      let lastTap: ActiveTap | undefined
      let lastBox: Outbox | undefined
      const result = copyRecords(
        c,
        fast,
        this.config.instance,
        (tap, partition, need) => {
          if (tap !== lastTap || lastBox === undefined) {
            lastTap = tap
            lastBox = this.outboxFor(outboxes, tap)
          }
          return this.builderFor(lastBox, partition, need)
        },
        this.provenance,
      )
      this.noteUnreadable(
        c,
        fast.map((f) => f.tap),
        result,
      )
    }
    if (slow.length === 0) return
    const result = extractRecords(
      c,
      this.config.instance,
      (e: Extracted) => {
        const box = this.outboxFor(outboxes, e.tap)
        // A call's keyless records go to one partition (the producer's round robin is per call), and a Produce request
        // carries one batch per partition: calls of about a batch each spread over the topic's partitions, so every
        // request carries a batch for each of them instead of one.
        if (box.records.length >= RECORDS_PER_CALL || box.bytes >= box.callBytes) {
          this.send(box)
          box.records = []
          box.bytes = 0
          box.captures = []
        }
        box.records.push(e.record)
        box.bytes += e.bytes
        if (box.captures[box.captures.length - 1] !== c) box.captures.push(c)
      },
      slow,
    )
    if (result.decompressedBytes > 0) {
      // The copies point into the decompressed records until they are produced: that memory is held too.
      this.budget.force(result.decompressedBytes, 0)
      c.heldBytes += result.decompressedBytes
    }
    this.noteUnreadable(c, slow, result)
  }

  private noteUnreadable(c: Capture, taps: readonly ActiveTap[], result: ExtractionResult): void {
    if (result.unreadable === 0) return
    for (const t of taps) this.count(t, 'failed', t.selection.share(result.unreadable), 0)
    this.log.debug({ reason: result.unreadableReason, topic: c.topic }, 'tap could not read some records')
  }

  /** The box's tap batch for `partition`, with room for a copy of `need` bytes (a full one is sent first). */
  private builderFor(box: Outbox, partition: number | undefined, need: number): TapBatchBuilder {
    const key = partition ?? -1
    let b = box.builders.get(key)
    if (b === undefined) {
      b = this.spareBuilders.pop() ?? new TapBatchBuilder(partition, TAP_BATCH_BYTES)
      b.reset(partition, TAP_BATCH_BYTES)
      box.builders.set(key, b)
    } else if (b.wouldOverflow(need)) {
      this.sendBatch(box.tap, b)
      b.reset(partition, TAP_BATCH_BYTES)
    }
    return b
  }

  private send(box: Outbox): void {
    if (box.records.length === 0) return
    const { tap, records, bytes, captures } = box
    const dest = this.destinations.get(tap.spec.cluster ?? 'upstream')
    const settings = { acks: tap.spec.acks, compression: tap.spec.compression }
    this.produced(tap, dest, records.length, bytes, captures, undefined, () =>
      dest!.produce(tap.spec.topic, records, settings),
    )
  }

  /**
   * Sends a built tap batch, from the builder's scratch itself when the batch fills at least half of it (the builder
   * takes a fresh scratch), else copied into the arena (the scratch is reused at once): see scratch-pool.ts.
   */
  private sendBatch(tap: ActiveTap, b: TapBatchBuilder): void {
    const batch = b.finish()
    let buf: Buffer
    let release: () => void
    if (b.capacity === this.scratch.size && batch.length * 2 >= b.capacity) {
      buf = batch
      const scratch = b.handOver(this.scratch.take())
      release = () => this.scratch.give(scratch)
    } else {
      const slice = this.arena.copy(batch)
      buf = slice.buf
      release = () => this.arena.release(slice.chunk)
    }
    const dest = this.destinations.get(tap.spec.cluster ?? 'upstream')
    const settings = { acks: tap.spec.acks, compression: tap.spec.compression }
    const partition = b.partition
    this.produced(tap, dest, b.count, b.keyValueBytes, [...b.captures], release, () =>
      dest!.produceBatch(tap.spec.topic, partition, buf, settings),
    )
  }

  /**
   * Produces (after creating the topic, when the tap asks for it) and, once that settles, counts the outcome and lets
   * go of the captures (and, through `releaseBatch`, the memory of a tap batch) the copies came from.
   */
  private produced(
    tap: ActiveTap,
    dest: Destination | undefined,
    records: number,
    bytes: number,
    captures: readonly Capture[],
    releaseBatch: (() => void) | undefined,
    produce: () => Promise<unknown>,
  ): void {
    for (const c of captures) this.outstanding.set(c, (this.outstanding.get(c) ?? 0) + 1)
    const sent =
      dest === undefined
        ? Promise.reject(new Error(`cluster ${tap.spec.cluster} is no longer configured`))
        : tap.spec.createTopic !== undefined
          ? dest.ensureTopic(tap.spec.topic, tap.spec.createTopic).then(produce)
          : produce()
    let holdMs = 0
    sent
      .then(
        () => this.count(tap, 'tapped', records, bytes),
        (err: unknown) => {
          this.count(tap, 'failed', records, bytes)
          holdMs = dest === undefined || neverQueued(err) ? 0 : dest.deliveryTimeoutMs
        },
      )
      .finally(() => {
        // A produce call fails at its first failed batch while its other batches may still wait in the producer,
        // pointing into these copies: they (and their room in the budget) stay until the producer must have let
        // go of them, at its delivery timeout.
        const release = () => {
          releaseBatch?.()
          for (const c of doneWith) this.discard(c)
        }
        const doneWith: Capture[] = []
        for (const c of captures) {
          const left = (this.outstanding.get(c) ?? 1) - 1
          if (left > 0) {
            this.outstanding.set(c, left)
            continue
          }
          this.outstanding.delete(c)
          doneWith.push(c)
        }
        if (holdMs === 0) release()
        else this.setup.clock.setTimer(holdMs, release)
      })
  }

  /** Resolves once nothing is waiting to be extracted or being produced (tests; a bounded wait at shutdown). */
  async whenIdle(): Promise<void> {
    while (this.ready.length > 0 || this.outstanding.size > 0 || this.scheduled || this.resolving > 0) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  /** Stops the admin taps' timers and closes the tap's own clients (records still queued get a bounded flush). */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const { cancel } of this.adminTaps.values()) cancel()
    this.adminTaps.clear()
    this.configTaps = []
    this.publish()
    // Copies already taken get a short, bounded chance to reach their producers, which flush them as they close.
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.whenIdle(), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_IDLE_MS)))])
    clearTimeout(timer)
    await Promise.all([...this.destinations.values()].map((d) => d.close().catch(() => {})))
  }
}
