/**
 * A two-minute check of the sidecar's pass-through cost: Kafka's own perf tools produce (acks=1) and consume
 * 1 KiB records directly against a broker and through the sidecar (a separate process, as deployed),
 * alternating targets round by round so machine drift cancels. Prints the median throughput of each target,
 * the ratio, the sidecar's CPU seconds per GB moved and its peak RSS, and writes
 * bench/results/passthrough-<time>.json. The full comparison (more workloads, Kroxylicious, latency,
 * connection scaling) is `npm run bench` (bench/run.ts); this one shares its parts (bench/lib).
 *
 *   npm run build && node dist/bench/passthrough.js [--records=200000] [--rounds=3]
 *
 * KSC_SIDECAR_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the sidecar under this load;
 * --config=FILE runs the sidecar with that configuration (bench/configs/stats-topics-off.yaml: no statistics decode).
 * Needs Java 17+ and Maven (the harness starts a single-node Kafka from the Maven jars).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { KafkaCluster } from '../test/harness/kafka-cluster.js'
import { createTopic } from '../test/harness/topics.js'
import { runConsumerPerf, runProducerPerf } from './lib/perf-tools.js'
import { ProcessWindow, peakRssMb } from './lib/proc.js'
import { median } from './lib/stats.js'
import { directTarget, startSidecar } from './lib/targets.js'

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const RECORDS = arg('records', 200_000)
const ROUNDS = arg('rounds', 3)
const RECORD_SIZE = 1024
const CONFIG_FILE = process.argv.find((a) => a.startsWith('--config='))?.slice('--config='.length)

async function main(): Promise<void> {
  process.stderr.write('starting a single-node Kafka...\n')
  const cluster = await KafkaCluster.start({ nodes: 1, name: 'bench', log: (m) => process.stderr.write(`${m}\n`) })
  const jars = cluster.describe()
  const direct = directTarget(jars.bootstrapServers)
  const sidecar = await startSidecar({
    upstream: jars.bootstrapServers,
    maxNodeId: 1,
    logDir: mkdtempSync(join(tmpdir(), 'ksc-passthrough-')),
    nodeArgs: process.env.KSC_SIDECAR_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
    ...(CONFIG_FILE === undefined ? {} : { configFile: CONFIG_FILE }),
  })
  try {
    const topic = 'bench-1k'
    await createTopic(cluster, topic, { partitions: 8, replicationFactor: 1 })
    const results: Record<'direct' | 'sidecar', { produce: number[]; consume: number[] }> = {
      direct: { produce: [], consume: [] },
      sidecar: { produce: [], consume: [] },
    }
    let sidecarCpu = 0
    let sidecarBytes = 0
    let sidecarProduceCpu = 0
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which target goes first, so a warming or cooling machine favours neither.
      const order = round % 2 === 0 ? [direct, sidecar] : [sidecar, direct]
      for (const target of order) {
        const window = new ProcessWindow(target.pid)
        window.begin()
        const produceWindow = new ProcessWindow(target.pid)
        produceWindow.begin()
        const produced = await runProducerPerf(jars, {
          bootstrap: target.bootstrap,
          topic,
          records: RECORDS,
          recordSize: RECORD_SIZE,
          acks: '1',
          props: ['linger.ms=5', 'batch.size=65536'],
        })
        const produceCpu = produceWindow.end().cpuSeconds
        const consumed = await runConsumerPerf(jars, { bootstrap: target.bootstrap, topic, records: RECORDS })
        const w = window.end()
        const key = target.name as 'direct' | 'sidecar'
        results[key].produce.push((produced.recordsPerSec * RECORD_SIZE) / 1e6)
        results[key].consume.push((consumed.recordsPerSec * RECORD_SIZE) / 1e6)
        if (target.pid !== undefined) {
          sidecarCpu += w.cpuSeconds
          sidecarBytes += 2 * RECORDS * RECORD_SIZE
          sidecarProduceCpu += produceCpu
        }
        process.stderr.write(
          `round ${round + 1} ${target.name}: produce ${results[key].produce.at(-1)!.toFixed(1)} MB/s, ` +
            `consume ${results[key].consume.at(-1)!.toFixed(1)} MB/s\n`,
        )
      }
    }
    const summary = {
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, kafka: jars.version },
      records: RECORDS,
      recordSize: RECORD_SIZE,
      rounds: ROUNDS,
      config: CONFIG_FILE ?? null,
      produceMBs: { direct: median(results.direct.produce), sidecar: median(results.sidecar.produce), runs: results },
      consumeMBs: { direct: median(results.direct.consume), sidecar: median(results.sidecar.consume) },
      sidecarCpuSecondsPerGB: sidecarCpu / (sidecarBytes / 1e9),
      sidecarProduceCpuSecondsPerGB: sidecarProduceCpu / (sidecarBytes / 2e9),
      sidecarConsumeCpuSecondsPerGB: (sidecarCpu - sidecarProduceCpu) / (sidecarBytes / 2e9),
      sidecarPeakRssMB: peakRssMb(sidecar.pid!),
    }
    const ratio = (a: number, b: number) => (a / b).toFixed(2)
    const mb = (x: number) => x.toFixed(1)
    console.log(
      `\n${RECORDS} records of ${RECORD_SIZE} B, ${ROUNDS} rounds, median MB/s (10^6 B; Kafka ${jars.version}, ${summary.machine.cpus} cores)\n`,
    )
    console.log('| workload | direct | sidecar | ratio |')
    console.log('|---|---:|---:|---:|')
    console.log(
      `| produce acks=1 | ${mb(summary.produceMBs.direct)} | ${mb(summary.produceMBs.sidecar)} | ${ratio(summary.produceMBs.sidecar, summary.produceMBs.direct)} |`,
    )
    console.log(
      `| consume | ${mb(summary.consumeMBs.direct)} | ${mb(summary.consumeMBs.sidecar)} | ${ratio(summary.consumeMBs.sidecar, summary.consumeMBs.direct)} |`,
    )
    console.log(
      `\nsidecar: ${summary.sidecarCpuSecondsPerGB.toFixed(2)} CPU s per GB moved (produce ${summary.sidecarProduceCpuSecondsPerGB.toFixed(2)}, consume ${summary.sidecarConsumeCpuSecondsPerGB.toFixed(2)}), peak RSS ${summary.sidecarPeakRssMB.toFixed(1)} MB`,
    )
    mkdirSync(new URL('../../bench/results/', import.meta.url), { recursive: true })
    const out = new URL(
      `../../bench/results/passthrough-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
      import.meta.url,
    )
    writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`)
    console.log(`figures written to ${out.pathname}`)
  } finally {
    await sidecar.stop()
    await cluster.stop()
  }
}

await main()
