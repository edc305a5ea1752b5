/**
 * The soak (issue 21): a private 3-node cluster, producers with acks=all and consumer groups going through the
 * sidecar while faults are injected on a schedule; at the end every acknowledged record is looked up in the log,
 * read straight from the brokers, and the consumers' commits and the sidecar's memory and descriptors are checked.
 * bench/soak.ts is the command line around it; test/integration/soak.test.ts runs a short slice of it.
 */
import { randomBytes } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { KafkaCluster } from '../../../test/harness/kafka-cluster.js'
import { ensureSystemTools, TEST_SYSTEM_TOOLS } from '../../../test/harness/system-tools.js'
import { waitFor } from '../../../test/harness/wait-for.js'
import { ClusterView } from './cluster-view.js'
import { readBackAll, settleConsumers } from './end-checks.js'
import { FaultInjector, type FaultRecord, faultAt } from './faults.js'
import { AckLedger } from './ledger.js'
import { ResourceSampler } from './resource-samples.js'
import { SoakClients } from './soak-clients.js'
import type { SoakOptions } from './soak-options.js'
import { failuresOf, producerTotals, type SoakResult } from './soak-result.js'
import { SoakSidecar } from './soak-sidecar.js'

export { DEFAULT_OPTIONS, DEFAULT_RATES, type SoakOptions } from './soak-options.js'
export type { SoakResult } from './soak-result.js'

const PARTITIONS = 6
const LOAD_PARTITIONS = 3
const TOPIC_CONFIGS = { 'min.insync.replicas': '2' }
/** How long the consumer groups get, after the producers stopped, to commit past the last acknowledged record. */
const SETTLE_TIMEOUT_MS = 180_000

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { log } = options
  const startedAt = Date.now()
  const id = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
  await mkdir(options.workDir, { recursive: true })
  await ensureSystemTools({ tools: TEST_SYSTEM_TOOLS.filter((t) => t.command === 'kcat'), log })

  log(`starting a 3-node Kafka ${options.kafkaVersion} cluster`)
  const cluster = await KafkaCluster.start({ nodes: 3, name: 'soak', version: options.kafkaVersion, log })
  const direct = cluster.bootstrapServers
  const view = new ClusterView(direct)
  const jars = { classpath: cluster.classpath, version: cluster.version }
  const topic = `soak-${id}`
  const loadTopic = `soak-load-${id}`
  const sidecar = new SoakSidecar({
    upstream: direct,
    logDir: options.workDir,
    log,
    ...(options.sidecarNode !== undefined && { node: options.sidecarNode }),
  })
  let clients: SoakClients | undefined
  let sampler: ResourceSampler | undefined
  let progress: NodeJS.Timeout | undefined
  try {
    await view.createTopic(topic, PARTITIONS, TOPIC_CONFIGS)
    await view.createTopic(loadTopic, LOAD_PARTITIONS, TOPIC_CONFIGS)
    await sidecar.start()
    log(`sidecar listening at ${sidecar.bootstrap} (pid ${sidecar.current?.pid}); upstream ${direct}`)
    const sidecarSampler = new ResourceSampler(() => {
      const g = sidecar.current
      return g && { generation: g.number, pid: g.pid }
    }, startedAt)
    sampler = sidecarSampler
    sampler.start(options.sampleIntervalSeconds * 1000)

    // The loaded phase, which --minutes measures, starts with the clients (the cluster's start-up is not part of it).
    const loadStart = Date.now()
    const deadline = loadStart + options.minutes * 60_000
    const ledger = new AckLedger(PARTITIONS)
    const running = new SoakClients({
      bootstrap: sidecar.bootstrap,
      jars,
      topic,
      partitions: PARTITIONS,
      loadTopic,
      id,
      rates: options.rates,
      perfSegmentSeconds: options.perfSegmentSeconds,
      deadline,
      ledger,
      logDir: options.workDir,
      log,
    })
    clients = running
    await running.startConsumers()
    running.startProducers()
    log('waiting for every producer to have a record acknowledged')
    await waitFor('every producer to have a record acknowledged', () => running.ackCounts().every((n) => n > 0), {
      timeoutMs: 180_000,
      intervalMs: 200,
    })
    log(`all producers acknowledged; loaded phase until ${new Date(deadline).toISOString().slice(11, 19)}`)
    progress = setInterval(() => {
      const s = sidecarSampler.latest()
      const memory = s ? ` | sidecar #${s.generation} rss ${s.rssMb.toFixed(1)} MB, ${s.fds} fds` : ''
      log(`${running.progressLine()}${memory}`)
    }, options.progressIntervalSeconds * 1000)

    const faults = await injectFaults(options, deadline, loadStart, {
      cluster,
      sidecar,
      txProducer: running.javaTx,
      leadership: { jars, bootstrapServers: direct, topics: [topic, loadTopic], view, workDir: options.workDir },
      view,
      topics: [topic, loadTopic],
      brokerDownMs: options.brokerDownSeconds * 1000,
      ackCounts: () => running.ackCounts(),
    })
    await sleep(Math.max(0, deadline - Date.now()))
    clearInterval(progress)
    // The trend covers the loaded phase only: the quiet checks after it would pull the end of the line down.
    sampler.stop()

    log('stopping the producers (the transactional one commits its open transaction)')
    await running.stopProducers()
    log('reading every record back from the brokers (kcat, read_committed, not through the sidecar)')
    const readBack = await readBackAll(view, direct, ledger, topic, loadTopic)
    log('waiting for both consumer groups to commit past the last acknowledged record of every partition')
    const consumers = await settleConsumers(view, topic, running.consumers, readBack.maxAckedOffset, SETTLE_TIMEOUT_MS)
    await sidecar.stop()

    const streams = ledger.streamTotals()
    const { settings } = settingsOf(options)
    const result: Omit<SoakResult, 'failures'> = {
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date().toISOString(),
      minutes: options.minutes,
      settings,
      kafkaVersion: cluster.version,
      topics: { verified: topic, load: loadTopic, partitions: PARTITIONS },
      producers: producerTotals(
        streams,
        running.producers.map((p) => p.name),
        new Set([running.javaTx.name]),
        running.notes(),
      ),
      streams,
      partitions: ledger.partitionTotals(readBack.maxAckedOffset),
      perfLoad: {
        attempted: running.perf.attempted,
        acked: running.perf.acked,
        found: readBack.loadRecords,
        segments: running.perf.segments,
        failedSegments: running.perf.failedSegments,
      },
      consumers,
      readBack: {
        records: readBack.records,
        foreignRecords: ledger.foreignRecords,
        incompletePartitions: readBack.incompletePartitions,
      },
      sidecar: {
        generations: sampler.trends(options.warmupSeconds),
        crashes: sidecar.crashes,
        reloads: sidecar.reloads,
      },
      faults,
      workDir: options.workDir,
    }
    return { ...result, failures: failuresOf(result) }
  } finally {
    clearInterval(progress)
    sampler?.stop()
    // Whatever still runs when the soak fails halfway; each stop is harmless when already done.
    await clients?.stopProducers().catch(() => {})
    await clients?.stopConsumers().catch(() => {})
    await sidecar.stop().catch(() => {})
    await view.close()
    await cluster.stop()
  }
}

/** Faults one after another, `faultIntervalSeconds` apart, until the deadline (and at least `minFaults` of them). */
async function injectFaults(
  options: SoakOptions,
  deadline: number,
  loadStart: number,
  context: ConstructorParameters<typeof FaultInjector>[0],
): Promise<FaultRecord[]> {
  const injector = new FaultInjector(context)
  const faults: FaultRecord[] = []
  for (;;) {
    const next = Date.now() + options.faultIntervalSeconds * 1000
    if (next >= deadline && faults.length >= options.minFaults) return faults
    await sleep(next - Date.now())
    const kind = faultAt(options.faultPlan, faults.length)
    options.log(`fault ${faults.length + 1}: ${kind}...`)
    const record = await injector.inject(kind, (Date.now() - loadStart) / 1000)
    faults.push(record)
    const recovery =
      record.recoverySeconds === undefined
        ? ''
        : `; producers acknowledging again after ${record.recoverySeconds.toFixed(1)} s`
    options.log(`fault ${faults.length}: ${kind}: ${record.ok ? 'ok' : 'NOT OK'}: ${record.outcome}${recovery}`)
  }
}

function settingsOf(options: SoakOptions): { settings: SoakResult['settings'] } {
  const { workDir: _workDir, log: _log, ...settings } = options
  return { settings }
}
