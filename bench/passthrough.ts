/**
 * Pass-through cost of the sidecar: Kafka's own perf tools produce (acks=1) and consume 1 KiB records directly
 * against a broker and through the sidecar (a separate process, as deployed), alternating targets round by round
 * so machine drift cancels. Prints a table with the median throughput of each target, the ratio, the sidecar's CPU
 * seconds per GB moved and its peak RSS, and writes the figures to bench/results/passthrough-<time>.json.
 *
 *   npm run build && node dist/bench/passthrough.js [--records=200000] [--rounds=3]
 *
 * Needs Java 17+ and Maven (the harness starts a single-node Kafka from the Maven jars).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { cpus } from 'node:os'
import { KafkaCluster } from '../test/harness/kafka-cluster.js'
import { runKafkaTool } from '../test/harness/kafka-tools.js'

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const RECORDS = arg('records', 200_000)
const ROUNDS = arg('rounds', 3)
const RECORD_SIZE = 1024

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}

/** utime + stime of a process in seconds, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : Number.NaN
}

async function startSidecar(upstream: string): Promise<{ child: ChildProcess; bootstrap: string }> {
  const port = await freePort()
  const portBase = 30_000 + Math.floor(Math.random() * 20_000)
  const child = spawn(
    process.execPath,
    [
      // e.g. KSC_SIDECAR_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the sidecar under load.
      ...(process.env.KSC_SIDECAR_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      new URL('../src/cli.js', import.meta.url).pathname,
      'run',
      '--upstream',
      upstream,
      '--listen',
      `127.0.0.1:${port}`,
      '--broker-port-base',
      String(portBase),
      '--advertised-host',
      '127.0.0.1',
      '--admin',
      `127.0.0.1:${await freePort()}`,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  )
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy()
        resolve(true)
      })
      s.on('error', () => resolve(false))
    })
    if (ok) break
    await new Promise((r) => setTimeout(r, 100))
  }
  return { child, bootstrap: `127.0.0.1:${port}` }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function main(): Promise<void> {
  process.stderr.write('starting a single-node Kafka...\n')
  const cluster = await KafkaCluster.start({ nodes: 1, name: 'bench', log: (m) => process.stderr.write(`${m}\n`) })
  const jars = cluster.describe()
  const direct = jars.bootstrapServers
  const sidecar = await startSidecar(direct)
  const pid = sidecar.child.pid!
  try {
    const topic = 'bench-1k'
    await runKafkaTool(jars, 'topics', [
      '--bootstrap-server',
      direct,
      '--create',
      '--topic',
      topic,
      '--partitions',
      '8',
      '--replication-factor',
      '1',
    ])
    const results: Record<'direct' | 'sidecar', { produce: number[]; consume: number[] }> = {
      direct: { produce: [], consume: [] },
      sidecar: { produce: [], consume: [] },
    }
    let sidecarCpu = 0
    let sidecarBytes = 0
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which target goes first, so a warming or cooling machine favours neither.
      const order: ('direct' | 'sidecar')[] = round % 2 === 0 ? ['direct', 'sidecar'] : ['sidecar', 'direct']
      for (const target of order) {
        const bootstrap = target === 'direct' ? direct : sidecar.bootstrap
        const cpuBefore = target === 'sidecar' ? cpuSeconds(pid) : 0
        const produced = await runKafkaTool(
          jars,
          'producer-perf-test',
          [
            '--topic',
            topic,
            '--num-records',
            String(RECORDS),
            '--record-size',
            String(RECORD_SIZE),
            '--throughput',
            '-1',
            '--producer-props',
            `bootstrap.servers=${bootstrap}`,
            'acks=1',
            'linger.ms=5',
            'batch.size=65536',
          ],
          { timeoutMs: 600_000, jvmOptions: ['-Xmx512m'] },
        )
        const p = /records sent, [\d.]+ records\/sec \(([\d.]+) MB\/sec\)/.exec(produced.stdout)
        if (!p) throw new Error(`producer-perf-test printed no summary:\n${produced.stdout}\n${produced.stderr}`)
        results[target].produce.push(Number(p[1]))

        const consumed = await runKafkaTool(
          jars,
          'consumer-perf-test',
          [
            '--bootstrap-server',
            bootstrap,
            '--topic',
            topic,
            '--messages',
            String(RECORDS),
            '--timeout',
            '60000',
            '--hide-header',
          ],
          { timeoutMs: 600_000, jvmOptions: ['-Xmx512m'] },
        )
        // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, ...
        const line = consumed.stdout
          .trim()
          .split('\n')
          .filter((l) => /^\d{4}-/.test(l))
          .pop()
        if (!line) throw new Error(`consumer-perf-test printed no summary:\n${consumed.stdout}\n${consumed.stderr}`)
        results[target].consume.push(Number(line.split(',')[3]))
        if (target === 'sidecar') {
          sidecarCpu += cpuSeconds(pid) - cpuBefore
          sidecarBytes += 2 * RECORDS * RECORD_SIZE
        }
        process.stderr.write(`round ${round + 1} ${target}: produce ${p[1]} MB/s, consume ${line.split(',')[3]} MB/s\n`)
      }
    }
    const summary = {
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, kafka: jars.version },
      records: RECORDS,
      recordSize: RECORD_SIZE,
      rounds: ROUNDS,
      produceMBs: { direct: median(results.direct.produce), sidecar: median(results.sidecar.produce), runs: results },
      consumeMBs: { direct: median(results.direct.consume), sidecar: median(results.sidecar.consume) },
      sidecarCpuSecondsPerGB: sidecarCpu / (sidecarBytes / 1e9),
      sidecarPeakRssMB: peakRssMb(pid),
    }
    const ratio = (a: number, b: number) => (a / b).toFixed(2)
    console.log(
      `\n${RECORDS} records of ${RECORD_SIZE} B, ${ROUNDS} rounds, median MB/s (Kafka ${jars.version}, ${summary.machine.cpus} cores)\n`,
    )
    console.log('| workload | direct | sidecar | ratio |')
    console.log('|---|---:|---:|---:|')
    console.log(
      `| produce acks=1 | ${summary.produceMBs.direct} | ${summary.produceMBs.sidecar} | ${ratio(summary.produceMBs.sidecar, summary.produceMBs.direct)} |`,
    )
    console.log(
      `| consume | ${summary.consumeMBs.direct} | ${summary.consumeMBs.sidecar} | ${ratio(summary.consumeMBs.sidecar, summary.consumeMBs.direct)} |`,
    )
    console.log(
      `\nsidecar: ${summary.sidecarCpuSecondsPerGB.toFixed(2)} CPU s per GB moved, peak RSS ${summary.sidecarPeakRssMB.toFixed(1)} MB`,
    )
    mkdirSync(new URL('../../bench/results/', import.meta.url), { recursive: true })
    const out = new URL(
      `../../bench/results/passthrough-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
      import.meta.url,
    )
    writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`)
    console.log(`figures written to ${out.pathname}`)
  } finally {
    sidecar.child.kill('SIGTERM')
    await cluster.stop()
  }
}

await main()
