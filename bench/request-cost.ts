/**
 * What the sidecar costs per small request, without a JVM: the bench's connections driver (N connections, each
 * producing one small record at a time, closed loop) against the scripted broker (bench/lib/scripted-broker.ts),
 * through each sidecar variant in turn. The sidecar's CPU (utime+stime from /proc) over the active phase divided by
 * the requests answered is the figure npm run bench reports as "CPU per request" for its connections phase, here
 * free of the broker's noise, so builds can be compared (--variant=LABEL@DIR: another checkout's build).
 *
 *   npm run build && node dist/bench/request-cost.js [--connections=100] [--seconds=10] [--reps=3] [--variant=...]...
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConnectionsDriver } from './lib/drivers.js'
import { ProcessWindow } from './lib/proc.js'
import { startScriptedBroker, TOPIC } from './lib/scripted-broker.js'
import { median } from './lib/stats.js'
import { startSidecar } from './lib/targets.js'
import { variantsFromArgv } from './lib/variants.js'

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const CONNECTIONS = arg('connections', 100)
const SECONDS = arg('seconds', 10)
const REPS = arg('reps', 3)

async function main(): Promise<void> {
  const variants = variantsFromArgv()
  const broker = await startScriptedBroker()
  const upstream = `127.0.0.1:${broker.port}`
  const logDir = mkdtempSync(join(tmpdir(), 'ksc-request-cost-'))
  const rows = new Map<string, { us: number[]; rps: number[] }>()
  try {
    for (let rep = 0; rep < REPS; rep++) {
      // Alternate the order each repetition, so neither variant always runs on a warmer or cooler machine.
      const order = rep % 2 === 0 ? variants : [...variants].reverse()
      for (const v of order) {
        const target = await startSidecar({
          upstream,
          maxNodeId: 1,
          logDir,
          label: v.label,
          nodeArgs: v.nodeArgs,
          ...(v.configFile === undefined ? {} : { configFile: v.configFile }),
          ...(v.cli === undefined ? {} : { cli: v.cli }),
        })
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
            const rps = active.requests / active.seconds
            const row = rows.get(v.label) ?? { us: [], rps: [] }
            row.us.push(us)
            row.rps.push(rps)
            rows.set(v.label, row)
            console.log(
              `rep ${rep + 1} ${v.label}: ${us.toFixed(1)} CPU us/request, ${Math.round(rps)} requests/s, ${active.errors} errors`,
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
  console.log('| target | sidecar CPU us per request | requests/s |')
  console.log('|---|---:|---:|')
  for (const [label, r] of rows) {
    const range = `${Math.min(...r.us).toFixed(1)}-${Math.max(...r.us).toFixed(1)}`
    console.log(`| ${label} | ${median(r.us).toFixed(1)} (${range}) | ${Math.round(median(r.rps))} |`)
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
