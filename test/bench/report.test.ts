import { describe, expect, it } from 'vitest'
import { machineBusySeconds } from '../../bench/lib/proc.js'
import { renderReport } from '../../bench/lib/report.js'
import type { BenchResult, ThroughputRun } from '../../bench/lib/results.js'

const run = (target: string, rep: number, mbPerSec: number, machine?: number, broker?: number): ThroughputRun => ({
  cell: 'perf produce acks=1 1KiB 8p',
  target,
  rep,
  records: 1000,
  recordsPerSec: mbPerSec * 1000,
  mbPerSec,
  wallSeconds: 1,
  proxyCpuSeconds: Number.NaN,
  proxyCpuSecondsPerGB: Number.NaN,
  proxyPeakRssMb: Number.NaN,
  load1: 2,
  ...(machine !== undefined && { machineCpuSecondsPerGB: machine }),
  ...(broker !== undefined && { brokerCpuSecondsPerGB: broker }),
})

const result = (throughput: ThroughputRun[]): BenchResult =>
  ({
    startedAt: '2026-12-07T00:00:00Z',
    finishedAt: '2026-12-07T00:01:00Z',
    command: 'test',
    matrix: { name: 'quick', reps: 2, throughput: [], latency: [], connections: { counts: [] } },
    targets: ['direct', 'sidecar+tap'],
    skipped: {},
    machine: { cpus: 2, cpuModel: 'x', memoryGB: 1, kernel: 'k', node: 'v20', java: {}, loadBefore: [0, 0, 0] },
    versions: { kafka: '4.3.1', kafkajs: '2.2.4', sidecar: 'test' },
    settings: { kroxyliciousJvmOptions: [], brokerJvmOptions: [], perfToolJvmOptions: [] },
    loadDuringRun: { median: 2, min: 2, max: 2, n: 1 },
    throughput,
    latency: [],
    connections: [],
    failures: [],
    filterCounters: {},
  }) as unknown as BenchResult

describe('the machine and broker CPU table', () => {
  it('gives every target its machine and broker CPU per GB, medians with ranges', () => {
    const { markdown } = renderReport(
      result([
        run('direct', 0, 100, 20, 3),
        run('sidecar+tap', 0, 70, 28, 5.5),
        run('direct', 1, 100, 22, 3.4),
        run('sidecar+tap', 1, 70, 30, 6),
      ]),
    )
    const lines = markdown.split('\n')
    const at = lines.indexOf('#### Machine and broker CPU per GB')
    expect(at).toBeGreaterThan(0)
    expect(lines[at + 2]).toBe(
      '| workload | direct machine CPU s/GB | sidecar+tap machine CPU s/GB | direct broker CPU s/GB | sidecar+tap broker CPU s/GB |',
    )
    expect(lines[at + 4]).toBe(
      '| perf produce acks=1 1KiB 8p | 21.0 (20.0-22.0) | 29.0 (28.0-30.0) | 3.2 (3.0-3.4) | 5.8 (5.5-6.0) |',
    )
  })

  it('is left out for results from before these figures were measured', () => {
    const { markdown } = renderReport(result([run('direct', 0, 100), run('sidecar+tap', 0, 70)]))
    expect(markdown).not.toContain('Machine and broker CPU')
  })
})

describe('machineBusySeconds', () => {
  it('counts the machine busy while this process spins', () => {
    const before = machineBusySeconds()
    const until = performance.now() + 200
    while (performance.now() < until) {
      // spin: at least this much of one core is busy
    }
    const busy = machineBusySeconds() - before
    // Clock ticks are 10 ms: 200 ms of spinning shows as at least ~0.15 s.
    expect(busy).toBeGreaterThan(0.15)
  })
})
