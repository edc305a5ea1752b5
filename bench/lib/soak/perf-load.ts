/**
 * Kafka's kafka-producer-perf-test as background load through the sidecar, idempotent with acks=all, on a topic of
 * its own. Its records carry no identity, so they are checked by count only: the tool counts a record as sent only
 * when its send succeeded (ProducerPerformance.PerfCallback records stats only without an exception), so with
 * idempotence the topic must end up holding at least the records it reported and at most those it attempted; the
 * two bounds meet when no send failed. It runs in segments of a fixed length so each has a summary line.
 */
import { runKafkaTool } from '../../../test/harness/kafka-tools.js'
import { parseProducerPerf } from '../perf-tools.js'

export interface PerfLoadOptions {
  jars: { classpath: string; version: string }
  bootstrap: string
  topic: string
  recordsPerSec: number
  recordBytes: number
  segmentSeconds: number
  /** When the last segment must end (epoch ms): the final one is shortened to fit. */
  deadline: number
  log: (message: string) => void
}

export class PerfLoad {
  readonly name = 'perf-test'
  readonly #o: PerfLoadOptions
  #running: Promise<void> | undefined
  #stopping = false
  /** Records the tool was asked to send. */
  attempted = 0
  /** Records it reported as sent (acknowledged). */
  acked = 0
  segments = 0
  failedSegments = 0
  lastError = ''

  constructor(options: PerfLoadOptions) {
    this.#o = options
  }

  start(): void {
    this.#running = this.#loop()
  }

  /** Lets the segment under way finish (it ends by the deadline) and starts no other. */
  async stop(): Promise<void> {
    this.#stopping = true
    await this.#running
  }

  async #loop(): Promise<void> {
    const o = this.#o
    while (!this.#stopping) {
      const seconds = Math.min(o.segmentSeconds, (o.deadline - Date.now()) / 1000)
      // A JVM start costs seconds of CPU: not worth it for a sliver of a segment.
      if (seconds < 5) break
      const records = Math.round(seconds * o.recordsPerSec)
      this.attempted += records
      this.segments++
      const result = await runKafkaTool(
        o.jars,
        'producer-perf-test',
        [
          ...['--topic', o.topic, '--num-records', String(records), '--record-size', String(o.recordBytes)],
          ...['--throughput', String(o.recordsPerSec), '--producer-props', `bootstrap.servers=${o.bootstrap}`],
          ...['acks=all', 'enable.idempotence=true', 'delivery.timeout.ms=180000', 'client.id=soak-perf'],
        ],
        // A segment that cannot finish in its own time plus the delivery timeout is stuck, not slow. The harness's
        // tool JVM options (C1 only, small heap): load at a set rate needs no full JIT.
        { timeoutMs: (seconds + 240) * 1000, logLevel: 'error' },
      ).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }))
      let sent = 0
      try {
        sent = parseProducerPerf(result.stdout).records
      } catch {
        // no summary: nothing can be counted as acknowledged
      }
      this.acked += sent
      if (result.code !== 0 || sent < records) {
        this.failedSegments++
        this.lastError = `exit ${result.code}, ${sent}/${records} sent: ${result.stderr.trim().split('\n').slice(-1)[0] ?? ''}`
        o.log(`perf-test segment ${this.segments}: ${this.lastError}`)
      }
    }
  }
}
