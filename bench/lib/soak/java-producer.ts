/**
 * The soak's Java producers (java/SoakProducer.java): idempotent, or transactional, acks=all, through the sidecar.
 * Each JVM is one stream of the ledger ("<producer>#<n>"); a JVM that dies is replaced by a new one with the next
 * stream name, and the transactional one keeps its transactional.id, so the new instance fences the dead one and
 * its open transaction is aborted (that is what the kill-mid-transaction fault checks).
 */
import { EventEmitter, once } from 'node:events'
import { closeSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { javaCommand } from '../../../test/harness/kafka-jars.js'
import { waitFor } from '../../../test/harness/wait-for.js'
import { spawnWatched, type WatchedProcess } from '../../../test/harness/watchdog.js'
import type { AckLedger } from './ledger.js'
import { repoFile } from './repo-file.js'

const SOURCE = 'bench/lib/soak/java/SoakProducer.java'

const JVM_OPTIONS = ['-Xmx192m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-XX:-UsePerfData']

export interface JavaProducerOptions {
  /** Ledger name of the producer; its JVMs are streams <name>#1, #2, ... */
  name: string
  jars: { classpath: string }
  bootstrap: string
  topic: string
  partitions: number
  recordsPerSec: number
  /** Transactional: this id for every instance, and this many records per transaction. */
  transactional?: { id: string; recordsPerTxn: number }
  ledger: AckLedger
  logDir: string
  log: (message: string) => void
}

interface Instance {
  stream: string
  watched: WatchedProcess
  /** Set when the soak itself ends or kills this JVM: its exit is then expected. */
  expectedExit: boolean
}

export class JavaSoakProducer {
  readonly #o: JavaProducerOptions
  readonly #events = new EventEmitter()
  #instance: Instance | undefined
  #instances = 0
  #stopping = false
  /** JVMs that exited without being told to (a crash of the client, not a fault the soak injected). */
  crashes = 0
  killed = 0

  constructor(options: JavaProducerOptions) {
    this.#o = options
  }

  get name(): string {
    return this.#o.name
  }

  start(): void {
    this.#spawn()
  }

  /**
   * SIGKILL while a transaction is open: waits for the next BEGIN, lets some of its records go out, kills the JVM
   * and starts the next instance. Resolves with the transaction and stream killed once the new instance has had a
   * transaction of its own committed (so recovery is part of the outcome).
   */
  async killMidTransaction(timeoutMs: number): Promise<{ killedStream: string; txn: number; recoveredMs: number }> {
    const instance = this.#instance
    if (!instance || !this.#o.transactional) throw new Error(`${this.#o.name} is not a running transactional producer`)
    const [txn] = (await once(this.#events, 'begin', { signal: AbortSignal.timeout(timeoutMs) })) as [number]
    // Half a transaction's worth of records: sent, not committed.
    await sleep(Math.min(2_000, (500 * this.#o.transactional.recordsPerTxn) / this.#o.recordsPerSec))
    instance.expectedExit = true
    await instance.watched.signal('SIGKILL')
    await instance.watched.exited
    this.killed++
    const killedAt = Date.now()
    const next = this.#spawn()
    await waitFor(`${next} to have a transaction committed`, () => this.#o.ledger.ackedIn(next) > 0, {
      timeoutMs,
      intervalMs: 100,
    })
    return { killedStream: instance.stream, txn, recoveredMs: Date.now() - killedAt }
  }

  /** Asks the JVM to stop (transactional: after committing its open transaction) and waits for it. */
  async stop(timeoutMs = 60_000): Promise<void> {
    this.#stopping = true
    const instance = this.#instance
    if (!instance) return
    instance.expectedExit = true
    instance.watched.child.stdin?.end('stop\n')
    const timer = setTimeout(() => void instance.watched.signal('SIGKILL'), timeoutMs)
    await instance.watched.exited
    clearTimeout(timer)
  }

  #spawn(): string {
    const o = this.#o
    this.#instances++
    const stream = `${o.name}#${this.#instances}`
    o.ledger.stream(stream, o.name)
    const args = [
      ...JVM_OPTIONS,
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      repoFile(SOURCE),
      o.bootstrap,
      o.topic,
      stream,
      String(o.partitions),
      String(o.recordsPerSec),
      ...(o.transactional
        ? ['--transactional-id', o.transactional.id, '--records-per-txn', String(o.transactional.recordsPerTxn)]
        : []),
    ]
    const logFile = join(o.logDir, `${stream.replace('#', '-')}.log`)
    const fd = openSync(logFile, 'a')
    let watched: WatchedProcess
    try {
      watched = spawnWatched(javaCommand(), args, {
        stdio: ['pipe', 'pipe', fd],
        env: { ...process.env, CLASSPATH: o.jars.classpath },
        graceMs: 5_000,
      })
    } finally {
      closeSync(fd)
    }
    const instance: Instance = { stream, watched, expectedExit: false }
    this.#instance = instance
    watched.child.stdin?.on('error', () => {})
    createInterface({ input: watched.child.stdout! }).on('line', (line) => this.#onLine(stream, line))
    void watched.exited.then(({ code }) => {
      if (instance.expectedExit || this.#stopping) return
      this.crashes++
      o.log(`${stream} exited unexpectedly (code ${code}; see ${logFile}); starting the next instance`)
      if (this.#instance === instance) setTimeout(() => this.#stopping || this.#spawn(), 2_000)
    })
    return stream
  }

  #onLine(stream: string, line: string): void {
    const space = line.indexOf(' ')
    const word = space < 0 ? line : line.slice(0, space)
    const rest = space < 0 ? '' : line.slice(space + 1)
    switch (word) {
      case 'ACK':
        for (const entry of rest.split(' ')) {
          if (entry === '') continue
          const [seq, partition] = entry.split(':').map(Number) as [number, number]
          this.#o.ledger.ack(stream, seq, partition)
        }
        break
      case 'FAIL':
        this.#o.ledger.fail(stream, Number(rest.split(' ')[0]))
        break
      case 'BEGIN':
        this.#events.emit('begin', Number(rest))
        break
      case 'ABORT':
        this.#o.log(`${stream} aborted transaction ${rest}`)
        break
      default:
        break
    }
  }
}
