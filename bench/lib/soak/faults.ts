/**
 * The faults the soak injects, one at a time on a schedule, each with an outcome in words and figures. After each
 * one the soak waits until every verified producer has had a record acknowledged again (the clients recovered),
 * and that wait is part of the outcome too.
 */
import type { KafkaCluster } from '../../../test/harness/kafka-cluster.js'
import { waitFor } from '../../../test/harness/wait-for.js'
import type { ClusterView } from './cluster-view.js'
import type { JavaSoakProducer } from './java-producer.js'
import { type LeadershipContext, preferredLeaderElection, rotateReplicas } from './leadership.js'
import type { SoakSidecar } from './soak-sidecar.js'

export const FAULT_KINDS = ['reload', 'handover', 'broker-kill', 'leader-election', 'tx-kill', 'reassign'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export interface FaultPlan {
  /** Faults in this order first... */
  first: readonly FaultKind[]
  /** ...then these, round and round, until the loaded phase ends. */
  cycle: readonly FaultKind[]
}

/**
 * The soak's default order. The handover comes early and once: the process that takes over then serves the rest of
 * the run, so its memory and descriptor trend covers nearly all of it, reloads and broker restarts included.
 */
export const DEFAULT_FAULT_PLAN: FaultPlan = {
  first: ['reload', 'handover', 'broker-kill', 'leader-election', 'tx-kill', 'reassign'],
  cycle: ['reload', 'broker-kill', 'leader-election', 'tx-kill', 'reassign'],
}

/** The `index`-th fault (from 0) of a plan. */
export function faultAt(plan: FaultPlan, index: number): FaultKind {
  if (index < plan.first.length) return plan.first[index]!
  if (plan.cycle.length === 0) throw new Error('the fault plan has run out (no cycle)')
  return plan.cycle[(index - plan.first.length) % plan.cycle.length]!
}

export interface FaultRecord {
  kind: FaultKind
  /** Seconds since the soak started. */
  at: number
  ok: boolean
  /** What happened, for the summary table. */
  outcome: string
  /** Seconds from the end of the fault until every verified producer had a record acknowledged again. */
  recoverySeconds?: number
}

export interface FaultContext {
  cluster: KafkaCluster
  sidecar: SoakSidecar
  txProducer: JavaSoakProducer
  leadership: LeadershipContext
  view: ClusterView
  topics: readonly string[]
  /** How long a killed broker stays down. */
  brokerDownMs: number
  /** Total records acknowledged per verified producer now. */
  ackCounts: () => number[]
}

export class FaultInjector {
  readonly #ctx: FaultContext
  #brokerKills = 0

  constructor(ctx: FaultContext) {
    this.#ctx = ctx
  }

  /** Runs one fault and waits for the producers to recover; never throws (a failure is an outcome). */
  async inject(kind: FaultKind, at: number): Promise<FaultRecord> {
    let outcome: string
    let ok = true
    try {
      outcome = await this.#run(kind)
    } catch (err) {
      ok = false
      outcome = `FAILED: ${(err as Error).message.split('\n')[0]}`
    }
    const record: FaultRecord = { kind, at, ok, outcome }
    const before = this.#ctx.ackCounts()
    const ended = Date.now()
    try {
      await waitFor(
        'every verified producer to have a record acknowledged after the fault',
        () => this.#ctx.ackCounts().every((n, i) => n > before[i]!),
        { timeoutMs: 180_000, intervalMs: 100 },
      )
      record.recoverySeconds = (Date.now() - ended) / 1000
    } catch {
      record.ok = false
      record.outcome += '; producers did not all recover within 180 s'
    }
    return record
  }

  async #run(kind: FaultKind): Promise<string> {
    const ctx = this.#ctx
    switch (kind) {
      case 'reload': {
        const { filters, appliedMs } = await ctx.sidecar.reload()
        return `config reloaded (filters: ${filters}), applied in ${appliedMs} ms`
      }
      case 'handover': {
        const h = await ctx.sidecar.handover()
        const order =
          h.mode === 'reuse-port'
            ? 'successor listening beside the old process (listen.reusePort), then SIGTERM'
            : 'SIGTERM, then the successor once the port was free'
        return (
          `${order}: successor listening at ${(h.successorListeningMs / 1000).toFixed(1)} s, ` +
          `${h.refusedConnects} of ${h.probes} probe connects refused, old process drained and exited ` +
          `(code ${h.oldExitCode}) ${(h.drainMs / 1000).toFixed(1)} s after SIGTERM`
        )
      }
      case 'broker-kill': {
        const id = (this.#brokerKills++ % 3) + 1
        const killedAt = Date.now()
        await ctx.cluster.killNode(id)
        await new Promise((r) => setTimeout(r, ctx.brokerDownMs))
        await ctx.cluster.startNode(id)
        const servingMs = Date.now() - killedAt
        await this.#waitForFullIsr()
        return (
          `broker ${id} SIGKILLed, restarted after ${(ctx.brokerDownMs / 1000).toFixed(0)} s, serving again at ` +
          `${(servingMs / 1000).toFixed(1)} s, all replicas in sync at ${((Date.now() - killedAt) / 1000).toFixed(1)} s`
        )
      }
      case 'leader-election': {
        await this.#waitForFullIsr()
        const { leadersMoved, partitions } = await preferredLeaderElection(ctx.leadership)
        return `preferred leader election: ${leadersMoved} of ${partitions} partition leaders moved`
      }
      case 'reassign': {
        await this.#waitForFullIsr()
        const { leadersMoved, partitions } = await rotateReplicas(ctx.leadership)
        return `replica order rotated on ${partitions} partitions, then elected: ${leadersMoved} leaders moved`
      }
      case 'tx-kill': {
        const { killedStream, txn, recoveredMs } = await ctx.txProducer.killMidTransaction(120_000)
        return (
          `${killedStream} SIGKILLed inside transaction ${txn}; its successor committed a transaction ` +
          `${(recoveredMs / 1000).toFixed(1)} s later`
        )
      }
    }
  }

  /** After a broker restart its replicas catch up; leadership faults and the next kill wait for that. */
  async #waitForFullIsr(): Promise<void> {
    await waitFor(
      'every partition of the soak topics to have all replicas in sync',
      async () => (await this.#ctx.view.partitions(this.#ctx.topics)).every((p) => p.isr.length === p.replicas.length),
      { timeoutMs: 180_000, intervalMs: 1_000 },
    )
  }
}
