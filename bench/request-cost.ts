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
 *   npm run build && node dist/bench/request-cost.js [--connections=100] [--seconds=10] [--reps=3] [--variant=...]...
 *     [--relay=node] [--relay=haproxy]
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConnectionsDriver } from './lib/drivers.js'
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

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
