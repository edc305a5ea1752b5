/**
 * Partition leadership moved under the clients' feet, with Kafka's own tools run straight against the brokers:
 * kafka-leader-election (preferred leaders back in place, e.g. after a broker restart) and kafka-reassign-partitions
 * (every partition's replica list rotated by one, so its preferred leader is another broker; with three replicas on
 * three brokers no data moves, only the order), followed by a preferred election so the new order takes effect.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runKafkaTool } from '../../../test/harness/kafka-tools.js'
import { waitFor } from '../../../test/harness/wait-for.js'
import type { ClusterView, PartitionState } from './cluster-view.js'

export interface LeadershipContext {
  jars: { classpath: string; version: string }
  /** The brokers' own bootstrap servers (the tools do not go through the sidecar). */
  bootstrapServers: string
  topics: readonly string[]
  view: ClusterView
  workDir: string
}

export interface LeadershipOutcome {
  partitions: number
  /** Partitions of the soak's topics whose leader is another broker afterwards. */
  leadersMoved: number
}

export async function preferredLeaderElection(ctx: LeadershipContext): Promise<LeadershipOutcome> {
  const before = await ctx.view.partitions(ctx.topics)
  await elect(ctx)
  return settle(ctx, before, false)
}

export async function rotateReplicas(ctx: LeadershipContext): Promise<LeadershipOutcome> {
  const before = await ctx.view.partitions(ctx.topics)
  const plan = {
    version: 1,
    partitions: before.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      replicas: [...p.replicas.slice(1), p.replicas[0]!],
    })),
  }
  const file = join(ctx.workDir, `reassignment-${Date.now()}.json`)
  await writeFile(file, JSON.stringify(plan))
  const args = ['--bootstrap-server', ctx.bootstrapServers, '--reassignment-json-file', file]
  await tool(ctx, 'reassign-partitions', [...args, '--execute'])
  await waitFor(
    'the reassignment to complete',
    async () => !/in progress/i.test(await tool(ctx, 'reassign-partitions', [...args, '--verify'])),
    { timeoutMs: 120_000, intervalMs: 2_000 },
  )
  await elect(ctx)
  return settle(ctx, before, true)
}

async function elect(ctx: LeadershipContext): Promise<void> {
  // All partitions, the internal ones too: group and transaction coordinators move with their partitions' leaders.
  await tool(ctx, 'leader-election', [
    ...['--bootstrap-server', ctx.bootstrapServers, '--election-type', 'PREFERRED', '--all-topic-partitions'],
  ])
}

/**
 * Waits until the brokers' metadata shows every partition led by its preferred (first) replica, then counts the
 * leaders that changed. A reassignment must change every replica list.
 */
async function settle(
  ctx: LeadershipContext,
  before: readonly PartitionState[],
  replicasChanged: boolean,
): Promise<LeadershipOutcome> {
  const after = await waitFor(
    'every partition to be led by its preferred replica',
    async () => {
      const now = await ctx.view.partitions(ctx.topics)
      return now.every((p) => p.leader === p.replicas[0]) && now
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  )
  const key = (p: PartitionState) => `${p.topic}-${p.partition}`
  const old = new Map(before.map((p) => [key(p), p]))
  if (replicasChanged) {
    const unchanged = after.filter((p) => old.get(key(p))?.replicas.join(',') === p.replicas.join(','))
    if (unchanged.length > 0) throw new Error(`replicas not reassigned: ${unchanged.map(key).join(', ')}`)
  }
  return {
    partitions: after.length,
    leadersMoved: after.filter((p) => old.get(key(p))?.leader !== p.leader).length,
  }
}

async function tool(
  ctx: LeadershipContext,
  name: 'leader-election' | 'reassign-partitions',
  args: readonly string[],
): Promise<string> {
  const result = await runKafkaTool(ctx.jars, name, args, { timeoutMs: 120_000 })
  if (result.code !== 0) throw new Error(`kafka-${name} exited with ${result.code}: ${result.stderr.slice(-1000)}`)
  return result.stdout
}
