/**
 * The sidecar's own cost per byte, measured without a JVM: a scripted broker and client (bench/lib/scripted-broker.ts)
 * that answer and send pre-encoded frames, so nearly all the CPU the machine spends is the proxy's, and its figures
 * repeat to a few percent where a real broker's drift by tens. Produce: 512 KiB requests (8 partitions x 64 KiB
 * batches of 1 KiB records, acks=1), 5 in flight, as kafka-producer-perf-test sends them; consume: one Fetch at a time
 * answered with 1 MiB (8 x 128 KiB), as a caught-up consumer gets them.
 *
 *   npm run build && node dist/bench/proxy-cost.js [--mb=1000] [--reps=5] [--variant=LABEL[:CONFIG.yaml[:NODE ARGS]]]...
 *     [--relay=node] [--relay=haproxy]
 *
 * Prints per target the throughput (record-value MB/s, client and scripted broker in this process) and, for the
 * sidecar variants, CPU seconds per GB of record values (utime+stime of the sidecar process from /proc) and peak
 * RSS; writes bench/results/proxy-cost-<time>.json. Variants as in bench/passthrough.ts: the default is one,
 * "sidecar", as shipped (statistics on). --relay adds a byte relay with no Kafka knowledge (bench/relay.ts, HAProxy),
 * measured the same way: the floor any proxy's CPU per GB starts from here.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './lib/ports.js'
import { ProcessWindow } from './lib/proc.js'
import {
  connectClient,
  DEFAULT_WORKLOAD,
  runFetch,
  runProduce,
  type ScriptedBroker,
  startScriptedBroker,
} from './lib/scripted-broker.js'
import { median } from './lib/stats.js'
import { type RelayKind, startRelay, startSidecar, type Target } from './lib/targets.js'
import { variantsFromArgv } from './lib/variants.js'

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const MB = arg('mb', 1000)
const REPS = arg('reps', 5)
const RELAYS = process.argv
  .filter((a) => a.startsWith('--relay='))
  .map((a) => {
    const kind = a.slice('--relay='.length)
    if (kind !== 'node' && kind !== 'haproxy') throw new Error(`${a}: expected --relay=node or --relay=haproxy`)
    return kind as RelayKind
  })

interface Figures {
  produceMBs: number[]
  fetchMBs: number[]
  produceCpuPerGB: number[]
  fetchCpuPerGB: number[]
  peakRssMB: number[]
}

async function main(): Promise<void> {
  const variants = variantsFromArgv()
  const broker: ScriptedBroker = await startScriptedBroker()
  const upstream = `127.0.0.1:${broker.port}`
  const logDir = mkdtempSync(join(tmpdir(), 'ksc-proxy-cost-'))
  const targets: Target[] = [
    { name: 'direct', kind: 'direct', bootstrap: upstream, pid: undefined, stop: async () => {} },
  ]
  const results = new Map<string, Figures>()
  try {
    for (const kind of RELAYS) {
      const relay = await startRelay({
        kind,
        port: await freePort(),
        target: { host: '127.0.0.1', port: broker.port },
        logDir,
      })
      targets.push({ ...relay, name: kind === 'node' ? 'relay (node)' : 'relay (haproxy)' })
    }
    for (const v of variants) {
      const t = await startSidecar({
        upstream,
        maxNodeId: 1,
        logDir,
        nodeArgs: v.nodeArgs,
        ...(v.configFile === undefined ? {} : { configFile: v.configFile }),
        ...(v.cli === undefined ? {} : { cli: v.cli }),
      })
      targets.push({ ...t, name: v.label })
    }
    for (const t of targets)
      results.set(t.name, { produceMBs: [], fetchMBs: [], produceCpuPerGB: [], fetchCpuPerGB: [], peakRssMB: [] })
    // Warm-up: JIT of the sidecar (and of this process) before anything is timed.
    for (const t of targets) {
      const conn = await connectClient(t.bootstrap, t.kind === 'relay')
      await runProduce(conn, DEFAULT_WORKLOAD, 100e6)
      await runFetch(conn, DEFAULT_WORKLOAD, 100e6)
      conn.close()
    }
    const bytes = MB * 1e6
    for (let rep = 0; rep < REPS; rep++) {
      const order = targets.map((_, i) => targets[(i + rep) % targets.length]!)
      for (const t of order) {
        const f = results.get(t.name)!
        const conn = await connectClient(t.bootstrap, t.kind === 'relay')
        const pw = new ProcessWindow(t.pid)
        pw.begin()
        f.produceMBs.push(await runProduce(conn, DEFAULT_WORKLOAD, bytes))
        const p = pw.end()
        const fw = new ProcessWindow(t.pid)
        fw.begin()
        f.fetchMBs.push(await runFetch(conn, DEFAULT_WORKLOAD, bytes))
        const c = fw.end()
        conn.close()
        if (t.pid !== undefined) {
          f.produceCpuPerGB.push(p.cpuSeconds / (bytes / 1e9))
          f.fetchCpuPerGB.push(c.cpuSeconds / (bytes / 1e9))
          f.peakRssMB.push(Math.max(p.peakRssMb, c.peakRssMb))
        }
        process.stderr.write(
          `rep ${rep + 1} ${t.name}: produce ${f.produceMBs.at(-1)!.toFixed(0)} MB/s` +
            (t.pid === undefined ? '' : ` (${f.produceCpuPerGB.at(-1)!.toFixed(2)} CPU s/GB)`) +
            `, fetch ${f.fetchMBs.at(-1)!.toFixed(0)} MB/s` +
            (t.pid === undefined ? '' : ` (${f.fetchCpuPerGB.at(-1)!.toFixed(2)} CPU s/GB)`) +
            '\n',
        )
      }
    }
    const fixed = (xs: number[], d = 2) => (xs.length === 0 ? 'n/a' : median(xs).toFixed(d))
    const range = (xs: number[], d = 2) =>
      xs.length === 0 ? '' : ` (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`
    console.log(
      `\n${MB} MB of 1 KiB record values per phase, ${REPS} repetitions, medians (range); ${cpus().length} cores, Node ${process.version}\n`,
    )
    console.log('| target | produce MB/s | produce CPU s/GB | fetch MB/s | fetch CPU s/GB | peak RSS MB |')
    console.log('|---|---:|---:|---:|---:|---:|')
    for (const t of targets) {
      const f = results.get(t.name)!
      console.log(
        `| ${t.name} | ${fixed(f.produceMBs, 0)} | ${fixed(f.produceCpuPerGB)}${range(f.produceCpuPerGB)} | ` +
          `${fixed(f.fetchMBs, 0)} | ${fixed(f.fetchCpuPerGB)}${range(f.fetchCpuPerGB)} | ${fixed(f.peakRssMB, 1)} |`,
      )
    }
    mkdirSync(new URL('../../bench/results/', import.meta.url), { recursive: true })
    const out = new URL(
      `../../bench/results/proxy-cost-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
      import.meta.url,
    )
    writeFileSync(
      out,
      `${JSON.stringify({ mb: MB, reps: REPS, node: process.version, cpus: cpus().length, workload: DEFAULT_WORKLOAD, variants, results: Object.fromEntries(results) }, null, 2)}\n`,
    )
    console.log(`figures written to ${out.pathname}`)
  } finally {
    for (const t of targets) await t.stop()
    await broker.close()
  }
}

await main()
