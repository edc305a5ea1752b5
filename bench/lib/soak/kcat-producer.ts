/**
 * The soak's librdkafka producer: kcat, one process per batch of records, all of a batch to one partition (-p),
 * idempotent with acks=all. kcat reports no per-record acknowledgement, but it exits 0 only when every record was
 * delivered: a batch is acknowledged as a whole on exit 0 and counts as failed otherwise (kcat also gives up on its
 * own once every broker connection is down, as during a sidecar handover: its records are then not acknowledged,
 * which is kcat's behaviour, not a loss). A process per batch also opens and closes connections through the sidecar for
 * the whole run, which is where a descriptor leak would show.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { runKcat } from '../../../test/harness/kcat.js'
import type { AckLedger } from './ledger.js'
import { recordKey } from './ledger.js'

export interface KcatProducerOptions {
  bootstrap: string
  topic: string
  partitions: number
  recordsPerSec: number
  batchSize: number
  valueBytes: number
  ledger: AckLedger
  log: (message: string) => void
}

export class KcatSoakProducer {
  readonly name = 'kcat'
  readonly stream = 'kcat#1'
  readonly #o: KcatProducerOptions
  #running: Promise<void> | undefined
  #stopping = false
  batches = 0
  failedBatches = 0
  lastError = ''

  constructor(options: KcatProducerOptions) {
    this.#o = options
    options.ledger.stream(this.stream, this.name)
  }

  start(): void {
    this.#running = this.#loop()
  }

  async stop(): Promise<void> {
    this.#stopping = true
    await this.#running
  }

  async #loop(): Promise<void> {
    const o = this.#o
    const padding = 'x'.repeat(o.valueBytes)
    const intervalMs = (1000 * o.batchSize) / o.recordsPerSec
    let seq = 0
    let next = Date.now()
    while (!this.#stopping) {
      const wait = next - Date.now()
      if (wait > 0) await sleep(wait)
      next = Math.max(next, Date.now() - intervalMs) + intervalMs
      const partition = this.batches++ % o.partitions
      const seqs = Array.from({ length: o.batchSize }, () => seq++)
      const input = seqs.map((s) => `${recordKey(this.stream, s)}\t${recordKey(this.stream, s)}|${padding}\n`).join('')
      const result = await runKcat(
        [
          ...['-P', '-b', o.bootstrap, '-t', o.topic, '-p', String(partition), '-K', '\t'],
          ...['-X', 'enable.idempotence=true', '-X', 'acks=all', '-X', 'client.id=soak-kcat'],
          // Delivery retried for up to two minutes: a broker restart should not fail a batch.
          ...['-X', 'message.timeout.ms=120000'],
        ],
        { input, timeoutMs: 180_000 },
      )
      if (result.code === 0 && !/Delivery failed/.test(result.stderr)) {
        for (const s of seqs) o.ledger.ack(this.stream, s, partition)
      } else {
        for (const s of seqs) o.ledger.fail(this.stream, s)
        this.failedBatches++
        this.lastError = result.stderr.trim().split('\n').pop() ?? `exit ${result.code}`
      }
    }
  }
}
