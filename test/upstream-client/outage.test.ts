import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UpstreamClientHealth } from '../../src/upstream-client/client.js'
import { createTopic, KafkaCluster, uniqueTopicName, waitFor } from '../harness/index.js'
import { kcatRead, newClient } from './support.js'

const CAROL = { name: 'carol', password: 'carol-secret' }

/**
 * The whole upstream cluster goes away and comes back: health must say "unreachable" with the reason, and
 * "connected" again once the broker is back, without any traffic to drive it; records produced during the outage
 * are delivered after it. A dedicated 1-node cluster: stopping the shared ones would break every other test file.
 * The same cluster serves SCRAM-SHA-256.
 */
describe('upstream client: the cluster goes away and comes back', () => {
  let cluster: KafkaCluster

  beforeAll(async () => {
    // Its SASL listener enables SCRAM-SHA-256, which the shared clusters do not (they have PLAIN and SCRAM-SHA-512).
    cluster = await KafkaCluster.start({
      name: 'uc-outage',
      nodes: 1,
      listeners: { sasl: { users: [CAROL], mechanisms: ['SCRAM-SHA-256'] } },
    })
  })

  afterAll(async () => {
    await cluster?.stop()
  })

  it('health says unreachable, then connected again; records produced meanwhile are delivered', async () => {
    const topic = uniqueTopicName('uc-outage')
    await createTopic(cluster.describe(), topic, { partitions: 1 })
    const client = newClient(cluster.bootstrapServers, { reconnectBackoffMaxMs: 500 })
    const events: Pick<UpstreamClientHealth, 'connected' | 'lastError'>[] = []
    client.on('health', (h: UpstreamClientHealth) => events.push({ connected: h.connected, lastError: h.lastError }))
    try {
      client.start()
      await client.produce(topic, [{ value: 'before' }])
      expect(client.health().connected).toBe(true)

      const nodeId = cluster.nodes[0]!.id
      await cluster.stopNode(nodeId)
      const down = await waitFor('health to report the outage', () => !client.health().connected && client.health(), {
        timeoutMs: 30_000,
        intervalMs: 50,
      })
      expect(down.lastError).toMatch(/connection refused/)
      expect(down.nodes.find((n) => n.nodeId === nodeId)).toMatchObject({ connected: false })
      const during = client.produce(topic, [{ value: 'during' }])

      await cluster.startNode(nodeId)
      await waitFor('health to report the cluster back', () => client.health().connected, {
        timeoutMs: 60_000,
        intervalMs: 50,
      })
      await expect(during).resolves.toEqual([{ topic, partition: 0, offset: 1n }])
      expect(events.map((e) => e.connected)).toEqual([true, false, true])
      // The outage is reported by whichever request saw it first: one on the open connection when the stopping broker
      // reset it, or a reconnect the stopped broker refused. Both are the truth; anything else (a timeout, a protocol
      // error) is not what happened here.
      expect(events[1]!.lastError).toMatch(/^no upstream broker answered: .*(connection refused|ECONNRESET)/)
    } finally {
      await client.close()
    }
    expect((await kcatRead(cluster.bootstrapServers, topic)).map((r) => r.payload)).toEqual(['before', 'during'])
  })

  it('SASL SCRAM-SHA-256', async () => {
    const topic = uniqueTopicName('uc-scram256')
    await createTopic(cluster.describe(), topic, { partitions: 1 })
    const client = newClient(cluster.describe().listeners.saslPlaintext!, {
      sasl: { mechanism: 'SCRAM-SHA-256', username: CAROL.name, password: CAROL.password },
    })
    try {
      expect(await client.produce(topic, [{ value: 'scram-256' }])).toEqual([{ topic, partition: 0, offset: 0n }])
    } finally {
      await client.close()
    }
    expect((await kcatRead(cluster.bootstrapServers, topic)).map((r) => r.payload)).toEqual(['scram-256'])
  })
})
