/**
 * The soak's clients, all through the sidecar: four producers whose every acknowledged record is in the ledger
 * (Java idempotent, Java transactional, kafkajs, kcat), kafka-producer-perf-test as counted load, and two consumer
 * groups (kafkajs in a classic group, Kafka's Java consumer in a KIP-848 group).
 */
import { JavaGroupConsumer } from './java-consumer.js'
import { JavaSoakProducer } from './java-producer.js'
import { KafkajsClassicConsumer, KafkajsSoakProducer } from './kafkajs-clients.js'
import { KcatSoakProducer } from './kcat-producer.js'
import type { AckLedger } from './ledger.js'
import { PerfLoad } from './perf-load.js'
import type { SoakRates } from './soak-options.js'

export interface SoakClientsOptions {
  /** The sidecar's bootstrap address. */
  bootstrap: string
  jars: { classpath: string; version: string }
  topic: string
  partitions: number
  loadTopic: string
  /** Run id: names the groups and the transactional id. */
  id: string
  rates: SoakRates
  perfSegmentSeconds: number
  /** When the perf-test's last segment must end. */
  deadline: number
  ledger: AckLedger
  logDir: string
  log: (message: string) => void
}

export interface VerifiedProducer {
  readonly name: string
  start(): void
  stop(): Promise<void>
}

export class SoakClients {
  readonly javaIdem: JavaSoakProducer
  readonly javaTx: JavaSoakProducer
  readonly kafkajs: KafkajsSoakProducer
  readonly kcat: KcatSoakProducer
  readonly perf: PerfLoad
  readonly classic: KafkajsClassicConsumer
  readonly kip848: JavaGroupConsumer
  readonly #ledger: AckLedger

  constructor(o: SoakClientsOptions) {
    this.#ledger = o.ledger
    const r = o.rates
    const common = { bootstrap: o.bootstrap, topic: o.topic, partitions: o.partitions, ledger: o.ledger, log: o.log }
    this.javaIdem = new JavaSoakProducer({
      ...common,
      name: 'java-idem',
      jars: o.jars,
      recordsPerSec: r.javaIdempotent,
      logDir: o.logDir,
    })
    this.javaTx = new JavaSoakProducer({
      ...common,
      name: 'java-tx',
      jars: o.jars,
      recordsPerSec: r.javaTransactional,
      transactional: { id: `soak-tx-${o.id}`, recordsPerTxn: r.recordsPerTxn },
      logDir: o.logDir,
    })
    this.kafkajs = new KafkajsSoakProducer({
      ...common,
      recordsPerSec: r.kafkajs,
      batchSize: r.kafkajsBatch,
      valueBytes: r.valueBytes,
    })
    this.kcat = new KcatSoakProducer({
      ...common,
      recordsPerSec: r.kcat,
      batchSize: r.kcatBatch,
      valueBytes: r.valueBytes,
    })
    this.perf = new PerfLoad({
      jars: o.jars,
      bootstrap: o.bootstrap,
      topic: o.loadTopic,
      recordsPerSec: r.perf,
      recordBytes: r.perfRecordBytes,
      segmentSeconds: o.perfSegmentSeconds,
      deadline: o.deadline,
      log: o.log,
    })
    this.classic = new KafkajsClassicConsumer({
      bootstrap: o.bootstrap,
      topic: o.topic,
      groupId: `soak-classic-${o.id}`,
      log: o.log,
    })
    this.kip848 = new JavaGroupConsumer({
      jars: o.jars,
      bootstrap: o.bootstrap,
      topic: o.topic,
      groupId: `soak-kip848-${o.id}`,
      protocol: 'consumer',
      logDir: o.logDir,
      log: o.log,
    })
  }

  /** The producers whose records are verified one by one. */
  get producers(): VerifiedProducer[] {
    return [this.javaIdem, this.javaTx, this.kafkajs, this.kcat]
  }

  get consumers(): Array<KafkajsClassicConsumer | JavaGroupConsumer> {
    return [this.classic, this.kip848]
  }

  async startConsumers(): Promise<void> {
    await this.classic.start()
    await this.kip848.start()
  }

  startProducers(): void {
    for (const p of [...this.producers, this.perf]) p.start()
  }

  /** Producers stop first (the transactional one commits its open transaction); the perf-test ends its segment. */
  async stopProducers(): Promise<void> {
    await Promise.all([...this.producers, this.perf].map((p) => p.stop()))
  }

  async stopConsumers(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.stop()))
  }

  /** Records acknowledged so far, per verified producer, in `producers` order. */
  ackCounts(): number[] {
    return this.producers.map((p) => this.#ledger.ackedBy(p.name))
  }

  progressLine(): string {
    return (
      `acked ${this.producers.map((p) => `${p.name} ${this.#ledger.ackedBy(p.name)}`).join(', ')}, ` +
      `perf ${this.perf.acked} | consumed classic ${this.classic.consumed}, kip848 ${this.kip848.consumed}`
    )
  }

  /** Client-side events worth a note beside each producer's figures (crashes, kills, replaced clients). */
  notes(): Record<string, string> {
    return {
      'java-idem': countsText({ crashes: this.javaIdem.crashes }),
      'java-tx': countsText({ crashes: this.javaTx.crashes, 'killed by the soak': this.javaTx.killed }),
      kafkajs: withLastError(
        countsText({ 'failed sends': this.kafkajs.failedSends, 'producer replaced': this.kafkajs.recreated }),
        this.kafkajs.lastError,
      ),
      kcat: withLastError(
        countsText({ batches: this.kcat.batches, 'failed batches': this.kcat.failedBatches }),
        this.kcat.lastError,
      ),
    }
  }
}

function countsText(counts: Record<string, number>): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([what, n]) => `${what}: ${n}`)
    .join(', ')
}

function withLastError(text: string, lastError: string): string {
  return lastError === '' ? text : `${text} (last error: ${lastError.replace(/\|/g, '/').slice(0, 160)})`
}
