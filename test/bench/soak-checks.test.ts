import { describe, expect, it } from 'vitest'
import { DEFAULT_FAULT_PLAN, faultAt } from '../../bench/lib/soak/faults.js'
import { AckLedger } from '../../bench/lib/soak/ledger.js'
import { leastSquaresSlope, type ResourceSample, trendOf } from '../../bench/lib/soak/resource-samples.js'

/** The soak's end-of-run arithmetic, without brokers: what counts as lost, duplicated, and how a trend is fitted. */
describe('AckLedger', () => {
  function ledgerWith(acks: Array<[string, number, number]>): AckLedger {
    const ledger = new AckLedger(3)
    ledger.stream('a#1', 'a')
    ledger.stream('b#1', 'b')
    for (const [stream, seq, partition] of acks) ledger.ack(stream, seq, partition)
    return ledger
  }

  it('finds every acknowledged record once: nothing lost or duplicated, per-partition counts and checksums equal', () => {
    const ledger = ledgerWith([
      ['a#1', 0, 0],
      ['a#1', 1, 1],
      ['b#1', 0, 2],
    ])
    ledger.readBack(0, 'a#1:0')
    ledger.readBack(1, 'a#1:1')
    ledger.readBack(2, 'b#1:0')
    expect(ledger.streamTotals().map((s) => [s.stream, s.acked, s.found, s.lost, s.duplicated])).toEqual([
      ['a#1', 2, 2, 0, 0],
      ['b#1', 1, 1, 0, 0],
    ])
    for (const p of ledger.partitionTotals(new Map())) expect(p.found).toEqual(p.expected)
  })

  it('counts an acknowledged record read nowhere as lost and one read twice as duplicated', () => {
    const ledger = ledgerWith([
      ['a#1', 0, 0],
      ['a#1', 1, 0],
    ])
    ledger.readBack(0, 'a#1:1')
    ledger.readBack(0, 'a#1:1')
    const [a] = ledger.streamTotals()
    expect(a).toMatchObject({ acked: 2, found: 1, lost: 1, duplicated: 1 })
    const [p0] = ledger.partitionTotals(new Map([[0, 7]]))
    expect(p0).toMatchObject({ lost: 1, duplicated: 1, maxAckedOffset: 7 })
    // Same count (one missing, one extra copy), different checksum: the pair catches what a count alone would not.
    expect(p0!.found.count).toBe(p0!.expected.count)
    expect(p0!.found.checksum).not.toBe(p0!.expected.checksum)
  })

  it('does not count records that were never acknowledged, but reports them, and keys of no stream as foreign', () => {
    const ledger = ledgerWith([['a#1', 0, 0]])
    ledger.fail('a#1', 1)
    ledger.readBack(0, 'a#1:0')
    ledger.readBack(1, 'a#1:1')
    ledger.readBack(1, 'a#1:2')
    ledger.readBack(2, 'zz#1:0')
    ledger.readBack(2, 'no-sequence')
    expect(ledger.streamTotals()[0]).toMatchObject({ acked: 1, failed: 1, found: 1, lost: 0, unackedFound: 2 })
    expect(ledger.foreignRecords).toBe(2)
    expect(ledger.isAcked('a#1:0')).toBe(true)
    expect(ledger.isAcked('a#1:1')).toBe(false)
  })

  it('flags a record found in another partition than the one it was acknowledged in', () => {
    const ledger = ledgerWith([['a#1', 0, 0]])
    ledger.readBack(2, 'a#1:0')
    expect(ledger.streamTotals()[0]).toMatchObject({ found: 1, misplaced: 1 })
  })

  it('grows past its initial size and sums acknowledgements per producer', () => {
    const ledger = new AckLedger(2)
    ledger.stream('a#1', 'a')
    ledger.stream('a#2', 'a')
    for (let seq = 0; seq < 5000; seq++) ledger.ack('a#1', seq, seq % 2)
    ledger.ack('a#2', 0, 1)
    expect(ledger.ackedBy('a')).toBe(5001)
    expect(ledger.ackedIn('a#2')).toBe(1)
    expect(() => ledger.ack('a#1', 1, 2)).toThrow(/partition 2/)
    expect(() => ledger.stream('x:y', 'x')).toThrow(/must not contain/)
  })
})

describe('resource trend', () => {
  it('fits the least-squares slope', () => {
    expect(leastSquaresSlope([0, 1, 2, 3], [1, 3, 5, 7])).toBeCloseTo(2)
    expect(leastSquaresSlope([0, 1, 2, 3], [5, 5, 5, 5])).toBe(0)
    expect(leastSquaresSlope([0, 1], [0, 1])).toBeNaN()
  })

  it('leaves the warm-up out of the slope (at most a quarter of the samples) but not out of start and peak', () => {
    const samples: ResourceSample[] = []
    // 10 minutes every 5 s: a climb of 20 MB over the first minute, then flat at 100 MB.
    for (let t = 0; t <= 600; t += 5) samples.push({ generation: 2, t, rssMb: t < 60 ? 80 + t / 3 : 100, fds: 40 })
    const trend = trendOf(samples, 60)!
    expect(trend.rssSlopeMbPerHour).toBeCloseTo(0)
    expect(trend.rssStartMb).toBe(80)
    expect(trend.rssPeakMb).toBe(100)
    expect(trend.warmupSamples).toBe(12)
    const short = trendOf(samples.slice(0, 13), 60)!
    expect(short.warmupSamples).toBe(3)
  })
})

describe('fault plan', () => {
  it('runs the first list once, then cycles, with the handover only in the first', () => {
    const kinds = Array.from({ length: 16 }, (_, i) => faultAt(DEFAULT_FAULT_PLAN, i))
    expect(kinds.slice(0, 6)).toEqual(DEFAULT_FAULT_PLAN.first)
    expect(kinds.filter((k) => k === 'handover')).toHaveLength(1)
    expect(kinds.slice(6, 11)).toEqual(DEFAULT_FAULT_PLAN.cycle)
    expect(() => faultAt({ first: ['reload'], cycle: [] }, 1)).toThrow(/run out/)
  })
})
