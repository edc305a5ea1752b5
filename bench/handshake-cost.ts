/**
 * The server's CPU per full mTLS handshake, and what the handshakes do to the thread that runs the filters: the
 * sidecar with TLS on its own thread (listen.tls.thread: worker, the default) and on the main thread (main), each
 * with its handshake gate off so that it takes every handshake, against a bare Node tls.Server with the same
 * certificates in its own process (what Node and OpenSSL cost, the floor under the sidecar's figure). The client makes
 * --handshakes full handshakes (no session resumption), --concurrency at a time, each closed as soon as it is done.
 * Per target: the server process's CPU (/proc, all threads) divided by the handshakes completed, and for the
 * sidecars the main thread's event-loop delay over the window (p99 and max, from its /metrics, which resets them at
 * each scrape): how long a record of an established client could have waited behind a handshake. Targets alternate
 * over --reps repetitions.
 *
 *   npm run build && node dist/bench/handshake-cost.js [--handshakes 2000] [--concurrency 4] [--reps 3]
 *       [--key-type rsa|ec] [--upstream HOST:PORT] [--gate off|on]
 *
 * --gate on: the shipped gate (50 handshakes a second), the rate a flood gets. --upstream: the sidecars' upstream
 * (default: a local port that accepts and never answers; the handshakes do not reach a broker). Linux only (/proc).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { parseArgs } from 'node:util'
import { stringify } from 'yaml'
import { runCertsInit } from '../src/commands/certs.js'
import { createCa, issue } from '../test/support/openssl-pki.js'
import { cpuSeconds } from './lib/proc.js'
import { startSidecar, type Target } from './lib/targets.js'

const { values: opt } = parseArgs({
  options: {
    handshakes: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '4' },
    reps: { type: 'string', default: '3' },
    'key-type': { type: 'string', default: 'rsa' },
    upstream: { type: 'string' },
    gate: { type: 'string', default: 'off' },
  },
})

const say = (m: string) => process.stderr.write(`[handshake-cost ${new Date().toISOString().slice(11, 19)}] ${m}\n`)

interface Files {
  cert: string
  key: string
  ca: string
  clientCert: string
  clientKey: string
}

/** rsa: `certs init` (RSA 2048, the product's development PKI); ec: P-256 from the openssl CLI. */
function makeFiles(dir: string, keyType: string): Files {
  if (keyType === 'rsa') {
    const r = runCertsInit({ dir, clients: ['bench'], hosts: [], days: 2, force: false })
    if (r.exitCode !== 0) throw new Error(r.stderr)
    return {
      cert: join(dir, 'server.pem'),
      key: join(dir, 'server.key'),
      ca: join(dir, 'ca.pem'),
      clientCert: join(dir, 'client-bench.pem'),
      clientKey: join(dir, 'client-bench.key'),
    }
  }
  if (keyType !== 'ec') throw new Error(`--key-type: rsa or ec, not "${keyType}"`)
  const ca = createCa(dir, 'bench-ca')
  const server = issue(ca, { cn: 'sidecar', san: ['127.0.0.1', 'localhost'], usage: 'server' })
  const client = issue(ca, { cn: 'bench' })
  return { cert: server.cert, key: server.key, ca: ca.cert, clientCert: client.cert, clientKey: client.key }
}

/** A bare tls.Server in a process of its own: mTLS, TLS 1.2 at least (the sidecar's default), nothing else. */
async function startBare(files: Files): Promise<{ pid: number; address: string; stop: () => void }> {
  const script = `
    const fs = require('node:fs'), tls = require('node:tls')
    const f = JSON.parse(process.env.FILES)
    const server = tls.createServer({
      cert: fs.readFileSync(f.cert), key: fs.readFileSync(f.key), ca: fs.readFileSync(f.ca),
      requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2',
    }, (socket) => { socket.on('error', () => {}) })
    server.on('tlsClientError', () => {})
    server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'))`
  const child = spawn(process.execPath, ['-e', script], {
    env: { ...process.env, FILES: JSON.stringify(files) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
    child.once('exit', (code) => reject(new Error(`the bare server exited (${code})`)))
  })
  return { pid: child.pid!, address: `127.0.0.1:${port}`, stop: () => child.kill() }
}

/** A port that accepts connections and never answers: the sidecar's upstream when the bench is given none. */
function silentUpstream(): Promise<{ address: string; close: () => void }> {
  const held = new Set<net.Socket>()
  const server = net.createServer((s) => {
    held.add(s)
    s.on('error', () => {})
    s.on('close', () => held.delete(s))
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        close: () => {
          for (const s of held) s.destroy()
          server.close()
        },
      }),
    ),
  )
}

/** `count` full handshakes, `concurrency` at a time; resolves with how many completed and how long it took. */
async function handshakes(
  address: string,
  context: tls.SecureContext,
  count: number,
  concurrency: number,
): Promise<{ completed: number; failed: number; seconds: number }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))]
  let started = 0
  let completed = 0
  let failed = 0
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const s = tls.connect({ host, port, secureContext: context, servername: 'localhost' })
      s.once('secureConnect', () => {
        completed++
        s.destroy()
      })
      s.once('error', () => failed++)
      s.once('close', () => resolve())
    })
  const t0 = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < count) {
        started++
        await one()
      }
    }),
  )
  return { completed, failed, seconds: Number(process.hrtime.bigint() - t0) / 1e9 }
}

/** The main thread's event-loop delay since the last scrape, in ms (prom-client resets it at each collect). */
async function loopDelay(admin: string): Promise<{ p99Ms: number; maxMs: number }> {
  const text = await (await fetch(`http://${admin}/metrics`)).text()
  const read = (name: string) => Number(new RegExp(`^kafka_sidecar_${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1]) * 1000
  return { p99Ms: read('nodejs_eventloop_lag_p99_seconds'), maxMs: read('nodejs_eventloop_lag_max_seconds') }
}

interface Sample {
  target: string
  loop?: { p99Ms: number; maxMs: number }
  completed: number
  failed: number
  seconds: number
  serverCpuSeconds: number
  clientCpuSeconds: number
}

async function measure(
  name: string,
  target: { pid: number; address: string; admin?: string },
  context: tls.SecureContext,
) {
  const count = Number(opt.handshakes)
  const concurrency = Number(opt.concurrency)
  // Warm-up: the JIT and OpenSSL's first-use tables, outside the window.
  await handshakes(target.address, context, 100, concurrency)
  if (target.admin !== undefined) await loopDelay(target.admin)
  const cpu0 = cpuSeconds(target.pid)
  const client0 = process.cpuUsage()
  const r = await handshakes(target.address, context, count, concurrency)
  const client = process.cpuUsage(client0)
  const loop = target.admin === undefined ? undefined : await loopDelay(target.admin)
  const sample: Sample = {
    target: name,
    ...(loop !== undefined && { loop }),
    ...r,
    serverCpuSeconds: cpuSeconds(target.pid) - cpu0,
    clientCpuSeconds: (client.user + client.system) / 1e6,
  }
  say(
    `${name}: ${r.completed} handshakes (${r.failed} failed) in ${r.seconds.toFixed(1)} s, ` +
      `server ${((sample.serverCpuSeconds / r.completed) * 1e6).toFixed(0)} µs CPU per handshake, ` +
      `${((sample.serverCpuSeconds / (r.completed + r.failed)) * 1e6).toFixed(0)} per connection` +
      (loop === undefined
        ? ''
        : `, main thread delay p99 ${loop.p99Ms.toFixed(1)} ms, max ${loop.maxMs.toFixed(1)} ms`),
  )
  return sample
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ksc-handshake-cost-'))
  const files = makeFiles(dir, opt['key-type'])
  const context = tls.createSecureContext({
    ca: readFileSync(files.ca),
    cert: readFileSync(files.clientCert),
    key: readFileSync(files.clientKey),
  })
  const upstream = opt.upstream === undefined ? await silentUpstream() : undefined
  const sidecarConfig = (thread: string) => {
    const file = join(dir, `sidecar-${thread}.yaml`)
    writeFileSync(
      file,
      stringify({
        listen: {
          tls: {
            cert: files.cert,
            key: files.key,
            ca: files.ca,
            thread,
            // Off: every handshake is taken, as the 50 a second the shipped gate lets through are. On: the shipped
            // gate, which queues or refuses what comes faster (the figure is then per connection, refused or not).
            ...(opt.gate === 'off' && { maxHandshakesPerSecond: 0, maxPendingHandshakes: 0 }),
          },
        },
      }),
    )
    return file
  }
  say(`${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2))}; files in ${dir}`)
  const sidecars: Record<string, Target> = {}
  for (const thread of ['worker', 'main']) {
    sidecars[thread] = await startSidecar({
      upstream: opt.upstream ?? upstream!.address,
      maxNodeId: 1,
      logDir: dir,
      label: thread,
      configFile: sidecarConfig(thread),
    })
  }
  const bare = await startBare(files)
  // The sidecars' own CPU while nothing connects (timers, metadata refreshes), to set the gated figures against.
  const idle0 = Object.fromEntries(Object.entries(sidecars).map(([k, t]) => [k, cpuSeconds(t.pid!)]))
  await new Promise((r) => setTimeout(r, 10_000))
  const idlePercent = Object.fromEntries(
    Object.entries(sidecars).map(([k, t]) => [k, ((cpuSeconds(t.pid!) - idle0[k]!) / 10) * 100]),
  )
  say(`sidecars idle: ${JSON.stringify(idlePercent)} % of a core`)
  const samples: Sample[] = []
  try {
    const names = opt.gate === 'off' ? ['worker', 'main', 'bare'] : ['worker', 'main']
    for (let rep = 0; rep < Number(opt.reps); rep++) {
      // Rotating which goes first, so that none always meets a machine another has just warmed.
      const order = names.map((_, i) => names[(i + rep) % names.length]!)
      for (const name of order) {
        const sidecar = sidecars[name]
        const target =
          sidecar === undefined ? bare : { pid: sidecar.pid!, address: sidecar.bootstrap, admin: sidecar.admin! }
        samples.push(await measure(name, target, context))
      }
    }
  } finally {
    bare.stop()
    for (const sidecar of Object.values(sidecars)) await sidecar.stop()
    upstream?.close()
  }
  const us = (s: Sample) => (s.serverCpuSeconds / s.completed) * 1e6
  const range = (xs: number[], digits = 0) => `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}`
  console.log(
    `\nServer CPU per full mTLS handshake, ${opt['key-type'] === 'rsa' ? 'RSA 2048 (certs init)' : 'EC P-256'}, ` +
      `${opt.handshakes} handshakes x ${opt.reps} reps, ${opt.concurrency} at a time, handshake gate ${opt.gate}; ` +
      `sidecars idle: worker ${idlePercent.worker!.toFixed(1)}%, main ${idlePercent.main!.toFixed(1)}% of a core; ` +
      `${cpus().length} cores, Node ${process.version}\n`,
  )
  console.log(
    '| target | µs CPU per handshake (each rep) | handshakes/s | main thread delay p99 / max, ms (each rep) | client µs CPU per handshake |',
  )
  console.log('|---|---|---:|---|---:|')
  for (const name of ['worker', 'main', 'bare']) {
    const mine = samples.filter((s) => s.target === name)
    if (mine.length === 0) continue
    const loops = mine.flatMap((s) =>
      s.loop === undefined ? [] : [`${s.loop.p99Ms.toFixed(1)} / ${s.loop.maxMs.toFixed(1)}`],
    )
    console.log(
      `| ${name === 'bare' ? 'bare tls.Server' : `sidecar, thread: ${name}`} | ${mine.map((s) => us(s).toFixed(0)).join(', ')} | ` +
        `${range(mine.map((s) => s.completed / s.seconds))} | ${loops.length === 0 ? '-' : loops.join('; ')} | ` +
        `${range(mine.map((s) => (s.clientCpuSeconds / s.completed) * 1e6))} |`,
    )
  }
}

await main()
