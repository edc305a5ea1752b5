/**
 * What the sidecar costs per small request, without a JVM: the bench's connections driver (N connections, each
 * producing one small record at a time, closed loop) against the scripted broker (bench/lib/scripted-broker.ts),
 * through each sidecar variant in turn. The sidecar's CPU (utime+stime from /proc) over the active phase divided by
 * the requests answered is the figure npm run bench reports as "CPU per request" for its connections phase, here
 * free of the broker's noise, so builds can be compared (--variant=LABEL@DIR: another checkout's build).
 *
 * `--direct` adds the driver straight to the scripted broker (no proxy: requests/s only, the ratio's denominator).
 * `--relay=node` and/or `--relay=haproxy` add a byte relay with no Kafka knowledge (bench/relay.ts, HAProxy in TCP mode)
 * measured the same way: the floor any proxy's CPU per request starts from on this machine.
 *
 * `--paired=N` measures instead every contender at once, in N rounds of short alternating windows
 * (`--window-seconds`, default 2; bench/lib/paired-windows.ts), and reports each one's CPU per request minus the first
 * proxy's as the median of the per-round differences: how a filter's cost is told apart from this machine's noise.
 *
 *   npm run build && node dist/bench/request-cost.js [--connections=100] [--seconds=10] [--reps=3] [--variant=...]...
 *     [--relay=node] [--relay=haproxy] [--paired=20 [--window-seconds=2]]
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConnectionsDriver } from './lib/drivers.js'
import { pairedTable, runPairedWindows } from './lib/paired-windows.js'
import { freePort } from './lib/ports.js'
import { ProcessWindow } from './lib/proc.js'
import { startScriptedBroker, TOPIC } from './lib/scripted-broker.js'
import { median } from './lib/stats.js'
import { type RelayKind, startRelay, startSidecar, type Target } from './lib/targets.js'
import { variantsFromArgv } from './lib/variants.js'

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const CONNECTIONS = arg('connections', 100)
const SECONDS = arg('seconds', 10)
const REPS = arg('reps', 3)
const PAIRED_ROUNDS = arg('paired', 0)
const WINDOW_SECONDS = arg('window-seconds', 2)
const RELAYS = process.argv
  .filter((a) => a.startsWith('--relay='))
  .map((a) => {
    const kind = a.slice('--relay='.length)
    if (kind !== 'node' && kind !== 'haproxy') throw new Error(`${a}: expected --relay=node or --relay=haproxy`)
    return kind as RelayKind
  })

interface Contender {
  label: string
  start(upstream: { host: string; port: number }, logDir: string): Promise<Pick<Target, 'bootstrap' | 'pid' | 'stop'>>
}

async function main(): Promise<void> {
  const contenders: Contender[] = [
    ...(process.argv.includes('--direct')
      ? [
          {
            label: 'direct',
            start: async (upstream: { host: string; port: number }) => ({
              bootstrap: `${upstream.host}:${upstream.port}`,
              pid: undefined,
              stop: async () => {},
            }),
          },
        ]
      : []),
    ...RELAYS.map(
      (kind): Contender => ({
        label: kind === 'node' ? 'relay (node)' : 'relay (haproxy)',
        start: async (upstream, logDir) => startRelay({ kind, port: await freePort(), target: upstream, logDir }),
      }),
    ),
    ...variantsFromArgv().map(
      (v): Contender => ({
        label: v.label,
        start: (upstream, logDir) =>
          startSidecar({
            upstream: `${upstream.host}:${upstream.port}`,
            maxNodeId: 1,
            logDir,
            label: v.label,
            nodeArgs: v.nodeArgs,
            ...(v.configFile === undefined ? {} : { configFile: v.configFile }),
            ...(v.cli === undefined ? {} : { cli: v.cli }),
          }),
      }),
    ),
  ]
  const broker = await startScriptedBroker()
  const upstream = { host: '127.0.0.1', port: broker.port }
  const logDir = mkdtempSync(join(tmpdir(), 'ksc-request-cost-'))
  if (PAIRED_ROUNDS > 0) {
    try {
      await paired(contenders, upstream, logDir)
    } finally {
      await broker.close()
    }
    return
  }
  const rows = new Map<string, { us: number[]; userUs: number[]; rps: number[] }>()
  try {
    for (let rep = 0; rep < REPS; rep++) {
      // Alternate the order each repetition, so neither variant always runs on a warmer or cooler machine.
      const order = rep % 2 === 0 ? contenders : [...contenders].reverse()
      for (const v of order) {
        const target = await v.start(upstream, logDir)
        try {
          const { driver } = await ConnectionsDriver.open({
            bootstrap: target.bootstrap,
            connections: CONNECTIONS,
            topic: TOPIC,
            partitions: 8,
            recordSize: 100,
            activeMs: SECONDS * 1000,
          })
          try {
            // A first active round warms the JIT; the second is measured.
            await driver.active()
            const window = new ProcessWindow(target.pid)
            window.begin()
            const active = await driver.active()
            const w = window.end()
            const us = (w.cpuSeconds * 1e6) / active.requests
            const userUs = (w.userSeconds * 1e6) / active.requests
            const rps = active.requests / active.seconds
            const row = rows.get(v.label) ?? { us: [], userUs: [], rps: [] }
            row.us.push(us)
            row.userUs.push(userUs)
            row.rps.push(rps)
            rows.set(v.label, row)
            console.log(
              `rep ${rep + 1} ${v.label}: ${us.toFixed(1)} CPU us/request (${userUs.toFixed(1)} user, ${(us - userUs).toFixed(1)} kernel), ${Math.round(rps)} requests/s, ${active.errors} errors`,
            )
          } finally {
            await driver.close()
          }
        } finally {
          await target.stop()
        }
      }
    }
  } finally {
    await broker.close()
  }
  console.log(
    `\n${CONNECTIONS} connections, 100 B records one at a time, ${SECONDS} s measured, ${REPS} repetitions, medians (range)\n`,
  )
  const direct = rows.get('direct')
  console.log('| target | proxy CPU us per request | of which user space | requests/s | of direct |')
  console.log('|---|---:|---:|---:|---:|')
  for (const [label, r] of rows) {
    const cpu =
      label === 'direct'
        ? 'n/a'
        : `${median(r.us).toFixed(1)} (${Math.min(...r.us).toFixed(1)}-${Math.max(...r.us).toFixed(1)})`
    const user = label === 'direct' ? 'n/a' : median(r.userUs).toFixed(1)
    // Per repetition against the direct run of the same repetition, then the median (as npm run bench does).
    const ratio = direct === undefined ? '' : median(r.rps.map((x, i) => x / (direct.rps[i] ?? Number.NaN))).toFixed(2)
    console.log(`| ${label} | ${cpu} | ${user} | ${Math.round(median(r.rps))} | ${ratio} |`)
  }
}

/** Every contender at once, taking turns in short windows: paired differences to the first proxy. */
async function paired(
  contenders: readonly Contender[],
  upstream: { host: string; port: number },
  logDir: string,
): Promise<void> {
  const started: { label: string; target: Pick<Target, 'bootstrap' | 'pid' | 'stop'> }[] = []
  try {
    for (const c of contenders) started.push({ label: c.label, target: await c.start(upstream, logDir) })
    const summaries = await runPairedWindows(
      started.map((s) => ({ label: s.label, bootstrap: s.target.bootstrap, pid: s.target.pid })),
      {
        connections: CONNECTIONS,
        windows: PAIRED_ROUNDS,
        windowMs: WINDOW_SECONDS * 1000,
        topic: TOPIC,
        log: (line) => console.log(line),
      },
    )
    const errors = summaries.reduce((n, s) => n + s.samples.reduce((m, x) => m + x.errors, 0), 0)
    console.log(
      `\n${CONNECTIONS} connections each, 100 B records one at a time, ${PAIRED_ROUNDS} rounds of ${WINDOW_SECONDS} s windows per contender, ${errors} errors; medians (range)\n`,
    )
    console.log(pairedTable(summaries))
  } finally {
    for (const s of started) await s.target.stop()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
