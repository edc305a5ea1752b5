/**
 * What a benchmark run measures. `quick` is a representative subset that finishes in about 15 minutes on two
 * cores; `full` is the whole matrix (record sizes x partition counts x workloads, more repetitions), which
 * takes hours there. Both measure every target in every cell, alternating targets between repetitions.
 */

export type Tool = 'perf' | 'kafkajs'
export type Operation = 'produce' | 'consume'
export type Acks = '1' | 'all'

export interface ThroughputCell {
  /** e.g. "perf produce acks=1 1KiB 8p": stable, used by --only and in the JSON. */
  id: string
  tool: Tool
  op: Operation
  /** Producer acks (produce cells only). */
  acks: Acks
  recordSize: number
  partitions: number
  /** Records per repetition (produced, or consumed from the beginning of the topic). */
  records: number
}

export interface LatencyCell {
  id: string
  tool: Tool
  acks: Acks
  recordSize: number
  partitions: number
  /** The throughput cell whose direct median sets the rate (half of it). */
  saturationCell: string
  durationMs: number
}

export interface Matrix {
  name: 'quick' | 'full'
  reps: number
  throughput: ThroughputCell[]
  latency: LatencyCell[]
  connections: { counts: number[]; reps: number; holdMs: number; activeMs: number; recordSize: number }
}

export const SIZES = [100, 1024, 65536] as const
export const PARTITIONS = [1, 8, 64] as const

export function sizeLabel(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024}KiB` : `${bytes}B`
}

function throughputCell(
  tool: Tool,
  op: Operation,
  acks: Acks,
  recordSize: number,
  partitions: number,
  bytesPerRun: number,
): ThroughputCell {
  const what = op === 'produce' ? `produce acks=${acks}` : 'consume'
  // kafkajs moves a fraction of what the Java client does (JavaScript encodes every record): half the bytes
  // keeps its repetitions about as long as the Java ones.
  const bytes = tool === 'kafkajs' ? bytesPerRun / 2 : bytesPerRun
  return {
    id: `${tool} ${what} ${sizeLabel(recordSize)} ${partitions}p`,
    tool,
    op,
    acks,
    recordSize,
    partitions,
    records: Math.max(2_000, Math.round(bytes / recordSize)),
  }
}

function latencyCell(tool: Tool, acks: Acks, recordSize: number, partitions: number, durationMs: number): LatencyCell {
  return {
    id: `${tool} latency acks=${acks} ${sizeLabel(recordSize)} ${partitions}p`,
    tool,
    acks,
    recordSize,
    partitions,
    saturationCell: `${tool} produce acks=${acks} ${sizeLabel(recordSize)} ${partitions}p`,
    durationMs,
  }
}

export function quickMatrix(bytesPerRun = 256e6): Matrix {
  const t = (tool: Tool, op: Operation, acks: Acks, size: number, partitions: number) =>
    throughputCell(tool, op, acks, size, partitions, bytesPerRun)
  return {
    name: 'quick',
    reps: 3,
    throughput: [
      t('perf', 'produce', '1', 1024, 8),
      t('perf', 'produce', 'all', 1024, 8),
      t('perf', 'consume', '1', 1024, 8),
      t('kafkajs', 'produce', '1', 1024, 8),
      t('kafkajs', 'consume', '1', 1024, 8),
      t('perf', 'produce', '1', 100, 8),
      t('perf', 'consume', '1', 100, 8),
      t('perf', 'produce', '1', 65536, 8),
      t('perf', 'consume', '1', 65536, 8),
      t('perf', 'produce', '1', 1024, 1),
      t('perf', 'produce', '1', 1024, 64),
    ],
    latency: [latencyCell('perf', '1', 1024, 8, 10_000), latencyCell('kafkajs', '1', 1024, 8, 10_000)],
    connections: { counts: [1, 100, 1000], reps: 3, holdMs: 2_000, activeMs: 3_000, recordSize: 100 },
  }
}

export function fullMatrix(bytesPerRun = 512e6): Matrix {
  const throughput: ThroughputCell[] = []
  const latency: LatencyCell[] = []
  for (const size of SIZES) {
    for (const partitions of PARTITIONS) {
      for (const tool of ['perf', 'kafkajs'] as const) {
        throughput.push(throughputCell(tool, 'produce', '1', size, partitions, bytesPerRun))
        throughput.push(throughputCell(tool, 'produce', 'all', size, partitions, bytesPerRun))
        throughput.push(throughputCell(tool, 'consume', '1', size, partitions, bytesPerRun))
      }
    }
    for (const tool of ['perf', 'kafkajs'] as const) {
      latency.push(latencyCell(tool, '1', size, 8, 20_000))
      latency.push(latencyCell(tool, 'all', size, 8, 20_000))
    }
  }
  return {
    name: 'full',
    reps: 5,
    throughput,
    latency,
    connections: { counts: [1, 100, 1000], reps: 5, holdMs: 5_000, activeMs: 10_000, recordSize: 100 },
  }
}
