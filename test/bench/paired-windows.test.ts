import { describe, expect, it } from 'vitest'
import { type PairedSummary, pairedTable, type WindowSample } from '../../bench/lib/paired-windows.js'

/** request-cost.js --paired's summary, without processes: per-round differences and ratios read the way they should. */
describe('pairedTable', () => {
  const w = (cpuUs: number, rps: number): WindowSample => ({ cpuUs, userUs: cpuUs / 2, rps, errors: 0 })
  const direct: PairedSummary = {
    label: 'direct',
    samples: [w(Number.NaN, 1000), w(Number.NaN, 2000), w(Number.NaN, 4000)],
    differences: [],
  }
  // The machine drifts from round to round (30, 60, 90 us) while the filter costs 2 us more in every round: the
  // medians of the two contenders say nothing, the paired difference says 2.
  const sidecar: PairedSummary = { label: 'sidecar', samples: [w(30, 250), w(60, 500), w(90, 1000)], differences: [] }
  const filter: PairedSummary = {
    label: 'rate-limit',
    samples: [w(32, 250), w(62, 1000), w(92, 2000)],
    differences: [2, 2, 2],
  }

  it('gives each contender its median CPU and requests/s, its per-round ratio to direct, and the paired difference', () => {
    const rows = pairedTable([direct, sidecar, filter]).split('\n')
    expect(rows[0]).toContain('minus sidecar: median (IQR)')
    expect(rows[2]).toBe('| direct | n/a | n/a | 2000 | 1.00 |  |')
    expect(rows[3]).toBe('| sidecar | 60.0 (30.0-90.0) | 30.0 | 500 | 0.25 |  |')
    expect(rows[4]).toBe('| rate-limit | 62.0 (32.0-92.0) | 31.0 | 1000 | 0.50 | 2.0 (2.0 to 2.0) |')
  })

  it('without direct, leaves the ratio out and still pairs with the first proxy', () => {
    const rows = pairedTable([sidecar, { ...filter, differences: [1, 2, 6] }]).split('\n')
    expect(rows[2]).toBe('| sidecar | 60.0 (30.0-90.0) | 30.0 | 500 |  |  |')
    expect(rows[3]).toBe('| rate-limit | 62.0 (32.0-92.0) | 31.0 | 1000 |  | 2.0 (1.5 to 4.0) |')
  })
})
