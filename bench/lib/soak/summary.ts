/** The soak's summary as Markdown tables: printed at the end of a run and written beside its JSON. */
import type { SoakResult } from './run-soak.js'

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.map(String).join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

const n = (x: number) => x.toLocaleString('en-US')
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a')
/** A slope over fewer minutes than this is mostly start-up and noise, and is marked so. */
const SHORT_SECONDS = 300
const hex = (x: number) => x.toString(16).padStart(8, '0')

export function renderSummary(result: SoakResult): string {
  const out: string[] = []
  const verdict = result.failures.length === 0 ? 'PASSED' : `FAILED (${result.failures.length})`
  out.push(
    `## Soak ${result.startedAt.slice(0, 19)}Z: ${result.minutes} min under faults, ${verdict}`,
    '',
    `Kafka ${result.kafkaVersion}, 3 brokers; topic ${result.topics.verified} (${result.topics.partitions} partitions, ` +
      `RF 3, min.insync.replicas 2), load topic ${result.topics.load}. Every producer acks=all and idempotent; ` +
      `records read back from the brokers directly (kcat, read_committed): ${n(result.readBack.records)}.`,
    '',
    '### Acknowledged records, per producer',
    '',
    table(
      [
        'producer',
        'streams',
        'acknowledged',
        'found',
        'lost',
        'duplicated',
        'not acked (failed)',
        'not acked, in log',
        'notes',
      ],
      [
        ...result.producers.map((p) => [
          `${p.producer}${p.transactional ? ' (transactional)' : ''}`,
          p.streams,
          n(p.acked),
          n(p.found),
          p.lost,
          p.duplicated,
          n(p.failed),
          n(p.unackedFound),
          p.notes || '-',
        ]),
        [
          'perf-test (count only)',
          '-',
          n(result.perfLoad.acked),
          n(result.perfLoad.found),
          Math.max(0, result.perfLoad.acked - result.perfLoad.found),
          Math.max(0, result.perfLoad.found - result.perfLoad.attempted),
          n(result.perfLoad.attempted - result.perfLoad.acked),
          '-',
          `segments: ${result.perfLoad.segments}, failed: ${result.perfLoad.failedSegments}`,
        ],
      ],
    ),
    '',
    '### Per partition (acknowledged records: count and CRC-32 sum of keys, expected against read back)',
    '',
    table(
      ['partition', 'expected', 'checksum', 'found', 'checksum', 'lost', 'duplicated', 'last acked offset'],
      result.partitions.map((p) => [
        p.partition,
        n(p.expected.count),
        hex(p.expected.checksum),
        n(p.found.count),
        hex(p.found.checksum),
        p.lost,
        p.duplicated,
        p.maxAckedOffset,
      ]),
    ),
    '',
    '### Consumer groups at the end',
    '',
    table(
      ['consumer', 'protocol', 'records consumed', 'partitions not committed past acked', 'lag at end', 'restarts'],
      result.consumers.map((c) => [c.name, c.protocol, n(c.consumed), c.partitionsBehind, n(c.lagAtEnd), c.restarts]),
    ),
    '',
    '### Sidecar memory and descriptors, per process (slope: least squares after the warm-up)',
    '',
    table(
      ['process', 'sampled', 'RSS start', 'RSS end', 'RSS peak', 'RSS slope', 'fds start/end/peak', 'fds slope'],
      result.sidecar.generations.map((g) => [
        `#${g.generation}`,
        `${f1(g.seconds / 60)} min, ${g.samples} samples`,
        `${f1(g.rssStartMb)} MB`,
        `${f1(g.rssEndMb)} MB`,
        `${f1(g.rssPeakMb)} MB`,
        `${f1(g.rssSlopeMbPerHour)} MB/h${g.seconds < SHORT_SECONDS ? ' (short)' : ''}`,
        `${g.fdsStart}/${g.fdsEnd}/${g.fdsPeak}`,
        `${f1(g.fdsSlopePerHour)} /h${g.seconds < SHORT_SECONDS ? ' (short)' : ''}`,
      ]),
    ),
    '',
    `"(short)": a process sampled for less than ${SHORT_SECONDS / 60} minutes, whose slope is mostly noise. ` +
      `Reloads applied: ${result.sidecar.reloads}; sidecar exits not asked for: ${result.sidecar.crashes}.`,
    '',
    '### Faults',
    '',
    table(
      ['#', 'at', 'fault', 'outcome', 'producers acking again after'],
      result.faults.map((f, i) => [
        i + 1,
        `${f.at.toFixed(0)} s`,
        f.kind,
        `${f.ok ? '' : 'NOT OK: '}${f.outcome}`,
        f.recoverySeconds === undefined ? '-' : `${f.recoverySeconds.toFixed(1)} s`,
      ]),
    ),
  )
  if (result.failures.length > 0) out.push('', '### Failures', '', ...result.failures.map((f) => `- ${f}`))
  return `${out.join('\n')}\n`
}
