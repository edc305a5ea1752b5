import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiVersionsResponse } from '../../codec/messages/generated/api-versions-response.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import {
  type ConfiguredFilter,
  type DecodedRequest,
  type FilterPlugin,
  respond,
} from '../../src/pipeline/filter-api.js'
import { getCluster } from '../harness/index.js'
import { RawKafkaClient } from '../support/raw-client.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * A test filter that makes Metadata requests wait (as a schema-registry lookup would) and answers ApiVersions
 * itself (a short-circuit), so responses become ready out of order: the client must still get them in order.
 */
const orderingProbe: FilterPlugin<{ delayMs: number }> = {
  name: 'ordering-probe',
  parseConfig: (raw) => ({ delayMs: Number((raw as { delayMs?: number }).delayMs ?? 100) }),
  configure: (config): ConfiguredFilter => ({
    name: 'ordering-probe',
    forConnection: () => ({
      wantsRequest: (apiKey) => apiKey === ApiKey.Metadata || apiKey === ApiKey.ApiVersions,
      onRequest: (req: DecodedRequest) => {
        if (req.apiKey === ApiKey.ApiVersions) {
          const body: ApiVersionsResponse = {
            errorCode: 0,
            apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }],
            throttleTimeMs: 0,
          }
          return respond(body)
        }
        return new Promise((resolve) => setTimeout(() => resolve(undefined), config.delayMs))
      },
    }),
  }),
}

describe('requests keep their order through asynchronous filters and short-circuits', () => {
  const cluster = getCluster('single')
  let sc: TestSidecar

  beforeAll(async () => {
    sc = await startTestSidecar(
      cluster.description.bootstrapServers,
      { filters: [{ name: 'ordering-probe', config: { delayMs: 150 } }] },
      { plugins: [orderingProbe] },
    )
  })
  afterAll(async () => {
    await sc?.stop()
  })

  it('pipelined Metadata (delayed), ApiVersions (answered by the filter) and Metadata come back in request order', async () => {
    const c = await RawKafkaClient.connect(sc.bootstrap)
    try {
      const md = () => c.request<MetadataResponse>(ApiKey.Metadata, 4, { topics: [], allowAutoTopicCreation: false })
      const av = () => c.request<ApiVersionsResponse>(ApiKey.ApiVersions, 2, {})
      const results = await Promise.all([md(), av(), md(), av(), av(), md()])
      expect(c.arrivals).toEqual([1, 2, 3, 4, 5, 6])
      expect((results[1] as ApiVersionsResponse).apiKeys).toEqual([{ apiKey: 18, minVersion: 0, maxVersion: 3 }])
      expect((results[0] as MetadataResponse).brokers).toHaveLength(1)
    } finally {
      c.close()
    }
  })
})

describe('requests that arrive a few bytes at a time', () => {
  const cluster = getCluster('single')
  let sc: TestSidecar
  beforeAll(async () => {
    sc = await startTestSidecar(cluster.description.bootstrapServers)
  })
  afterAll(async () => {
    await sc?.stop()
  })

  it('are reassembled: headers split across reads, a Produce with a long client id and transactional id', async () => {
    for (const dribble of [1, 3, 7]) {
      const c = await RawKafkaClient.connect(sc.bootstrap)
      c.dribble = dribble
      try {
        const md = await c.request<MetadataResponse>(
          ApiKey.Metadata,
          12,
          { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false },
          'x'.repeat(300),
        )
        expect(md.brokers).toHaveLength(1)
        expect(md.brokers[0]!.host).toBe('127.0.0.1')
        // acks=0: the sidecar must find acks behind a 600-byte client id and expect no response; the next request
        // proves the connection is still in step.
        c.request(
          ApiKey.Produce,
          9,
          { transactionalId: null, acks: 0, timeoutMs: 1000, topicData: [] },
          'y'.repeat(600),
        ).catch(() => {})
        const again = await c.request<MetadataResponse>(ApiKey.Metadata, 4, {
          topics: [],
          allowAutoTopicCreation: false,
        })
        expect(again.brokers).toHaveLength(1)
      } finally {
        c.close()
      }
    }
  })
})
