/**
 * What the soak's producers were told was stored, and what the brokers hold at the end. Every verified record's
 * key is "<stream>:<seq>" (a stream is one producer instance; a producer restarted after a kill is a new stream of
 * the same producer), so a record read back names its own entry. Per record the ledger keeps three bytes: whether
 * it was acknowledged, the partition it was acknowledged in, and how many copies the brokers hold. That is what
 * lets a 30-minute run check millions of records one by one instead of by totals only.
 */
import { crc32 } from 'node:zlib'

const NOT_ACKED = 0
const ACKED = 1
const FAILED = 2

/** Count of records and a checksum over their keys (sum of CRC-32s mod 2^32): equal sets give equal pairs. */
export interface CountAndChecksum {
  count: number
  checksum: number
}

export interface StreamTotals {
  stream: string
  producer: string
  acked: number
  /** Sends the client reported as given up on: not acknowledged, may or may not be stored. */
  failed: number
  /** Acknowledged records found at least once. */
  found: number
  /** Acknowledged records found nowhere. */
  lost: number
  /** Acknowledged records found more than once (each counted once, however many extra copies). */
  duplicated: number
  /** Acknowledged records found in another partition than the one acknowledged. */
  misplaced: number
  /** Records never acknowledged that are in the log anyway (a send whose answer was lost): not a fault. */
  unackedFound: number
}

export interface PartitionTotals {
  partition: number
  expected: CountAndChecksum
  /** Over the acknowledged records found in this partition, each copy counted. */
  found: CountAndChecksum
  lost: number
  duplicated: number
  /** Highest offset of an acknowledged record here; -1 when none. Consumers must have committed past it. */
  maxAckedOffset: number
}

class StreamLedger {
  readonly #name: string
  readonly producer: string
  #state = new Uint8Array(1024)
  #partition = new Uint8Array(1024)
  #copies = new Uint8Array(1024)
  #highest = -1
  acked = 0
  failed = 0
  misplaced = 0

  constructor(name: string, producer: string) {
    this.#name = name
    this.producer = producer
  }

  get name(): string {
    return this.#name
  }

  ack(seq: number, partition: number): boolean {
    this.#ensure(seq)
    if (this.#state[seq] === ACKED) return false
    this.#state[seq] = ACKED
    this.#partition[seq] = partition
    this.acked++
    return true
  }

  fail(seq: number): void {
    this.#ensure(seq)
    if (this.#state[seq] !== NOT_ACKED) return
    this.#state[seq] = FAILED
    this.failed++
  }

  isAcked(seq: number): boolean {
    return seq <= this.#highest && this.#state[seq] === ACKED
  }

  /** One copy of record `seq` was read from `partition`. */
  found(seq: number, partition: number): void {
    this.#ensure(seq)
    if (this.#copies[seq]! < 255) this.#copies[seq]!++
    if (this.#state[seq] === ACKED && this.#partition[seq] !== partition) this.misplaced++
  }

  totals(): StreamTotals {
    let found = 0
    let lost = 0
    let duplicated = 0
    let unackedFound = 0
    for (let seq = 0; seq <= this.#highest; seq++) {
      const copies = this.#copies[seq]!
      if (this.#state[seq] !== ACKED) {
        if (copies > 0) unackedFound++
        continue
      }
      if (copies === 0) lost++
      else found++
      if (copies > 1) duplicated++
    }
    return {
      stream: this.#name,
      producer: this.producer,
      acked: this.acked,
      failed: this.failed,
      found,
      lost,
      duplicated,
      misplaced: this.misplaced,
      unackedFound,
    }
  }

  /** Calls `visit` with (seq, partition, copies) for every acknowledged record. */
  forEachAcked(visit: (seq: number, partition: number, copies: number) => void): void {
    for (let seq = 0; seq <= this.#highest; seq++) {
      if (this.#state[seq] === ACKED) visit(seq, this.#partition[seq]!, this.#copies[seq]!)
    }
  }

  #ensure(seq: number): void {
    if (!Number.isInteger(seq) || seq < 0) throw new Error(`stream ${this.#name}: bad sequence number ${seq}`)
    if (seq >= this.#state.length) {
      const size = Math.max(seq + 1, this.#state.length * 2)
      this.#state = grow(this.#state, size)
      this.#partition = grow(this.#partition, size)
      this.#copies = grow(this.#copies, size)
    }
    if (seq > this.#highest) this.#highest = seq
  }
}

function grow(array: Uint8Array, size: number): Uint8Array<ArrayBuffer> {
  const bigger = new Uint8Array(size)
  bigger.set(array)
  return bigger
}

export function recordKey(stream: string, seq: number): string {
  return `${stream}:${seq}`
}

function keyChecksum(stream: string, seq: number): number {
  return crc32(recordKey(stream, seq))
}

export class AckLedger {
  readonly #streams = new Map<string, StreamLedger>()
  readonly #partitions: number
  /** Keys read back that name no stream of this run, or are not "<stream>:<seq>" at all. */
  foreignRecords = 0

  constructor(partitions: number) {
    this.#partitions = partitions
  }

  /** Registers a stream (a producer instance); its records' keys start with `stream:`. */
  stream(stream: string, producer: string): void {
    if (stream.includes(':')) throw new Error(`stream names must not contain ':' (${stream})`)
    if (!this.#streams.has(stream)) this.#streams.set(stream, new StreamLedger(stream, producer))
  }

  ack(stream: string, seq: number, partition: number): void {
    if (partition < 0 || partition >= this.#partitions)
      throw new Error(`stream ${stream}: record ${seq} acknowledged in partition ${partition}`)
    this.#get(stream).ack(seq, partition)
  }

  fail(stream: string, seq: number): void {
    this.#get(stream).fail(seq)
  }

  /** Acknowledged records of a producer (all its streams) so far. */
  ackedBy(producer: string): number {
    let n = 0
    for (const s of this.#streams.values()) if (s.producer === producer) n += s.acked
    return n
  }

  /** Acknowledged records of one stream so far. */
  ackedIn(stream: string): number {
    return this.#streams.get(stream)?.acked ?? 0
  }

  get totalAcked(): number {
    let n = 0
    for (const s of this.#streams.values()) n += s.acked
    return n
  }

  /** One record read back from the brokers. */
  readBack(partition: number, key: string): void {
    const colon = key.lastIndexOf(':')
    const stream = colon > 0 ? this.#streams.get(key.slice(0, colon)) : undefined
    const seq = Number(key.slice(colon + 1))
    if (!stream || !Number.isInteger(seq) || seq < 0) {
      this.foreignRecords++
      return
    }
    stream.found(seq, partition)
  }

  streamTotals(): StreamTotals[] {
    return [...this.#streams.values()].map((s) => s.totals())
  }

  /**
   * Per partition: count and checksum of the acknowledged records (expected) against those of the acknowledged
   * records read back (found, each copy counted), with `maxOffsets` the highest offset at which an acknowledged
   * record was read back in each partition.
   */
  partitionTotals(maxOffsets: ReadonlyMap<number, number>): PartitionTotals[] {
    const rows: PartitionTotals[] = Array.from({ length: this.#partitions }, (_, partition) => ({
      partition,
      expected: { count: 0, checksum: 0 },
      found: { count: 0, checksum: 0 },
      lost: 0,
      duplicated: 0,
      maxAckedOffset: maxOffsets.get(partition) ?? -1,
    }))
    for (const s of this.#streams.values()) {
      s.forEachAcked((seq, partition, copies) => {
        const row = rows[partition]!
        const sum = keyChecksum(s.name, seq)
        row.expected.count++
        row.expected.checksum = (row.expected.checksum + sum) >>> 0
        // A copy in the wrong partition is counted where it was acknowledged: misplaced records are reported per
        // stream, and this keeps the per-partition figures about presence.
        for (let i = 0; i < copies; i++) row.found.checksum = (row.found.checksum + sum) >>> 0
        row.found.count += copies
        if (copies === 0) row.lost++
        if (copies > 1) row.duplicated++
      })
    }
    return rows
  }

  /** Whether (stream, seq) was acknowledged, for callers that track offsets of acknowledged records. */
  isAcked(key: string): boolean {
    const colon = key.lastIndexOf(':')
    const stream = colon > 0 ? this.#streams.get(key.slice(0, colon)) : undefined
    const seq = Number(key.slice(colon + 1))
    return stream !== undefined && Number.isInteger(seq) && stream.isAcked(seq)
  }

  #get(stream: string): StreamLedger {
    const s = this.#streams.get(stream)
    if (!s) throw new Error(`unknown stream ${stream}`)
    return s
  }
}
