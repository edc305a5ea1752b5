/** What a soak run is told: its length, the fault schedule, the clients' rates, how often it samples and reports. */
import { DEFAULT_KAFKA_VERSION } from '../../../test/harness/kafka-jars.js'
import { DEFAULT_FAULT_PLAN, type FaultPlan } from './faults.js'

export interface SoakRates {
  /** Records per second of each producer. */
  javaIdempotent: number
  javaTransactional: number
  recordsPerTxn: number
  kafkajs: number
  /** Records per kafkajs send(). */
  kafkajsBatch: number
  kcat: number
  /** Records per kcat process. */
  kcatBatch: number
  perf: number
  perfRecordBytes: number
  /** Padding after the key in each verified record's value. */
  valueBytes: number
}

/**
 * About 250 verified records/s and 200 of load: modest on purpose. The soak is about hours of faults, not
 * throughput, and it shares a small machine with its three brokers and seven JVM clients.
 */
export const DEFAULT_RATES: SoakRates = {
  javaIdempotent: 100,
  javaTransactional: 50,
  recordsPerTxn: 50,
  kafkajs: 40,
  kafkajsBatch: 5,
  kcat: 50,
  kcatBatch: 50,
  perf: 200,
  perfRecordBytes: 512,
  valueBytes: 100,
}

export interface SoakOptions {
  /** Length of the loaded phase with faults; the checks come after it. */
  minutes: number
  /** Pause between the end of one fault (and the clients' recovery) and the start of the next. */
  faultIntervalSeconds: number
  faultPlan: FaultPlan
  /** The loaded phase goes on past `minutes` until at least this many faults were injected (a CI slice's must-haves). */
  minFaults: number
  brokerDownSeconds: number
  sampleIntervalSeconds: number
  progressIntervalSeconds: number
  /** Samples left out of each sidecar generation's slope at its start (see resource-samples.ts). */
  warmupSeconds: number
  perfSegmentSeconds: number
  rates: SoakRates
  kafkaVersion: string
  /** The Node binary the sidecar runs on (default: the soak's own); 22.12 and later hand over with SO_REUSEPORT. */
  sidecarNode?: string
  /** Logs of the sidecar generations and the clients. */
  workDir: string
  log: (message: string) => void
}

export type SoakSettings = Omit<SoakOptions, 'workDir' | 'log'>

export const DEFAULT_OPTIONS: Omit<SoakOptions, 'minutes' | 'workDir' | 'log'> = {
  faultIntervalSeconds: 45,
  faultPlan: DEFAULT_FAULT_PLAN,
  minFaults: 0,
  brokerDownSeconds: 10,
  sampleIntervalSeconds: 5,
  progressIntervalSeconds: 30,
  warmupSeconds: 60,
  perfSegmentSeconds: 120,
  rates: DEFAULT_RATES,
  kafkaVersion: DEFAULT_KAFKA_VERSION,
}
