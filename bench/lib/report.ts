/**
 * The markdown report of a run: machine, throughput, latency, connection scaling, and the product's targets
 * checked against the figures (met or missed, by how much). Printed by `npm run bench`, saved beside the JSON,
 * and pasted into BENCHMARKS.md with --update-doc.
 */
import { type BenchResult, pairedRatio, spreadOf, type ThroughputRun } from './results.js'
import { formatSpread, type Spread, spread } from './stats.js'

const PROXY_CAP_RSS_MB = 100
const THROUGHPUT_TARGET = 0.95
const ADDED_P99_TARGET_MS = 1

const f = formatSpread
const fixed = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a')

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
}

function cellsOf<R extends { cell: string }>(runs: readonly R[]): string[] {
  return [...new Set(runs.map((r) => r.cell))]
}

/**
 * Where the CPU went, per target: the whole machine's busy seconds per GB and the broker's. When direct already keeps
 * every core busy, a target's ratio to direct is about direct's machine CPU per GB over its own, so these say which
 * part of a slower target is the proxy's and which is work it makes others do (a tap's copies are written by the broker too).
 */
function machineCpuTable(result: BenchResult): string[] {
  const targets = result.targets
  const header = ['workload']
  for (const t of targets) header.push(`${t} machine CPU s/GB`)
  for (const t of targets) header.push(`${t} broker CPU s/GB`)
  const rows = cellsOf(result.throughput).map((cell) => {
    const runs = result.throughput.filter((r) => r.cell === cell)
    const column = (t: string, pick: (r: ThroughputRun) => number | undefined): string =>
      f(
        spreadOf(
          runs,
          (r) => r.target === t,
          (r) => pick(r) ?? Number.NaN,
        ),
        1,
      )
    return [
      cell,
      ...targets.map((t) => column(t, (r) => r.machineCpuSecondsPerGB)),
      ...targets.map((t) => column(t, (r) => r.brokerCpuSecondsPerGB)),
    ]
  })
  return [
    '#### Machine and broker CPU per GB',
    '',
    table(header, rows),
    '',
    'Machine: busy seconds of every core (/proc/stat) over the repetition, per 10^9 bytes of record values, load ' +
      "generators' start-up included; broker: the bench broker's JVM alone. With the machine busy in direct's own " +
      "runs, a target's ratio to direct follows direct's machine CPU per GB over the target's.",
  ]
}

export interface TargetCheck {
  target: string
  met: boolean
  detail: string
}

export function renderReport(result: BenchResult): { markdown: string; checks: TargetCheck[] } {
  const proxies = result.targets.filter((t) => t !== 'direct')
  const m = result.machine
  const out: string[] = []
  const load = result.loadDuringRun
  out.push(
    `Run ${result.startedAt} (${result.matrix.name}, ${result.matrix.reps} repetitions; median, range in parentheses).`,
    '',
    `Machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGB} GB RAM, Linux ${m.kernel}; Node ${m.node}; ` +
      `${Object.entries(m.java)
        .map(([role, v]) => `${role}: ${v}`)
        .join('; ')}; Kafka ${result.versions.kafka} (single broker, KRaft)` +
      `${result.versions.kroxylicious ? `; Kroxylicious ${result.versions.kroxylicious}` : ''}; kafkajs ${result.versions.kafkajs}.`,
    `Load average: ${m.loadBefore.join(' / ')} (1/5/15 min) before the run; 1-minute load ${f(load, 2)} during it ` +
      '(our own load generators, broker and proxy included).',
    '',
  )
  for (const [target, why] of Object.entries(result.skipped)) out.push(`**${target} not measured:** ${why}`, '')
  if (result.failures.length > 0) {
    out.push(
      `**${result.failures.length} repetition(s) failed** and are left out of the medians:`,
      ...result.failures.map((x) => `- ${x.split('\n')[0]}`),
      '',
    )
  }

  const counted = Object.entries(result.filterCounters ?? {}).filter(([, c]) => Object.keys(c).length > 0)
  if (counted.length > 0) {
    out.push(
      "Filter counters at the end of throughput and latency (from each sidecar's /metrics, summed over labels):",
      '',
    )
    for (const [target, c] of counted) {
      const items = Object.entries(c)
        .filter(([, v]) => v > 0)
        .map(([name, v]) => `${name.replace(/^kafka_sidecar_filter_/, '')} ${Math.round(v)}`)
      out.push(`- ${target}: ${items.length > 0 ? items.join(', ') : 'all zero'}`)
    }
    out.push('')
  }

  // Throughput
  if (result.throughput.length > 0) {
    out.push('### Throughput', '')
    const header = ['workload', 'direct MB/s', 'direct rec/s']
    for (const p of proxies) header.push(`${p} MB/s`, `${p} / direct`)
    for (const p of proxies) header.push(`${p} CPU s/GB`)
    for (const p of proxies) header.push(`${p} peak RSS MB`)
    const rows = cellsOf(result.throughput).map((cell) => {
      const runs = result.throughput.filter((r) => r.cell === cell)
      const of = (target: string, pick: (r: (typeof runs)[number]) => number): Spread =>
        spreadOf(runs, (r) => r.target === target, pick)
      const row = [
        cell,
        f(of('direct', (r) => r.mbPerSec)),
        f(
          of('direct', (r) => r.recordsPerSec),
          0,
        ),
      ]
      for (const p of proxies) {
        row.push(
          f(of(p, (r) => r.mbPerSec)),
          f(
            pairedRatio(runs, p, (r) => r.mbPerSec),
            2,
          ),
        )
      }
      for (const p of proxies)
        row.push(
          f(
            of(p, (r) => r.proxyCpuSecondsPerGB),
            2,
          ),
        )
      for (const p of proxies)
        row.push(
          f(
            of(p, (r) => r.proxyPeakRssMb),
            0,
          ),
        )
      return row
    })
    out.push(table(header, rows), '')
    out.push(
      'MB = 10^6 bytes of record values. Produce: kafka-producer-perf-test (linger.ms=5, batch.size=65536) or kafkajs ' +
        '(4 sends of about 128 KiB in flight); consume: kafka-consumer-perf-test (fetch phase, after the group join) or ' +
        'kafkajs (first batch to last). CPU s/GB: CPU seconds of the proxy process per 10^9 bytes of record values moved. ' +
        'Peak RSS: high-water mark of the proxy during the repetition (reset before each).',
      '',
    )
    if (result.throughput.some((r) => r.machineCpuSecondsPerGB !== undefined)) {
      out.push(...machineCpuTable(result), '')
    }
  }

  // Latency
  if (result.latency.length > 0) {
    out.push('### Produce latency at half of the direct saturation rate', '')
    const header = ['workload', 'rate rec/s', 'direct p50 / p99 / p99.9 ms']
    for (const p of proxies) header.push(`${p} p50 / p99 / p99.9 ms`, `${p} added p99 ms`)
    const rows = cellsOf(result.latency).map((cell) => {
      const runs = result.latency.filter((r) => r.cell === cell)
      const digits = cell.startsWith('kafkajs') ? 2 : 0
      const pct = (target: string): string =>
        ['p50Ms', 'p99Ms', 'p999Ms']
          .map((k) =>
            fixed(
              spreadOf(
                runs,
                (r) => r.target === target,
                (r) => r[k as 'p50Ms'],
              ).median,
              digits,
            ),
          )
          .join(' / ')
      const row = [cell, fixed(runs[0]?.rate ?? Number.NaN, 0), pct('direct')]
      for (const p of proxies) row.push(pct(p), f(addedP99(runs, p), 2))
      return row
    })
    out.push(table(header, rows), '')
    out.push(
      'Fixed-rate produce (acks as named, linger.ms=0 for the perf tool); the first 3 s are a warm-up left out of the ' +
        "figures, then 10 s (quick) or 20 s (full) are timed. Kafka's perf tool times whole milliseconds; " +
        'the kafkajs driver times every send() in microseconds (open loop, a send every 2 ms). ' +
        '"added p99" is the proxy\'s p99 minus direct\'s p99 in the same repetition (median and range over repetitions).',
      '',
    )
  }

  // Connections
  if (result.connections.length > 0) {
    out.push('### Cost of concurrent client connections', '')
    const header = [
      'connections',
      'target',
      'idle RSS MB',
      'idle RSS anon MB',
      'idle CPU %',
      'active req/s',
      'active CPU µs/req',
      'active CPU %',
      'active peak RSS MB',
      'active p99 ms',
    ]
    const rows: string[][] = []
    const counts = [...new Set(result.connections.map((r) => r.connections))]
    for (const n of counts) {
      for (const target of result.targets) {
        const runs = result.connections.filter((r) => r.connections === n && r.target === target)
        if (runs.length === 0) continue
        const s = (pick: (r: (typeof runs)[number]) => number) => spreadOf(runs, () => true, pick)
        rows.push([
          String(n),
          target,
          f(s((r) => r.idleRssMb)),
          f(s((r) => r.idleRssAnonMb)),
          f(s((r) => r.idleCpuPercent)),
          f(
            s((r) => r.activeRequestsPerSec),
            0,
          ),
          f(
            s((r) => r.activeCpuUsPerRequest),
            0,
          ),
          f(
            s((r) => r.activeCpuPercent),
            0,
          ),
          f(s((r) => r.activePeakRssMb)),
          f(
            s((r) => r.activeP99Us / 1000),
            2,
          ),
        ])
      }
    }
    out.push(table(header, rows), '')
    out.push(
      'Each repetition starts a fresh proxy process and warms it (10 connections producing for 2 s); then for N = ' +
        `${[...new Set(result.connections.map((r) => r.connections))].join(', ')} in turn it opens N connections ` +
        '(ApiVersions + Metadata each), holds them idle, has every connection produce one 100 B record at a time ' +
        '(acks=1, closed loop), and closes them. Idle RSS is read with the N connections open (anon: without the ' +
        'pages of the executable and libraries); "direct" has no proxy ' +
        `process. Proxy RSS right after start: ${proxies
          .map(
            (p) =>
              `${p} ${f(
                spreadOf(
                  result.connections,
                  (r) => r.target === p,
                  (r) => r.startRssMb,
                ),
              )} MB`,
          )
          .join(', ')}.`,
      '',
    )
  }

  // Profile
  if (result.profile) {
    out.push(
      `### Sidecar CPU profile (top self time; busy ${fixed(result.profile.busyMs / 1000)} s of ${fixed(result.profile.totalMs / 1000)} s sampled)`,
      '',
    )
    out.push(
      table(
        ['function', 'self ms', '% of busy'],
        result.profile.top.map((e) => [`\`${e.frame}\``, fixed(e.selfMs, 0), fixed(e.percent)]),
      ),
      '',
    )
  }

  const checks = checkTargets(result)
  if (checks.length > 0) {
    out.push('### Targets', '')
    out.push(
      table(
        ['target', 'met', 'measured'],
        checks.map((c) => [c.target, c.met ? 'yes' : '**no**', c.detail]),
      ),
      '',
    )
  }
  return { markdown: out.join('\n'), checks }
}

function addedP99(runs: readonly BenchResultLatency[], target: string): Spread {
  const direct = new Map(runs.filter((r) => r.target === 'direct').map((r) => [r.rep, r.p99Ms]))
  const added: number[] = []
  for (const r of runs) {
    const d = direct.get(r.rep)
    if (r.target === target && d !== undefined) added.push(r.p99Ms - d)
  }
  return spread(added)
}

type BenchResultLatency = BenchResult['latency'][number]

/** The issue's targets for pass-through (the 'sidecar' target) and against the peer, as measured. */
export function checkTargets(result: BenchResult): TargetCheck[] {
  const checks: TargetCheck[] = []
  const hasSidecar = result.targets.includes('sidecar')
  const hasPeer = result.targets.includes('kroxylicious') && !result.skipped.kroxylicious
  if (!hasSidecar) return checks

  // 1. Throughput at least 0.95 of direct, every produce and consume cell.
  const ratios = cellsOf(result.throughput).map((cell) => ({
    cell,
    ratio: pairedRatio(
      result.throughput.filter((r) => r.cell === cell),
      'sidecar',
      (r) => r.mbPerSec,
    ).median,
  }))
  if (ratios.length > 0) {
    const misses = ratios.filter((r) => r.ratio < THROUGHPUT_TARGET)
    const worst = ratios.reduce((a, b) => (b.ratio < a.ratio ? b : a))
    checks.push({
      target: `throughput >= ${THROUGHPUT_TARGET} of direct`,
      met: misses.length === 0,
      detail:
        misses.length === 0
          ? `every cell; lowest ${worst.ratio.toFixed(2)} (${worst.cell})`
          : `${misses.length} of ${ratios.length} cells below: ${misses
              .map((x) => `${x.cell} ${x.ratio.toFixed(2)} (short by ${(THROUGHPUT_TARGET - x.ratio).toFixed(2)})`)
              .join('; ')}`,
    })
  }

  // 2. Added p99 produce latency under 1 ms at half of direct saturation.
  for (const cell of cellsOf(result.latency)) {
    const added = addedP99(
      result.latency.filter((r) => r.cell === cell),
      'sidecar',
    ).median
    if (!Number.isFinite(added)) continue
    checks.push({
      target: `added p99 < ${ADDED_P99_TARGET_MS} ms (${cell})`,
      met: added < ADDED_P99_TARGET_MS,
      detail: `${added.toFixed(2)} ms${cell.startsWith('perf') ? ' (tool resolution: 1 ms)' : ''}`,
    })
  }

  // 3. RSS under 100 MB with 1,000 idle connections.
  const idle1000 = spreadOf(
    result.connections,
    (r) => r.target === 'sidecar' && r.connections === 1000,
    (r) => r.idleRssMb,
  )
  if (idle1000.n > 0) {
    checks.push({
      target: `RSS < ${PROXY_CAP_RSS_MB} MB with 1,000 idle connections`,
      met: idle1000.max < PROXY_CAP_RSS_MB,
      detail: `${formatSpread(idle1000)} MB`,
    })
  }

  // 4. Ahead of the peer on every figure.
  if (hasPeer) checks.push(aheadOfPeer(result))
  return checks
}

function aheadOfPeer(result: BenchResult): TargetCheck {
  const behind: string[] = []
  let compared = 0
  const compare = (what: string, ours: number, theirs: number, higherIsBetter: boolean, digits = 2): void => {
    if (!Number.isFinite(ours) || !Number.isFinite(theirs)) return
    compared++
    const ahead = higherIsBetter ? ours >= theirs : ours <= theirs
    if (!ahead) behind.push(`${what}: ${ours.toFixed(digits)} vs ${theirs.toFixed(digits)}`)
  }
  const med = <R extends { target: string }>(runs: readonly R[], target: string, pick: (r: R) => number) =>
    spreadOf(runs, (r) => r.target === target, pick).median
  for (const cell of cellsOf(result.throughput)) {
    const runs = result.throughput.filter((r) => r.cell === cell)
    compare(
      `${cell} MB/s`,
      med(runs, 'sidecar', (r) => r.mbPerSec),
      med(runs, 'kroxylicious', (r) => r.mbPerSec),
      true,
      1,
    )
    compare(
      `${cell} CPU s/GB`,
      med(runs, 'sidecar', (r) => r.proxyCpuSecondsPerGB),
      med(runs, 'kroxylicious', (r) => r.proxyCpuSecondsPerGB),
      false,
    )
    compare(
      `${cell} peak RSS MB`,
      med(runs, 'sidecar', (r) => r.proxyPeakRssMb),
      med(runs, 'kroxylicious', (r) => r.proxyPeakRssMb),
      false,
      0,
    )
  }
  for (const cell of cellsOf(result.latency)) {
    const runs = result.latency.filter((r) => r.cell === cell)
    for (const k of ['p50Ms', 'p99Ms', 'p999Ms'] as const) {
      compare(
        `${cell} ${k.slice(0, -2)}`,
        med(runs, 'sidecar', (r) => r[k]),
        med(runs, 'kroxylicious', (r) => r[k]),
        false,
      )
    }
  }
  for (const n of new Set(result.connections.map((r) => r.connections))) {
    const runs = result.connections.filter((r) => r.connections === n)
    compare(
      `${n} idle RSS MB`,
      med(runs, 'sidecar', (r) => r.idleRssMb),
      med(runs, 'kroxylicious', (r) => r.idleRssMb),
      false,
      1,
    )
    compare(
      `${n} active req/s`,
      med(runs, 'sidecar', (r) => r.activeRequestsPerSec),
      med(runs, 'kroxylicious', (r) => r.activeRequestsPerSec),
      true,
      0,
    )
    compare(
      `${n} active CPU µs/req`,
      med(runs, 'sidecar', (r) => r.activeCpuUsPerRequest),
      med(runs, 'kroxylicious', (r) => r.activeCpuUsPerRequest),
      false,
      0,
    )
    compare(
      `${n} active peak RSS MB`,
      med(runs, 'sidecar', (r) => r.activePeakRssMb),
      med(runs, 'kroxylicious', (r) => r.activePeakRssMb),
      false,
      1,
    )
  }
  return {
    target: 'ahead of Kroxylicious on every figure',
    met: behind.length === 0,
    detail:
      behind.length === 0
        ? `all ${compared} figures (sidecar vs Kroxylicious, medians)`
        : `behind on ${behind.length} of ${compared}: ${behind.join('; ')}`,
  }
}
