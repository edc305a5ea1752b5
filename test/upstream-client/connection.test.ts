import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { MetadataRequest } from '../../codec/messages/generated/metadata-request.js'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import { encodeRecordBatch } from '../../codec/records/index.js'
import { UpstreamConnector } from '../../src/server/upstream-connector.js'
import { BrokerConnection, type BrokerConnectionOptions } from '../../src/upstream-client/connection.js'
import { ConnectionClosedError, RequestTimeoutError } from '../../src/upstream-client/errors.js'
import { waitFor } from '../harness/wait-for.js'
import {
  codecApiVersions,
  metadataAnswer,
  produceAnswer,
  type ScriptedBroker,
  startScriptedBroker,
} from './scripted-broker.js'

const log = pino({ level: 'silent' })
let broker: ScriptedBroker | undefined

afterEach(async () => {
  await broker?.close()
  broker = undefined
})

function options(b: ScriptedBroker, extra: Partial<BrokerConnectionOptions> = {}): BrokerConnectionOptions {
  return {
    connector: new UpstreamConnector(2_000, undefined),
    target: { host: b.host, port: b.port },
    nodeId: b.nodeId,
    clientId: 'ksc-test',
    requestTimeoutMs: 5_000,
    softwareVersion: '1.2.3',
    log,
    ...extra,
  }
}

const metadataOf = (topic: string): MetadataRequest => ({
  topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: topic }],
  allowAutoTopicCreation: false,
  includeTopicAuthorizedOperations: false,
})

describe('BrokerConnection', () => {
  it('negotiates per API the highest version both the broker and the codec support', async () => {
    broker = await startScriptedBroker(1, (req) => {
      if (req.apiKey !== ApiKey.ApiVersions) return undefined
      const keys = codecApiVersions().map((k) =>
        k.apiKey === ApiKey.Metadata
          ? { ...k, maxVersion: 7 }
          : k.apiKey === ApiKey.Produce
            ? { ...k, maxVersion: 99 }
            : k,
      )
      return { body: { errorCode: 0, apiKeys: keys.filter((k) => k.apiKey !== ApiKey.DescribeCluster) } }
    })
    const conn = await BrokerConnection.open(options(broker))
    expect(conn.negotiatedVersion(ApiKey.Metadata)).toBe(7) // the broker's maximum
    expect(conn.negotiatedVersion(ApiKey.Produce)).toBe(13) // the codec's maximum
    expect(conn.negotiatedVersion(ApiKey.DescribeCluster)).toBeUndefined() // not offered
    expect(conn.supports(ApiKey.Metadata, 8)).toBe(false)
    const [apiVersions] = broker.requests
    expect(apiVersions?.header).toMatchObject({ clientId: 'ksc-test' })
    expect(apiVersions?.body).toMatchObject({ clientSoftwareName: 'kafka-sidecar', clientSoftwareVersion: '1.2.3' })
    conn.close()
  })

  it('asks ApiVersions again at the broker-s maximum after UNSUPPORTED_VERSION in a v0 body (KIP-511)', async () => {
    broker = await startScriptedBroker(1, (req) => {
      if (req.apiKey !== ApiKey.ApiVersions) return undefined
      if (req.apiVersion > 3)
        return { version: 0, body: { errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }] } }
      return { body: { errorCode: 0, apiKeys: codecApiVersions(), throttleTimeMs: 0 } }
    })
    const conn = await BrokerConnection.open(options(broker))
    expect(broker.requests.map((r) => r.apiVersion)).toEqual([5, 3])
    expect(conn.negotiatedVersion(ApiKey.Metadata)).toBe(13)
    conn.close()
  })

  it('pipelines requests and gives each the response with its correlation id', async () => {
    const brokers = [{ nodeId: 1, host: 'h', port: 1 }]
    broker = await startScriptedBroker(1, async (req) => {
      if (req.apiKey !== ApiKey.Metadata) return undefined
      const name = (req.body as MetadataRequest).topics![0]!.name!
      // The first answer is slow: the others must still wait their turn and match by correlation id.
      if (name === 't0') await new Promise((r) => setTimeout(r, 50))
      return metadataAnswer(brokers, { [name]: { id: 'AAAAAAAAAAAAAAAAAAAAAQ', leaders: [1] } })
    })
    const conn = await BrokerConnection.open(options(broker))
    const answers = await Promise.all(
      ['t0', 't1', 't2', 't3'].map((t) => conn.request(ApiKey.Metadata, 12, metadataOf(t))),
    )
    expect(answers.map((a) => a.topics[0]?.name)).toEqual(['t0', 't1', 't2', 't3'])
    const ids = broker.requests.slice(1).map((r) => r.header.correlationId)
    expect(new Set(ids).size).toBe(4)
    conn.close()
  })

  it('a request without an answer in time closes the connection and fails every request on it', async () => {
    broker = await startScriptedBroker(1, (req) => (req.apiKey === ApiKey.Metadata ? 'silence' : undefined))
    let closedWith: Error | undefined
    const conn = await BrokerConnection.open(
      options(broker, {
        requestTimeoutMs: 300,
        onClose: (_c, err) => {
          closedWith = err
        },
      }),
    )
    const first = conn.request(ApiKey.Metadata, 12, metadataOf('a')).catch((e) => e)
    const second = conn.request(ApiKey.Metadata, 12, metadataOf('b')).catch((e) => e)
    expect(await first).toBeInstanceOf(RequestTimeoutError)
    expect((await first).message).toMatch(/did not answer Metadata v12 within 300 ms/)
    expect(await second).toBeInstanceOf(ConnectionClosedError)
    expect(conn.closed).toBe(true)
    expect(closedWith).toBeInstanceOf(RequestTimeoutError)
    await expect(conn.request(ApiKey.Metadata, 12, metadataOf('c'))).rejects.toBeInstanceOf(ConnectionClosedError)
  })

  it('fails waiting requests when the broker drops the connection', async () => {
    broker = await startScriptedBroker(1, (req) => (req.apiKey === ApiKey.Metadata ? 'silence' : undefined))
    const conn = await BrokerConnection.open(options(broker))
    const pending = conn.request(ApiKey.Metadata, 12, metadataOf('a')).catch((e) => e)
    await waitFor('the request to arrive', () => broker!.requests.length === 2, { timeoutMs: 5_000, intervalMs: 10 })
    broker.dropConnections()
    const err = await pending
    expect(err).toBeInstanceOf(ConnectionClosedError)
    expect(err.code).toBe('KSC_ERR_UPSTREAM_CLIENT_CLOSED')
    expect(conn.closed).toBe(true)
  })

  it('holds requests while the broker throttles it (KIP-219), then sends them in order', async () => {
    const brokers = [{ nodeId: 1, host: 'h', port: 1 }]
    broker = await startScriptedBroker(1, (req) => {
      if (req.apiKey !== ApiKey.Metadata) return undefined
      const answer = metadataAnswer(brokers, {})
      if ((req.body as MetadataRequest).topics![0]!.name === 'throttle')
        (answer as { body: { throttleTimeMs: number } }).body.throttleTimeMs = 1_000
      return answer
    })
    const conn = await BrokerConnection.open(options(broker))
    await conn.request(ApiKey.Metadata, 12, metadataOf('throttle'))
    const later = [
      conn.request(ApiKey.Metadata, 12, metadataOf('x')),
      conn.request(ApiKey.Metadata, 12, metadataOf('y')),
    ]
    await new Promise((r) => setTimeout(r, 200))
    expect(broker.requests).toHaveLength(2) // ApiVersions and the throttled one: the rest is held
    await Promise.all(later)
    expect(broker.requests.slice(2).map((r) => (r.body as MetadataRequest).topics![0]!.name)).toEqual(['x', 'y'])
    conn.close()
  })

  it('writes records from where they lie with referenceRecords, throttled or not: the broker reads the same bytes', async () => {
    const brokers = [{ nodeId: 1, host: 'h', port: 1 }]
    const logs = new Map<string, bigint>()
    broker = await startScriptedBroker(1, (req) => {
      if (req.apiKey === ApiKey.Produce) return produceAnswer(req, logs)
      if (req.apiKey !== ApiKey.Metadata) return undefined
      const answer = metadataAnswer(brokers, {})
      ;(answer as { body: { throttleTimeMs: number } }).body.throttleTimeMs = 300
      return answer
    })
    const conn = await BrokerConnection.open(options(broker))
    const batch = (fill: number) =>
      encodeRecordBatch([
        { key: null, value: Buffer.alloc(5000, fill) },
        { key: null, value: Buffer.alloc(10, fill) },
      ])
    const produce = (records: Buffer): ProduceRequest => ({
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: 't', partitionData: [{ index: 0, records }] }],
    })
    const sent = [batch(1), batch(2), batch(3)]
    await conn.request(ApiKey.Produce, 9, produce(sent[0]!), { referenceRecords: true })
    await conn.request(ApiKey.Metadata, 12, metadataOf('throttle'))
    // Held while throttled, then written as pieces.
    await Promise.all([
      conn.request(ApiKey.Produce, 9, produce(sent[1]!), { referenceRecords: true }),
      conn.request(ApiKey.Produce, 9, produce(sent[2]!), { referenceRecords: true }),
    ])
    const received = broker.requests
      .filter((r) => r.apiKey === ApiKey.Produce)
      .map((r) => Buffer.from((r.body as ProduceRequest).topicData[0]!.partitionData[0]!.records!))
    expect(received).toEqual(sent)
    conn.close()
  })
})
