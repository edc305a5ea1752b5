import { ConnectionsDriver } from './drivers.js'
import { ProcessWindow } from './proc.js'
import { median, quantile } from './stats.js'

/**
 * Telling apart two proxies whose CPU per request differs by a few microseconds, on a machine where the figure of
 * one proxy moves by tens of microseconds between runs (other processes, caches, how many requests each read
 * batches). Every contender runs at once, each behind its own driver, and they take turns in short windows
 * (ABCABC...): whatever drifts over seconds weighs on all of them alike, and each window's difference to the first
 * contender of the same round is one sample. The median of those paired differences, and their interquartile range,
 * say how far apart two contenders are far more tightly than the difference of two separately measured medians.
 */

export interface PairedContender {
  readonly label: string
  readonly bootstrap: string
  /** The process whose CPU is measured; undefined for "direct" (no proxy: requests/s only). */
  readonly pid: number | undefined
}

export interface PairedOptions {
  readonly connections: number
  readonly windows: number
  readonly windowMs: number
  readonly topic: string
  readonly log: (line: string) => void
}

export interface WindowSample {
  readonly cpuUs: number
  readonly userUs: number
  readonly rps: number
  readonly errors: number
}

export interface PairedSummary {
  readonly label: string
  readonly samples: readonly WindowSample[]
  /** CPU µs per request of this contender minus the baseline's, per round; empty for the baseline and direct. */
  readonly differences: readonly number[]
}

export async function runPairedWindows(
  contenders: readonly PairedContender[],
  o: PairedOptions,
): Promise<PairedSummary[]> {
  const drivers: ConnectionsDriver[] = []
  try {
    for (const c of contenders) {
      const { driver } = await ConnectionsDriver.open({
        bootstrap: c.bootstrap,
        connections: o.connections,
        topic: o.topic,
        partitions: 8,
        recordSize: 100,
        activeMs: o.windowMs,
      })
      drivers.push(driver)
    }
    // One window each first, unmeasured: the JIT of every process warms before anything counts.
    for (const d of drivers) await d.active()
    const samples: WindowSample[][] = contenders.map(() => [])
    for (let round = 0; round < o.windows; round++) {
      // Rotating who goes first keeps any within-round drift from favouring one contender.
      for (let k = 0; k < contenders.length; k++) {
        const i = (k + round) % contenders.length
        const c = contenders[i]!
        const window = new ProcessWindow(c.pid)
        window.begin()
        const active = await drivers[i]!.active()
        const w = window.end()
        samples[i]!.push({
          cpuUs: c.pid === undefined ? Number.NaN : (w.cpuSeconds * 1e6) / active.requests,
          userUs: c.pid === undefined ? Number.NaN : (w.userSeconds * 1e6) / active.requests,
          rps: active.requests / active.seconds,
          errors: active.errors,
        })
      }
      o.log(
        `round ${round + 1}/${o.windows}: ${contenders
          .map((c, i) => {
            const s = samples[i]!.at(-1)!
            return `${c.label} ${Number.isNaN(s.cpuUs) ? '' : `${s.cpuUs.toFixed(1)} us, `}${Math.round(s.rps)}/s`
          })
          .join(' | ')}`,
      )
    }
    const baseline = contenders.findIndex((c) => c.pid !== undefined)
    return contenders.map((c, i) => ({
      label: c.label,
      samples: samples[i]!,
      differences:
        c.pid === undefined || i === baseline ? [] : samples[i]!.map((s, r) => s.cpuUs - samples[baseline]![r]!.cpuUs),
    }))
  } finally {
    for (const d of drivers) await d.close().catch(() => {})
  }
}

/** The summary table: per contender its median CPU and requests/s, and its paired difference to the baseline. */
export function pairedTable(summaries: readonly PairedSummary[]): string {
  const direct = summaries.find((s) => s.samples.every((x) => Number.isNaN(x.cpuUs)))
  const baseline = summaries.find((s) => s !== direct)
  const fmt = (x: number) => x.toFixed(1)
  const lines = [
    `| target | CPU us per request | of which user space | requests/s | of direct | minus ${baseline?.label ?? 'baseline'}: median (IQR) |`,
    '|---|---:|---:|---:|---:|---:|',
  ]
  for (const s of summaries) {
    const cpu = s.samples.map((x) => x.cpuUs)
    const isDirect = s === direct
    const ratio = direct === undefined ? '' : median(s.samples.map((x, r) => x.rps / direct.samples[r]!.rps)).toFixed(2)
    const diff =
      s.differences.length === 0
        ? ''
        : `${fmt(median(s.differences))} (${fmt(quantile(s.differences, 0.25))} to ${fmt(quantile(s.differences, 0.75))})`
    lines.push(
      `| ${s.label} | ${isDirect ? 'n/a' : `${fmt(median(cpu))} (${fmt(Math.min(...cpu))}-${fmt(Math.max(...cpu))})`} | ${
        isDirect ? 'n/a' : fmt(median(s.samples.map((x) => x.userUs)))
      } | ${Math.round(median(s.samples.map((x) => x.rps)))} | ${ratio} | ${diff} |`,
    )
  }
  return lines.join('\n')
}
