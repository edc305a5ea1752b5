import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { partitionForKey } from '../../src/upstream-client/partitioner.js'
import type { RecordMetadata } from '../../src/upstream-client/produce-records.js'
import { createTopic, KafkaCluster, uniqueTopicName, waitFor } from '../harness/index.js'
import { kcatRead, newClient } from './support.js'

/**
 * Leader failover: the leader of the partition being produced to is killed (SIGKILL) while records keep coming; the
 * client must find the new leader through metadata and deliver every record. A 3-node cluster of its own: a broker
 * killed in a shared cluster slowed other test files that ran beside this one (a kafkajs consumer group through the
 * sidecar missed its 60 s bound twice in full runs).
 */
describe('upstream client leader failover on a 3-node cluster of its own', () => {
  let cluster: KafkaCluster
  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 3, name: 'uc-failover' })
  })
  afterAll(async () => {
    await cluster?.stop()
  })

  it('keeps producing when the leader is killed, and loses no acknowledged record', async () => {
    const topic = uniqueTopicName('uc-failover')
    await createTopic(cluster, topic, {
      partitions: 3,
      replicationFactor: 3,
      configs: { 'min.insync.replicas': '2' },
    })
    const client = newClient(cluster.bootstrapServers, { producer: { retryBackoffMs: 50 } })
    const key = Array.from({ length: 100 }, (_, i) => `key-${i}`).find((k) => partitionForKey(Buffer.from(k), 3) === 0)!
    const leader = (await client.metadata([topic])).topics.get(topic)!.partitions[0]!.leader
    expect(leader).toBeGreaterThan(0)

    const sent: string[] = []
    const calls: Promise<RecordMetadata[]>[] = []
    let beforeKill = 0
    let afterKill = 0
    let killed = false
    let stop = false
    const producing = (async () => {
      for (let n = 0; !stop; n++) {
        const values = Array.from({ length: 5 }, (_, i) => `r${n}-${i}`)
        sent.push(...values)
        const wasKilled = killed
        calls.push(
          client
            .produce(
              topic,
              values.map((value) => ({ key, value })),
              { acks: -1 },
            )
            .then((r) => {
              if (wasKilled) afterKill++
              else beforeKill++
              return r
            }),
        )
        await new Promise((r) => setTimeout(r, 20))
      }
    })()

    try {
      await waitFor('records acknowledged before the kill', () => beforeKill >= 10, {
        timeoutMs: 30_000,
        intervalMs: 50,
      })
      await cluster.killNode(leader)
      killed = true
      await waitFor('records acknowledged by the new leader', () => afterKill >= 20, {
        timeoutMs: 90_000,
        intervalMs: 100,
      })
      const moved = (await client.metadata([topic])).topics.get(topic)!.partitions[0]!.leader
      expect(moved).not.toBe(leader)
      expect(moved).toBeGreaterThan(0)
    } finally {
      stop = true
      await producing
      await cluster.startNode(leader)
    }

    const results = await Promise.allSettled(calls)
    const failed = results.filter((r) => r.status === 'rejected')
    expect(failed.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([])
    for (const r of results)
      for (const m of (r as PromiseFulfilledResult<RecordMetadata[]>).value) expect(m.partition).toBe(0)
    await client.close()

    // At least once: every record is there (a retry after a lost answer may have written one twice).
    const read = new Set((await kcatRead(cluster.bootstrapServers, topic)).map((r) => r.payload))
    expect(sent.filter((v) => !read.has(v))).toEqual([])
  })
})
