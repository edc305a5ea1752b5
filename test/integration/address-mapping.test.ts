import { Kafka, logLevel } from 'kafkajs'
import { afterAll, describe, expect, it } from 'vitest'
import type { ApiVersionsResponse } from '../../codec/messages/generated/api-versions-response.js'
import { API_DEFINITIONS, ApiKey } from '../../codec/messages/generated/apis.js'
import type { DescribeClusterResponse } from '../../codec/messages/generated/describe-cluster-response.js'
import type { DescribeQuorumResponse } from '../../codec/messages/generated/describe-quorum-response.js'
import type { FindCoordinatorResponse } from '../../codec/messages/generated/find-coordinator-response.js'
import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import { getCluster, runKcat, uniqueTopicName, waitFor } from '../harness/index.js'
import { RawKafkaClient } from '../support/raw-client.js'
import { freePortBase, startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * Every carrier of a broker address, asked for directly at the versions that matter, answers with the sidecar's
 * listeners only; the mapping is the same after a sidecar restart.
 */
describe('broker address mapping', () => {
  const cluster = getCluster('triple')
  const nodes = cluster.description.nodes
  const upstreamHost = nodes[0]!.host
  const running: TestSidecar[] = []
  afterAll(async () => {
    for (const s of running) await s.stop()
  })
  const start = async (portBase?: number) => {
    const sc = await startTestSidecar(
      cluster.description.bootstrapServers,
      portBase === undefined
        ? {}
        : {
            listen: { host: '127.0.0.1', port: portBase },
            brokers: { host: '127.0.0.1', advertisedHost: '127.0.0.1', portBase },
          },
    )
    running.push(sc)
    return sc
  }

  it('Metadata, FindCoordinator (v0-3 and v4+ shapes), DescribeCluster and DescribeQuorum name only local listeners', async () => {
    const sc = await start()
    const base = sc.config.brokers.portBase
    const c = await RawKafkaClient.connect(sc.bootstrap)
    try {
      const bodies: [number, object][] = [
        [1, { topics: [] }],
        [
          9,
          {
            topics: [],
            allowAutoTopicCreation: false,
            includeClusterAuthorizedOperations: false,
            includeTopicAuthorizedOperations: false,
          },
        ],
        [12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }],
      ]
      for (const [v, body] of bodies) {
        const md = await c.request<MetadataResponse>(ApiKey.Metadata, v, body)
        expect(md.brokers.map((b) => `${b.host}:${b.port}`).sort()).toEqual(
          nodes.map((n) => `127.0.0.1:${base + n.id}`).sort(),
        )
      }
      const group = uniqueTopicName('coordinator')
      // A new group's coordinator may not be ready at once (COORDINATOR_NOT_AVAILABLE, 15): retry as clients do.
      const v3 = await waitFor(
        'coordinator',
        async () => {
          const r = await c.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 3, { key: group, keyType: 0 })
          return r.errorCode === 0 ? r : undefined
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      )
      expect(`${v3.host}:${v3.port}`).toBe(`127.0.0.1:${base + v3.nodeId!}`)
      const v4 = await c.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 4, {
        keyType: 0,
        coordinatorKeys: [group, `${group}-2`],
      })
      for (const co of v4.coordinators!) expect(`${co.host}:${co.port}`).toBe(`127.0.0.1:${base + co.nodeId}`)

      const dc = await c.request<DescribeClusterResponse>(ApiKey.DescribeCluster, 1, {
        includeClusterAuthorizedOperations: false,
        endpointType: 1,
      })
      expect(dc.brokers.map((b) => `${b.host}:${b.port}`).sort()).toEqual(
        nodes.map((n) => `127.0.0.1:${base + n.id}`).sort(),
      )

      const dq = await c.request<DescribeQuorumResponse>(ApiKey.DescribeQuorum, 2, {
        topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }],
      })
      expect(dq.errorCode).toBe(0)
      const listeners = dq.nodes!.flatMap((n) => n.listeners.map((l) => ({ nodeId: n.nodeId, ...l })))
      expect(listeners.length).toBeGreaterThan(0)
      // Controllers get their own range (portBase + 1000 + id): a node id can be a broker and a controller at different addresses.
      for (const l of listeners) expect(`${l.host}:${l.port}`).toBe(`127.0.0.1:${base + 1000 + l.nodeId}`)
      expect(JSON.stringify(dq, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(upstreamHost)
    } finally {
      c.close()
    }
  })

  it('ApiVersions is narrowed to what the codec decodes, without raising minimums', async () => {
    const sc = await start()
    const c = await RawKafkaClient.connect(sc.bootstrap)
    try {
      const res = await c.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, {
        clientSoftwareName: 'raw',
        clientSoftwareVersion: '1',
      })
      expect(res.errorCode).toBe(0)
      for (const k of res.apiKeys) {
        const api = API_DEFINITIONS[k.apiKey]
        expect(api, `API ${k.apiKey} advertised`).toBeDefined()
        expect(k.maxVersion).toBeLessThanOrEqual(api!.request.maxVersion)
      }
      // Kafka 4.x still advertises Produce v0 (KAFKA-18659); librdkafka needs it (librdkafka#4956).
      expect(res.apiKeys.find((k) => k.apiKey === ApiKey.Produce)!.minVersion).toBe(0)
    } finally {
      c.close()
    }
  })

  it('is deterministic across a sidecar restart, and a client with cached metadata reaches its node at once', async () => {
    const base = await freePortBase(12)
    const first = await start(base)
    const before = await runKcat(['-b', first.bootstrap, '-L', '-J', '-m', '15'])
    await first.stop()
    running.splice(running.indexOf(first), 1)

    const second = await start(base)
    await waitFor(
      "node listeners up from the sidecar's own metadata",
      () => second.sidecar.status().nodeListeners.length === nodes.length,
      { timeoutMs: 20_000 },
    )
    // Straight to node 2's listener, as a client holding metadata from before the restart would: the sidecar
    // has not seen any Metadata response yet and must find node 2 by itself.
    const direct = await RawKafkaClient.connect(`127.0.0.1:${base + 2}`)
    try {
      const md = await direct.request<MetadataResponse>(ApiKey.Metadata, 4, {
        topics: [],
        allowAutoTopicCreation: false,
      })
      expect(md.brokers.find((b) => b.nodeId === 2)!.port).toBe(base + 2)
    } finally {
      direct.close()
    }
    const after = await runKcat(['-b', second.bootstrap, '-L', '-J', '-m', '15'])
    expect(JSON.parse(after.stdout).brokers).toEqual(JSON.parse(before.stdout).brokers)
  })

  it('a dead upstream is answered like a dead broker: the client connection is reset at once', async () => {
    const dead = await startTestSidecar('127.0.0.1:1')
    running.push(dead)
    const started = Date.now()
    const kafka = new Kafka({
      brokers: [dead.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 5000,
    })
    await expect(kafka.admin().connect()).rejects.toThrow()
    expect(Date.now() - started).toBeLessThan(4000)
    expect(dead.logs.some((l) => l.code === 'KSC_ERR_UPSTREAM_CONNECT')).toBe(true)
  })
})
