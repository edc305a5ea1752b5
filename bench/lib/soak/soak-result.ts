/** What a soak run records (bench/results/soak-<time>.json), and the verdict: every reason it failed. */
import type { ConsumerTotals } from './end-checks.js'
import type { FaultRecord } from './faults.js'
import type { PartitionTotals, StreamTotals } from './ledger.js'
import type { GenerationTrend } from './resource-samples.js'
import type { SoakSettings } from './soak-options.js'

export interface ProducerTotals {
  producer: string
  transactional: boolean
  streams: number
  acked: number
  failed: number
  found: number
  lost: number
  duplicated: number
  misplaced: number
  unackedFound: number
  /** Client-side events worth knowing (crashes, replaced producers, failed batches). */
  notes: string
}

export interface PerfLoadTotals {
  /** Records the tool was asked to send, and those it reported sent (acknowledged). */
  attempted: number
  acked: number
  /** Records read back from the load topic. */
  found: number
  segments: number
  failedSegments: number
}

export interface SoakResult {
  startedAt: string
  finishedAt: string
  minutes: number
  settings: SoakSettings
  kafkaVersion: string
  topics: { verified: string; load: string; partitions: number }
  producers: ProducerTotals[]
  streams: StreamTotals[]
  partitions: PartitionTotals[]
  perfLoad: PerfLoadTotals
  consumers: ConsumerTotals[]
  readBack: { records: number; foreignRecords: number; incompletePartitions: string[] }
  sidecar: { generations: GenerationTrend[]; crashes: number; reloads: number }
  faults: FaultRecord[]
  /** Why the run failed; empty when it passed. */
  failures: string[]
  workDir: string
}

/** Per-producer sums over its streams (a producer restarted after a kill has several). */
export function producerTotals(
  streams: readonly StreamTotals[],
  producers: readonly string[],
  transactional: ReadonlySet<string>,
  notes: Readonly<Record<string, string>>,
): ProducerTotals[] {
  return producers.map((producer) => {
    const mine = streams.filter((s) => s.producer === producer)
    const sum = (pick: (s: StreamTotals) => number) => mine.reduce((n, s) => n + pick(s), 0)
    return {
      producer,
      transactional: transactional.has(producer),
      streams: mine.length,
      acked: sum((s) => s.acked),
      failed: sum((s) => s.failed),
      found: sum((s) => s.found),
      lost: sum((s) => s.lost),
      duplicated: sum((s) => s.duplicated),
      misplaced: sum((s) => s.misplaced),
      unackedFound: sum((s) => s.unackedFound),
      notes: notes[producer] ?? '',
    }
  })
}

/**
 * Every reason the run failed: an acknowledged record lost, duplicated or misplaced; a partition whose count or
 * checksum differs; the load topic outside what the perf-test acknowledged and attempted; records nobody wrote; a
 * read that did not reach the end; a group not committed past the acknowledged records; a fault that did not
 * complete; the sidecar exiting on its own.
 */
export function failuresOf(result: Omit<SoakResult, 'failures'>): string[] {
  const failures: string[] = []
  for (const p of result.producers) {
    if (p.acked === 0) failures.push(`${p.producer}: nothing acknowledged`)
    if (p.lost > 0) failures.push(`${p.producer}: ${p.lost} acknowledged records lost`)
    if (p.duplicated > 0) failures.push(`${p.producer}: ${p.duplicated} acknowledged records duplicated`)
    if (p.misplaced > 0) failures.push(`${p.producer}: ${p.misplaced} records in another partition than acknowledged`)
  }
  for (const p of result.partitions) {
    if (p.expected.count !== p.found.count || p.expected.checksum !== p.found.checksum)
      failures.push(`partition ${p.partition}: expected ${countText(p.expected)}, found ${countText(p.found)}`)
  }
  const load = result.perfLoad
  if (load.found < load.acked || load.found > load.attempted)
    failures.push(`perf-test: ${load.found} records read back, ${load.acked} acknowledged, ${load.attempted} attempted`)
  if (result.readBack.foreignRecords > 0)
    failures.push(`${result.readBack.foreignRecords} records in ${result.topics.verified} that no producer wrote`)
  for (const p of result.readBack.incompletePartitions) failures.push(`read-back incomplete: ${p}`)
  for (const c of result.consumers)
    if (c.partitionsBehind > 0)
      failures.push(`${c.name}: ${c.partitionsBehind} partitions not committed past the last acknowledged record`)
  for (const f of result.faults) if (!f.ok) failures.push(`fault ${f.kind} at ${f.at.toFixed(0)} s: ${f.outcome}`)
  if (result.sidecar.crashes > 0) failures.push(`the sidecar exited on its own ${result.sidecar.crashes} time(s)`)
  return failures
}

function countText(c: { count: number; checksum: number }): string {
  return `${c.count} records, checksum ${c.checksum.toString(16).padStart(8, '0')}`
}
