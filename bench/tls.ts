/**
 * The cost of mTLS on the client side: Kafka's own perf tools produce (acks=1) and consume 1 KiB records through
 * two sidecar processes in front of the same broker, one with plaintext listeners and one terminating mTLS
 * (certificates from `certs init`, the clients' PEM keystores). One uncounted warm-up run each, then rounds that
 * alternate which goes first, so machine drift cancels. The broker side is plaintext for both: the difference is
 * the client-side TLS. Prints the median throughput of each, the ratio, and each sidecar's CPU seconds per GB moved
 * and peak RSS, and writes the figures to bench/results/tls-<time>.json.
 *
 *   npm run build && node dist/bench/tls.js [--records=200000] [--rounds=5] [--tls-thread=worker|main]
 *
 * --tls-thread: where the mTLS sidecar runs TLS (listen.tls.thread; default the shipped default, worker).
 *
 * Needs Java 17+ and Maven (the harness starts a single-node Kafka from the Maven jars). On a small machine the
 * Java clients' own TLS work competes with the sidecar for the same cores: the ratio is end to end, the CPU per GB
 * is the sidecar's alone.
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCertsInit } from '../src/commands/certs.js'
import { SIDECAR_NODE_FLAGS } from '../src/runtime/node-flags.js'
import { KafkaCluster } from '../test/harness/kafka-cluster.js'
import { type KafkaTool, runKafkaTool, spawnKafkaTool } from '../test/harness/kafka-tools.js'

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const RECORDS = arg('records', 200_000)
const ROUNDS = arg('rounds', 5)
const RECORD_SIZE = 1024
const TLS_THREAD = process.argv.find((a) => a.startsWith('--tls-thread='))?.split('=')[1]
if (TLS_THREAD !== undefined && TLS_THREAD !== 'worker' && TLS_THREAD !== 'main') {
  throw new Error(`--tls-thread: worker or main, not "${TLS_THREAD}"`)
}

type Target = 'plaintext' | 'mtls'

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
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : Number.NaN
}

async function startSidecar(
  upstream: string,
  tlsFlags: readonly string[],
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort()
  const portBase = 30_000 + Math.floor(Math.random() * 20_000)
  const child = spawn(
    process.execPath,
    [
      ...SIDECAR_NODE_FLAGS,
      ...(process.env.KSC_SIDECAR_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      new URL('../src/cli.js', import.meta.url).pathname,
      'run',
      ...['--upstream', upstream, '--listen', `127.0.0.1:${port}`, '--broker-port-base', String(portBase)],
      ...['--advertised-host', '127.0.0.1', '--admin', `127.0.0.1:${await freePort()}`, '--log-level', 'warn'],
      ...tlsFlags,
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
  return { child, port }
}

/**
 * A perf tool run to completion, with the CPU time of its JVM (sampled from /proc until it exits): the clients'
 * own TLS work is the other half of what mTLS costs.
 */
async function runTool(
  jars: { classpath: string; version: string },
  tool: KafkaTool,
  args: readonly string[],
): Promise<{ stdout: string; stderr: string; cpu: number }> {
  const p = await spawnKafkaTool(jars, tool, args, { jvmOptions: ['-Xmx512m'] })
  let stdout = ''
  let stderr = ''
  p.stdout.on('data', (d: Buffer) => {
    stdout += d
  })
  p.stderr.on('data', (d: Buffer) => {
    stderr += d
  })
  p.stdin.end()
  let cpu = 0
  const sample = setInterval(() => {
    try {
      cpu = cpuSeconds(p.pid)
    } catch {
      // gone
    }
  }, 50)
  const timeout = setTimeout(() => void p.stop(0), 600_000)
  await p.exited
  clearInterval(sample)
  clearTimeout(timeout)
  return { stdout, stderr, cpu }
}

/** A configuration file that sets only listen.tls.thread (the certificates come as flags, merged over it). */
function threadConfig(dir: string, thread: string): string {
  const file = join(dir, `tls-thread-${thread}.yaml`)
  writeFileSync(file, `listen:\n  tls:\n    cert: server.pem\n    key: server.key\n    thread: ${thread}\n`)
  return file
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ksc-bench-tls-'))
  const certs = runCertsInit({ dir, clients: ['bench'], hosts: [], days: 2, force: false })
  if (certs.exitCode !== 0) throw new Error(certs.stderr)
  const clientConfig = join(dir, 'client-bench.properties')

  process.stderr.write('starting a single-node Kafka...\n')
  const cluster = await KafkaCluster.start({ nodes: 1, name: 'bench-tls', log: (m) => process.stderr.write(`${m}\n`) })
  const jars = cluster.describe()
  const upstream = jars.bootstrapServers
  const sidecars: Record<Target, { child: ChildProcess; port: number }> = {
    plaintext: await startSidecar(upstream, []),
    mtls: await startSidecar(upstream, [
      ...(TLS_THREAD === undefined ? [] : ['--config', threadConfig(dir, TLS_THREAD)]),
      ...['--tls-cert', join(dir, 'server.pem'), '--tls-key', join(dir, 'server.key')],
      ...['--tls-client-ca', join(dir, 'ca.pem')],
    ]),
  }
  try {
    const topic = 'bench-tls-1k'
    await runKafkaTool(jars, 'topics', [
      ...['--bootstrap-server', upstream, '--create', '--topic', topic],
      ...['--partitions', '8', '--replication-factor', '1'],
    ])
    const results: Record<
      Target,
      { produce: number[]; consume: number[]; cpu: number; clientCpu: number; bytes: number }
    > = {
      plaintext: { produce: [], consume: [], cpu: 0, clientCpu: 0, bytes: 0 },
      mtls: { produce: [], consume: [], cpu: 0, clientCpu: 0, bytes: 0 },
    }
    /** One producer-perf-test and one consumer-perf-test through `target`: MB/s each and the sidecar's CPU seconds. */
    const runOnce = async (target: Target, records: number) => {
      const { child, port } = sidecars[target]
      const bootstrap = `127.0.0.1:${port}`
      const config = target === 'mtls' ? ['--command-config', clientConfig] : []
      const cpuBefore = cpuSeconds(child.pid!)
      const produced = await runTool(jars, 'producer-perf-test', [
        ...['--topic', topic, '--num-records', String(records), '--record-size', String(RECORD_SIZE)],
        ...['--throughput', '-1', ...config],
        ...['--command-property', `bootstrap.servers=${bootstrap}`, 'acks=1', 'linger.ms=5', 'batch.size=65536'],
      ])
      const p = /records sent, [\d.]+ records\/sec \(([\d.]+) MB\/sec\)/.exec(produced.stdout)
      if (!p) throw new Error(`producer-perf-test printed no summary:\n${produced.stdout}\n${produced.stderr}`)
      const consumed = await runTool(jars, 'consumer-perf-test', [
        ...['--bootstrap-server', bootstrap, '--topic', topic, '--num-records', String(records)],
        ...['--timeout', '60000', '--hide-header', ...config],
      ])
      // start.time, end.time, data.consumed.in.MB, MB.sec, ...
      const line = consumed.stdout
        .trim()
        .split('\n')
        .filter((l) => /^\d{4}-/.test(l))
        .pop()
      if (!line) throw new Error(`consumer-perf-test printed no summary:\n${consumed.stdout}\n${consumed.stderr}`)
      return {
        produce: Number(p[1]),
        consume: Number(line.split(',')[3]),
        cpu: cpuSeconds(child.pid!) - cpuBefore,
        clientCpu: produced.cpu + consumed.cpu,
      }
    }
    // Warm-up, not counted: the broker's and the sidecars' JIT, page cache, connections.
    for (const target of ['plaintext', 'mtls'] as const) await runOnce(target, Math.ceil(RECORDS / 4))
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which target goes first, so a warming or cooling machine favours neither.
      const order: Target[] = round % 2 === 0 ? ['plaintext', 'mtls'] : ['mtls', 'plaintext']
      for (const target of order) {
        const r = await runOnce(target, RECORDS)
        results[target].produce.push(r.produce)
        results[target].consume.push(r.consume)
        results[target].cpu += r.cpu
        results[target].clientCpu += r.clientCpu
        results[target].bytes += 2 * RECORDS * RECORD_SIZE
        process.stderr.write(`round ${round + 1} ${target}: produce ${r.produce} MB/s, consume ${r.consume} MB/s\n`)
      }
    }
    const perGb = (t: Target) => results[t].cpu / (results[t].bytes / 1e9)
    const clientPerGb = (t: Target) => results[t].clientCpu / (results[t].bytes / 1e9)
    const summary = {
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, kafka: jars.version },
      records: RECORDS,
      recordSize: RECORD_SIZE,
      rounds: ROUNDS,
      tls: 'client side mTLS (RSA 2048 certificates from certs init, Java PEM keystore), TLS 1.3, broker side plaintext',
      tlsThread: TLS_THREAD ?? 'default',
      produceMBs: { plaintext: median(results.plaintext.produce), mtls: median(results.mtls.produce) },
      consumeMBs: { plaintext: median(results.plaintext.consume), mtls: median(results.mtls.consume) },
      runs: { plaintext: results.plaintext, mtls: results.mtls },
      sidecarCpuSecondsPerGB: { plaintext: perGb('plaintext'), mtls: perGb('mtls') },
      clientJvmCpuSecondsPerGB: { plaintext: clientPerGb('plaintext'), mtls: clientPerGb('mtls') },
      sidecarPeakRssMB: {
        plaintext: peakRssMb(sidecars.plaintext.child.pid!),
        mtls: peakRssMb(sidecars.mtls.child.pid!),
      },
    }
    const ratio = (a: number, b: number) => (a / b).toFixed(2)
    console.log(
      `\n${RECORDS} records of ${RECORD_SIZE} B, ${ROUNDS} rounds, median MB/s through the sidecar (Kafka ${jars.version}, ${summary.machine.cpus} cores; listen.tls.thread ${summary.tlsThread})\n`,
    )
    console.log('| workload | plaintext | mTLS | ratio |')
    console.log('|---|---:|---:|---:|')
    console.log(
      `| produce acks=1 | ${summary.produceMBs.plaintext} | ${summary.produceMBs.mtls} | ${ratio(summary.produceMBs.mtls, summary.produceMBs.plaintext)} |`,
    )
    console.log(
      `| consume | ${summary.consumeMBs.plaintext} | ${summary.consumeMBs.mtls} | ${ratio(summary.consumeMBs.mtls, summary.consumeMBs.plaintext)} |`,
    )
    console.log('\n| listeners | sidecar CPU s per GB | sidecar peak RSS MB | client JVMs CPU s per GB |')
    console.log('|---|---:|---:|---:|')
    for (const t of ['plaintext', 'mtls'] as const) {
      console.log(
        `| ${t} | ${summary.sidecarCpuSecondsPerGB[t].toFixed(2)} | ${summary.sidecarPeakRssMB[t].toFixed(1)} | ${summary.clientJvmCpuSecondsPerGB[t].toFixed(2)} |`,
      )
    }
    console.log(
      `\nmTLS costs the sidecar ${(summary.sidecarCpuSecondsPerGB.mtls - summary.sidecarCpuSecondsPerGB.plaintext).toFixed(2)} CPU s per GB more (${ratio(summary.sidecarCpuSecondsPerGB.mtls, summary.sidecarCpuSecondsPerGB.plaintext)}x)`,
    )
    mkdirSync(new URL('../../bench/results/', import.meta.url), { recursive: true })
    const out = new URL(
      `../../bench/results/tls-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
      import.meta.url,
    )
    writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`)
    console.log(`figures written to ${out.pathname}`)
  } finally {
    for (const s of Object.values(sidecars)) s.child.kill('SIGTERM')
    await cluster.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
