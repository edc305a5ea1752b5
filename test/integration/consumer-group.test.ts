import { randomUUID } from 'node:crypto'
import { type Consumer, Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getCluster, waitFor } from '../harness/index.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

interface Member {
  consumer: Consumer
  assigned: number[]
  received: string[]
}

describe('a consumer group of three members through the sidecar', () => {
  const cluster = getCluster('triple')
  let sc: TestSidecar

  beforeAll(async () => {
    sc = await startTestSidecar(cluster.description.bootstrapServers)
  })
  afterAll(async () => {
    await sc?.stop()
  })

  it('spreads partitions led by different brokers over three members and rebalances when one leaves', async () => {
    const kafka = new Kafka({ clientId: 'group-test', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
    const topic = `group-${randomUUID()}`
    const groupId = `g-${randomUUID()}`
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 3 }], waitForLeaders: true })
    const leaders = new Set(
      (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.map((p) => p.leader),
    )
    expect(leaders.size).toBe(3) // partitions are led by all three brokers: members fetch from different ones

    const members: Member[] = []
    for (let i = 0; i < 3; i++) {
      const consumer = kafka.consumer({
        groupId,
        sessionTimeout: 10_000,
        heartbeatInterval: 500,
        rebalanceTimeout: 15_000,
      })
      const m: Member = { consumer, assigned: [], received: [] }
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        m.assigned = (e.payload.memberAssignment[topic] ?? []).slice().sort()
      })
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({
        eachMessage: async ({ message }) => {
          m.received.push(message.value!.toString())
        },
      })
      members.push(m)
    }
    await waitFor(
      'three members with two partitions each',
      () => members.every((m) => m.assigned.length === 2) && new Set(members.flatMap((m) => m.assigned)).size === 6,
      { timeoutMs: 60_000 },
    )

    const producer = kafka.producer()
    await producer.connect()
    const first = Array.from({ length: 60 }, (_, i) => ({ value: `a-${i}`, partition: i % 6 }))
    await producer.send({ topic, acks: -1, messages: first })
    await waitFor('first batch consumed', () => members.reduce((n, m) => n + m.received.length, 0) === 60, {
      timeoutMs: 60_000,
    })
    for (const m of members) expect(m.received.length).toBe(20)

    // One member leaves (LeaveGroup through the sidecar): the other two take over all six partitions.
    const leaving = members.pop()!
    await leaving.consumer.disconnect()
    await waitFor(
      'two members with three partitions each',
      () => members.every((m) => m.assigned.length === 3) && new Set(members.flatMap((m) => m.assigned)).size === 6,
      { timeoutMs: 60_000 },
    )
    const second = Array.from({ length: 60 }, (_, i) => ({ value: `b-${i}`, partition: i % 6 }))
    await producer.send({ topic, acks: -1, messages: second })
    await waitFor(
      'second batch consumed by the remaining members',
      () => members.flatMap((m) => m.received).filter((v) => v.startsWith('b-')).length === 60,
      { timeoutMs: 60_000 },
    )
    const all = [...members.flatMap((m) => m.received), ...leaving.received]
    expect(new Set(all.filter((v) => v.startsWith('a-'))).size).toBe(60)
    expect(new Set(all.filter((v) => v.startsWith('b-'))).size).toBe(60)

    await producer.disconnect()
    await Promise.all(members.map((m) => m.consumer.disconnect()))
    await admin.disconnect()
  })
})
