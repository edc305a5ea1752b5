/** The shapes a benchmark run records (bench/results/<time>.json) and the summaries the report is built from. */
import type { MachineDescription } from './machine.js'
import type { LatencyCell, Matrix, ThroughputCell } from './matrix.js'
import { type Spread, spread } from './stats.js'

export interface ProxyCost {
  /** CPU seconds of the proxy process during the repetition (NaN for direct). */
  proxyCpuSeconds: number
  /** Peak RSS of the proxy during the repetition, MB (NaN for direct). */
  proxyPeakRssMb: number
  /** 1-minute load average at the end of the repetition. */
  load1: number
  /** Why the repetition has no figures (the tool failed or timed out); the others still count. */
  error?: string
}

export interface ThroughputRun extends ProxyCost {
  cell: string
  target: string
  rep: number
  records: number
  recordsPerSec: number
  /** 10^6 bytes of record values per second. */
  mbPerSec: number
  wallSeconds: number
  /** Proxy CPU seconds per 10^9 bytes of record values moved. */
  proxyCpuSecondsPerGB: number
  /**
   * The same for the whole machine (every core's busy time over the repetition) and for the bench's broker: what
   * the run cost everyone, and the broker's part of it (a tap makes it write each record twice). Absent in results
   * from before they were measured, NaN when the broker's process is not the bench's own.
   */
  machineCpuSecondsPerGB?: number
  brokerCpuSecondsPerGB?: number
}

export interface LatencyRun extends ProxyCost {
  cell: string
  target: string
  rep: number
  /** Records per second asked for, and achieved. */
  rate: number
  achievedRecordsPerSec: number
  /** Milliseconds. Kafka's perf tool times whole milliseconds; the kafkajs driver times microseconds. */
  p50Ms: number
  p99Ms: number
  p999Ms: number
}

export interface ConnectionRun {
  target: string
  rep: number
  connections: number
  connectMs: number
  /** Proxy RSS (MB) with the connections open and idle; NaN for direct. */
  idleRssMb: number
  /** Its anonymous part (without the executable's and libraries' file pages). */
  idleRssAnonMb: number
  /** Proxy CPU while idle, percent of one core. */
  idleCpuPercent: number
  /** Proxy RSS right after it started listening, before any client traffic. */
  startRssMb: number
  /** Proxy RSS just before the N connections were opened (after its warm-up and the smaller steps). */
  baselineRssMb: number
  activeRequestsPerSec: number
  /** Proxy CPU microseconds per produce request in the active phase. */
  activeCpuUsPerRequest: number
  activeCpuPercent: number
  activePeakRssMb: number
  activeP99Us: number
  errors: number
  load1: number
}

export interface BenchResult {
  startedAt: string
  finishedAt: string
  command: string
  matrix: Matrix
  targets: string[]
  /** Why the peer was not measured, if it was not. */
  skipped: Record<string, string>
  machine: MachineDescription
  versions: { kafka: string; kroxylicious?: string; kafkajs: string; sidecar: string }
  settings: { kroxyliciousJvmOptions: string[]; brokerJvmOptions: string[]; perfToolJvmOptions: string[] }
  /** 1-minute load average at the end of every repetition: ours plus whatever else ran. */
  loadDuringRun: Spread
  throughput: ThroughputRun[]
  latency: LatencyRun[]
  connections: ConnectionRun[]
  /** Repetitions that produced no figures, with the reason. */
  failures: string[]
  /** Per sidecar target: its filters' counters at the end of throughput and latency (see run.ts filterCounters). */
  filterCounters: Record<string, Record<string, number>>
  profile?: { dir: string; totalMs: number; busyMs: number; top: { frame: string; selfMs: number; percent: number }[] }
}

export type { LatencyCell, ThroughputCell }

/** Values of `pick` over the runs of one cell and target. */
export function spreadOf<R extends { cell?: string; target: string }>(
  runs: readonly R[],
  match: (r: R) => boolean,
  pick: (r: R) => number,
): Spread {
  return spread(runs.filter(match).map(pick))
}

/**
 * Ratio target/direct per repetition (rep r of the target against rep r of direct, measured back to back),
 * summarised. Pairing cancels slow drift of the machine better than a ratio of medians.
 */
export function pairedRatio<R extends { rep: number; target: string }>(
  runs: readonly R[],
  target: string,
  pick: (r: R) => number,
): Spread {
  const direct = new Map(runs.filter((r) => r.target === 'direct').map((r) => [r.rep, pick(r)]))
  const ratios: number[] = []
  for (const r of runs) {
    if (r.target !== target) continue
    const d = direct.get(r.rep)
    if (d !== undefined && d > 0) ratios.push(pick(r) / d)
  }
  return spread(ratios)
}
