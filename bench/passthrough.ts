/**
 * A two-minute check of the sidecar's pass-through cost: Kafka's own perf tools produce (acks=1) and consume
 * 1 KiB records directly against a broker and through the sidecar (a separate process, as deployed),
 * rotating targets round by round so machine drift cancels. Prints each target's median throughput, its ratio
 * to direct, and the sidecar's CPU seconds per GB moved for produce and for consume (utime+stime from /proc,
 * which on a machine whose cores are all busy is what the sidecar takes from the client and the broker), and
 * its peak RSS; writes bench/results/passthrough-<time>.json. The full comparison (more workloads,
 * Kroxylicious, latency, connection scaling) is `npm run bench` (bench/run.ts); this one shares its parts.
 *
 *   npm run build && node dist/bench/passthrough.js [--records=200000] [--rounds=3] [--variant=...]...
 *
 * --variant=LABEL[:CONFIG.yaml[:NODE ARGS]] adds a sidecar variant (default: one, "sidecar", as shipped), e.g.
 *   --variant=default --variant=stats-off:bench/configs/stats-topics-off.yaml
 *   --variant=prof::"--cpu-prof --cpu-prof-dir=/tmp/prof"
 * Every variant runs with the shipped Node flags (src/runtime/node-flags.ts) before its own.
 * --relay=node|haproxy adds a byte relay with no Kafka knowledge as a target (bench/relay.ts, or HAProxy in TCP
 * mode if installed), in front of a broker listener that advertises it: the floor any proxy starts from here.
 * Needs Java 17+ and Maven (the harness starts a single-node Kafka from the Maven jars).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { KafkaCluster } from '../test/harness/kafka-cluster.js'
import { createTopic } from '../test/harness/topics.js'
import { runConsumerPerf, runProducerPerf } from './lib/perf-tools.js'
import { freePort } from './lib/ports.js'
import { ProcessWindow, peakRssMb } from './lib/proc.js'
import { median } from './lib/stats.js'
import { directTarget, type RelayKind, startRelay, startSidecar, type Target } from './lib/targets.js'
import { variantsFromArgv } from './lib/variants.js'

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const RECORDS = arg('records', 200_000)
const ROUNDS = arg('rounds', 3)
const RECORD_SIZE = 1024
const RELAY = process.argv.find((a) => a.startsWith('--relay'))?.split('=')[1] ?? undefined
if (RELAY !== undefined && RELAY !== 'node' && RELAY !== 'haproxy') {
  console.error(`--relay=${RELAY}: expected --relay=node or --relay=haproxy`)
  process.exit(2)
}

interface Figures {
  produce: number[]
  consume: number[]
  produceCpu: number
  consumeCpu: number
  bytes: number
}

async function main(): Promise<void> {
  const wanted = variantsFromArgv()
  process.stderr.write('starting a single-node Kafka...\n')
  const relayPort = RELAY === undefined ? undefined : await freePort()
  const cluster = await KafkaCluster.start({
    nodes: 1,
    name: 'bench',
    log: (m) => process.stderr.write(`${m}\n`),
    ...(relayPort !== undefined && {
      listeners: { relayed: { advertisedHost: '127.0.0.1', advertisedPorts: [relayPort] } },
    }),
  })
  const jars = cluster.describe()
  const logDir = mkdtempSync(join(tmpdir(), 'ksc-passthrough-'))
  const targets: Target[] = [directTarget(jars.bootstrapServers)]
  try {
    if (relayPort !== undefined) {
      const node = jars.nodes[0]!
      targets.push(
        await startRelay({
          kind: RELAY as RelayKind,
          port: relayPort,
          target: { host: node.host, port: node.relayedPort! },
          logDir,
        }),
      )
    }
    for (const v of wanted) {
      const t = await startSidecar({
        upstream: jars.bootstrapServers,
        maxNodeId: 1,
        logDir,
        nodeArgs: v.nodeArgs,
        ...(v.configFile === undefined ? {} : { configFile: v.configFile }),
        ...(v.cli === undefined ? {} : { cli: v.cli }),
      })
      targets.push({ ...t, name: v.label })
    }
    const topic = 'bench-1k'
    await createTopic(cluster, topic, { partitions: 8, replicationFactor: 1 })
    const results = new Map<string, Figures>(
      targets.map((t) => [t.name, { produce: [], consume: [], produceCpu: 0, consumeCpu: 0, bytes: 0 }]),
    )
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate which target goes first, so a warming or cooling machine favours none.
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!)
      for (const target of order) {
        const f = results.get(target.name)!
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
        const p = produceWindow.end()
        const consumeWindow = new ProcessWindow(target.pid)
        consumeWindow.begin()
        const consumed = await runConsumerPerf(jars, { bootstrap: target.bootstrap, topic, records: RECORDS })
        const c = consumeWindow.end()
        f.produce.push((produced.recordsPerSec * RECORD_SIZE) / 1e6)
        f.consume.push((consumed.recordsPerSec * RECORD_SIZE) / 1e6)
        if (target.pid !== undefined) {
          f.produceCpu += p.cpuSeconds
          f.consumeCpu += c.cpuSeconds
          f.bytes += RECORDS * RECORD_SIZE
        }
        process.stderr.write(
          `round ${round + 1} ${target.name}: produce ${f.produce.at(-1)!.toFixed(1)} MB/s, ` +
            `consume ${f.consume.at(-1)!.toFixed(1)} MB/s\n`,
        )
      }
    }
    const direct = results.get('direct')!
    const summary = {
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, kafka: jars.version },
      records: RECORDS,
      recordSize: RECORD_SIZE,
      rounds: ROUNDS,
      variants: wanted,
      targets: Object.fromEntries(
        targets.map((t) => {
          const f = results.get(t.name)!
          const gb = f.bytes / 1e9
          return [
            t.name,
            {
              produceMBs: median(f.produce),
              consumeMBs: median(f.consume),
              produceRatio: median(f.produce) / median(direct.produce),
              consumeRatio: median(f.consume) / median(direct.consume),
              produceCpuSecondsPerGB: t.pid === undefined ? null : f.produceCpu / gb,
              consumeCpuSecondsPerGB: t.pid === undefined ? null : f.consumeCpu / gb,
              peakRssMB: t.pid === undefined ? null : peakRssMb(t.pid),
              runs: { produce: f.produce, consume: f.consume },
            },
          ]
        }),
      ),
    }
    const fixed = (x: number | null, digits = 2) => (x === null ? 'n/a' : x.toFixed(digits))
    console.log(
      `\n${RECORDS} records of ${RECORD_SIZE} B, ${ROUNDS} rounds, median MB/s (10^6 B; Kafka ${jars.version}, ${summary.machine.cpus} cores)\n`,
    )
    console.log(
      '| target | produce MB/s | / direct | CPU s/GB | consume MB/s | / direct | CPU s/GB | peak RSS MB |\n' +
        '|---|---:|---:|---:|---:|---:|---:|---:|',
    )
    for (const [name, s] of Object.entries(summary.targets)) {
      console.log(
        `| ${name} | ${fixed(s.produceMBs, 1)} | ${fixed(s.produceRatio)} | ${fixed(s.produceCpuSecondsPerGB)} | ` +
          `${fixed(s.consumeMBs, 1)} | ${fixed(s.consumeRatio)} | ${fixed(s.consumeCpuSecondsPerGB)} | ${fixed(s.peakRssMB, 1)} |`,
      )
    }
    mkdirSync(new URL('../../bench/results/', import.meta.url), { recursive: true })
    const out = new URL(
      `../../bench/results/passthrough-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
      import.meta.url,
    )
    writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`)
    console.log(`figures written to ${out.pathname}`)
  } finally {
    for (const t of targets) await t.stop()
    await cluster.stop()
  }
}

await main()
