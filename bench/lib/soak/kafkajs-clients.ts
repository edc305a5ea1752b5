/**
 * The soak's kafkajs clients, in the soak's own process: an idempotent producer (kafkajs allows idempotence only
 * with one request in flight) whose every acknowledged record goes into the ledger, and a consumer in a classic
 * consumer group (kafkajs speaks only the classic protocol) that commits what it has read.
 */

import { setTimeout as sleep } from 'node:timers/promises'
import { type Consumer, Kafka, logLevel, type Producer } from 'kafkajs'
import type { AckLedger } from './ledger.js'
import { recordKey } from './ledger.js'

/** Retries long enough to ride out a broker restart or a sidecar handover (kafkajs' default gives up in ~10 s). */
const RETRY = { retries: 12, initialRetryTime: 300, maxRetryTime: 5_000 }

export interface KafkajsProducerOptions {
  bootstrap: string
  topic: string
  partitions: number
  recordsPerSec: number
  /** Records per send(); all of one send go to one partition, so their partition is known. */
  batchSize: number
  valueBytes: number
  ledger: AckLedger
  log: (message: string) => void
}

export class KafkajsSoakProducer {
  readonly name = 'kafkajs'
  readonly stream = 'kafkajs#1'
  readonly #o: KafkajsProducerOptions
  readonly #kafka: Kafka
  #producer: Producer | undefined
  #running: Promise<void> | undefined
  #stopping = false
  /** send() calls that failed after kafkajs' own retries (their records are not acknowledged). */
  failedSends = 0
  /** Times the producer was replaced after failing sends in a row. */
  recreated = 0
  lastError = ''

  constructor(options: KafkajsProducerOptions) {
    this.#o = options
    options.ledger.stream(this.stream, this.name)
    this.#kafka = new Kafka({
      clientId: 'soak-kafkajs-producer',
      brokers: [options.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: RETRY,
    })
  }

  start(): void {
    this.#running = this.#loop()
  }

  async stop(): Promise<void> {
    this.#stopping = true
    await this.#running
    await this.#producer?.disconnect().catch(() => {})
  }

  async #loop(): Promise<void> {
    const o = this.#o
    const padding = 'x'.repeat(o.valueBytes)
    const intervalMs = (1000 * o.batchSize) / o.recordsPerSec
    let seq = 0
    let batch = 0
    let failedInARow = 0
    let next = Date.now()
    while (!this.#stopping) {
      const wait = next - Date.now()
      if (wait > 0) await sleep(wait)
      next = Math.max(next, Date.now() - intervalMs) + intervalMs
      const partition = batch++ % o.partitions
      const seqs = Array.from({ length: o.batchSize }, () => seq++)
      try {
        this.#producer ??= await this.#connect()
        await this.#producer.send({
          topic: o.topic,
          acks: -1,
          messages: seqs.map((s) => {
            const key = recordKey(this.stream, s)
            return { key, value: `${key}|${padding}`, partition }
          }),
        })
        for (const s of seqs) o.ledger.ack(this.stream, s, partition)
        failedInARow = 0
      } catch (err) {
        for (const s of seqs) o.ledger.fail(this.stream, s)
        this.failedSends++
        this.lastError = (err as Error).message
        // An idempotent kafkajs producer can stay wedged after a failed send (its sequence numbers no longer match
        // the broker's): a fresh one gets a new producer id.
        if (++failedInARow >= 3) {
          o.log(`kafkajs producer: ${failedInARow} sends failed in a row (${this.lastError}); replacing it`)
          await this.#producer?.disconnect().catch(() => {})
          this.#producer = undefined
          this.recreated++
          failedInARow = 0
        }
      }
    }
  }

  async #connect(): Promise<Producer> {
    const producer = this.#kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: RETRY })
    await producer.connect()
    return producer
  }
}

export interface KafkajsConsumerOptions {
  bootstrap: string
  topic: string
  groupId: string
  log: (message: string) => void
}

export class KafkajsClassicConsumer {
  readonly name = 'kafkajs'
  readonly protocol = 'classic'
  readonly #o: KafkajsConsumerOptions
  readonly #kafka: Kafka
  #consumer: Consumer | undefined
  #stopping = false
  consumed = 0
  /** Crashes kafkajs did not restart from by itself; the soak then starts a new consumer in the same group. */
  restarts = 0

  constructor(options: KafkajsConsumerOptions) {
    this.#o = options
    this.#kafka = new Kafka({
      clientId: 'soak-kafkajs-consumer',
      brokers: [options.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: RETRY,
    })
  }

  get groupId(): string {
    return this.#o.groupId
  }

  async start(): Promise<void> {
    const consumer = this.#kafka.consumer({ groupId: this.#o.groupId, retry: RETRY })
    this.#consumer = consumer
    consumer.on(consumer.events.CRASH, (event) => {
      if (event.payload.restart || this.#stopping) return
      this.restarts++
      this.#o.log(`kafkajs consumer crashed for good (${event.payload.error.message}); starting a new one`)
      void consumer
        .disconnect()
        .catch(() => {})
        .then(() => sleep(2_000))
        .then(async () => {
          if (!this.#stopping) await this.start()
        })
        .catch((err: Error) => this.#o.log(`kafkajs consumer restart failed: ${err.message}`))
    })
    await consumer.connect()
    await consumer.subscribe({ topic: this.#o.topic, fromBeginning: true })
    await consumer.run({
      eachBatch: async ({ batch }) => {
        this.consumed += batch.messages.length
      },
    })
  }

  async stop(): Promise<void> {
    this.#stopping = true
    await this.#consumer?.disconnect().catch(() => {})
  }
}
