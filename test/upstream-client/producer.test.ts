import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import { CompressionType, encodeRecordBatch, readBatches } from '../../codec/records/index.js'
import type { RecordBatch } from '../../codec/records/record-batch.js'
import { UpstreamConnector } from '../../src/server/upstream-connector.js'
import { UpstreamClient, type UpstreamClientOptions } from '../../src/upstream-client/client.js'
import {
  BufferFullError,
  DeliveryTimeoutError,
  InvalidRequestError,
  KafkaResponseError,
  UnknownTopicError,
} from '../../src/upstream-client/errors.js'
import { partitionForKey } from '../../src/upstream-client/partitioner.js'
import { waitFor } from '../harness/wait-for.js'
import {
  type Answer,
  metadataAnswer,
  produceAnswer,
  type ScriptedBroker,
  startScriptedBroker,
} from './scripted-broker.js'

/**
 * The produce path against scripted brokers (two nodes, topic "t" with partition 0 led by node 1 and partition 1
 * by node 2): batching, retries after leader moves, errors, timeouts. Real brokers are in client.test.ts.
 */

const ID = 'AAAAAAAAAAAAAAAAAAAAAQ'
const log = pino({ level: 'silent' })
let brokers: ScriptedBroker[] = []
let client: UpstreamClient | undefined

afterEach(async () => {
  await client?.close().catch(() => {})
  client = undefined
  await Promise.all(brokers.map((b) => b.close()))
  brokers = []
})

interface Cluster {
  b1: ScriptedBroker
  b2: ScriptedBroker
  /** Partition -> leader node, as Metadata answers it (tests move leaders by changing it). */
  leaders: number[]
  logs: Map<string, bigint>
  produces: () => { node: number; req: ProduceRequest; version: number }[]
}

async function cluster(
  produce: (node: number, req: Parameters<typeof produceAnswer>[0], c: Cluster) => Answer | undefined = () => undefined,
): Promise<Cluster> {
  const c = { leaders: [1, 2], logs: new Map<string, bigint>() } as Cluster
  const handler = (node: number) => (req: Parameters<typeof produceAnswer>[0]) => {
    if (req.apiKey === ApiKey.Metadata) return metadataAnswer([c.b1, c.b2], { t: { id: ID, leaders: c.leaders } })
    if (req.apiKey === ApiKey.Produce) return produce(node, req, c) ?? produceAnswer(req, c.logs)
    return undefined
  }
  c.b1 = await startScriptedBroker(1, handler(1))
  c.b2 = await startScriptedBroker(2, handler(2))
  brokers = [c.b1, c.b2]
  c.produces = () =>
    brokers.flatMap((b) =>
      b.requests
        .filter((r) => r.apiKey === ApiKey.Produce)
        .map((r) => ({ node: b.nodeId, req: r.body as ProduceRequest, version: r.apiVersion })),
    )
  return c
}

function start(c: Cluster, extra: Partial<UpstreamClientOptions> = {}): UpstreamClient {
  client = new UpstreamClient({
    bootstrap: [{ host: c.b1.host, port: c.b1.port }],
    connector: new UpstreamConnector(2_000, undefined),
    clientId: 'ksc-producer-test',
    log,
    ...extra,
  })
  return client
}

const keyOnPartition = (partition: number) => {
  for (let i = 0; ; i++) if (partitionForKey(Buffer.from(`k${i}`), 2) === partition) return `k${i}`
}

describe('UpstreamClient produce (scripted brokers)', () => {
  it('batches records of many calls into one request per leader, and gives each record its offset', async () => {
    const c = await cluster()
    const u = start(c, { producer: { lingerMs: 20 } })
    await u.metadata(['t'])
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`)
    const results = await Promise.all(keys.map((key) => u.produce('t', [{ key, value: `v-${key}` }])))
    const produces = c.produces()
    expect(produces).toHaveLength(2)
    expect(produces.map((p) => [p.node, p.req.topicData[0]!.partitionData[0]!.index]).sort()).toEqual([
      [1, 0],
      [2, 1],
    ])
    // Produce v13 names the topic by id.
    expect(produces.every((p) => p.version === 13 && p.req.topicData[0]!.topicId === ID)).toBe(true)
    const next = [0n, 0n]
    for (const [i, [r]] of results.entries()) {
      expect(r!.partition).toBe(partitionForKey(Buffer.from(keys[i]!), 2))
      expect(r!.offset).toBe(next[r!.partition]!++)
    }
    // The records went out as written: one batch per partition, keys and values in call order.
    const sent = produces.flatMap((p) =>
      [...readBatches(p.req.topicData[0]!.partitionData[0]!.records!)].flatMap((b) =>
        [...(b as RecordBatch).records()].map((r) => `${r.key}=${r.value}`),
      ),
    )
    expect(sent.sort()).toEqual(keys.map((k) => `${k}=v-${k}`).sort())
  })

  it('starts a new batch at batchBytes: a large call becomes several requests', async () => {
    const c = await cluster()
    const u = start(c, { producer: { batchBytes: 4096, lingerMs: 0 } })
    const key = keyOnPartition(0)
    const records = Array.from({ length: 20 }, () => ({ key, value: Buffer.alloc(1000, 1) }))
    const results = await u.produce('t', records)
    expect(results.map((r) => r.offset)).toEqual(records.map((_, i) => BigInt(i)))
    const sizes = c.produces().map((p) => p.req.topicData[0]!.partitionData[0]!.records!.readInt32BE(57))
    expect(sizes.reduce((a, b) => a + b)).toBe(20)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4)
  })

  it('retries NOT_LEADER_OR_FOLLOWER at the new leader after refreshing metadata', async () => {
    const c = await cluster((node, req, c) => {
      if (node !== 1) return undefined
      c.leaders = [2, 2] // the leader moved; node 1 says so once
      return produceAnswer(req, c.logs, () => 6)
    })
    const u = start(c)
    const [r] = await u.produce('t', [{ key: keyOnPartition(0), value: 'x' }])
    expect(r).toMatchObject({ partition: 0, offset: 0n })
    expect(c.produces().map((p) => p.node)).toEqual([1, 2])
    const metadataRequests = brokers.flatMap((b) => b.requests).filter((q) => q.apiKey === ApiKey.Metadata)
    expect(metadataRequests.length).toBeGreaterThanOrEqual(2)
  })

  it('fails at once on an error that is not retriable, with the Kafka error name', async () => {
    const c = await cluster((_node, req, c) => produceAnswer(req, c.logs, () => 10))
    const u = start(c)
    const err = await u.produce('t', [{ key: 'a', value: 'x' }]).catch((e) => e)
    expect(err).toBeInstanceOf(KafkaResponseError)
    expect(err).toMatchObject({ errorCode: 10, errorName: 'MESSAGE_TOO_LARGE', retriable: false })
    expect(c.produces()).toHaveLength(1)
  })

  it('gives up after the delivery timeout when the leader never answers, naming the last error', async () => {
    const c = await cluster(() => 'silence')
    const u = start(c, { requestTimeoutMs: 200, producer: { deliveryTimeoutMs: 1_000, retryBackoffMs: 50 } })
    const err = await u.produce('t', [{ key: keyOnPartition(1), value: 'x' }]).catch((e) => e)
    expect(err).toBeInstanceOf(DeliveryTimeoutError)
    expect(err.message).toMatch(/not delivered within 1000 ms \(last error: .*did not answer Produce/)
    expect(c.produces().length).toBeGreaterThanOrEqual(2) // retried on new connections
  })

  it('acks=0: nothing to wait for, offsets -1', async () => {
    const c = await cluster()
    const u = start(c)
    const results = await u.produce('t', [{ key: 'a', value: 'x' }], { acks: 0 })
    expect(results).toEqual([{ topic: 't', partition: partitionForKey(Buffer.from('a'), 2), offset: -1n }])
    const [sent] = await waitFor('the acks=0 request at the broker', () => c.produces().length > 0 && c.produces(), {
      timeoutMs: 5_000,
      intervalMs: 10,
    })
    expect(sent?.req.acks).toBe(0)
  })

  it('records without a key: one partition per call, the next call the next partition', async () => {
    const c = await cluster()
    const u = start(c)
    const a = await u.produce('t', [{ value: '1' }, { value: '2' }])
    const b = await u.produce('t', [{ value: '3' }])
    const d = await u.produce('t', [{ value: '4' }])
    expect(a[0]!.partition).toBe(a[1]!.partition)
    expect(b[0]!.partition).toBe((a[0]!.partition + 1) % 2)
    expect(d[0]!.partition).toBe(a[0]!.partition)
  })

  it('refuses records beyond the buffer, a partition that does not exist, and an unknown topic', async () => {
    const c = await cluster()
    const u = start(c, { maxBlockMs: 300, producer: { bufferBytes: 1_000 } })
    await expect(u.produce('t', [{ value: Buffer.alloc(2_000) }])).rejects.toBeInstanceOf(BufferFullError)
    await expect(u.produce('t', [{ value: 'x', partition: 5 }])).rejects.toBeInstanceOf(InvalidRequestError)
    const err = await u.produce('nope', [{ value: 'x' }]).catch((e) => e)
    expect(err).toBeInstanceOf(UnknownTopicError)
    expect(err.message).toMatch(/topic "nope" does not exist on the upstream cluster/)
  })

  it('close() sends what is still lingering before it closes', async () => {
    const c = await cluster()
    const u = start(c, { producer: { lingerMs: 60_000 } })
    const pending = u.produce('t', [{ key: 'a', value: 'x' }])
    await new Promise((r) => setTimeout(r, 50))
    await u.close()
    await expect(pending).resolves.toHaveLength(1)
    expect(c.produces()).toHaveLength(1)
  })

  it('close({ timeoutMs }) gives up on records a dead leader never acknowledges', async () => {
    const c = await cluster(() => 'silence')
    const u = start(c)
    const pending = u.produce('t', [{ key: 'a', value: 'x' }]).catch((e) => e)
    await waitFor('the produce request at the broker', () => c.produces().length > 0, {
      timeoutMs: 5_000,
      intervalMs: 10,
    })
    await u.close({ timeoutMs: 200 })
    expect((await pending).code).toBe('KSC_ERR_UPSTREAM_CLIENT_SHUT_DOWN')
  })
})

describe('UpstreamClient produceBatch (scripted brokers)', () => {
  const batchOf = (values: string[], options: Parameters<typeof encodeRecordBatch>[1] = {}) =>
    encodeRecordBatch(
      values.map((v) => ({ key: null, value: Buffer.from(v), timestamp: 1000n })),
      options,
    )
  const sentValues = (c: Cluster, partition: number) =>
    c
      .produces()
      .flatMap((p) => p.req.topicData[0]!.partitionData.filter((d) => d.index === partition))
      .flatMap((d) => [...readBatches(d.records!)].map((b) => b as RecordBatch))

  it('sends a batch the caller built as it is, after the records produce() queued before it, and resolves its base offset', async () => {
    const c = await cluster()
    const u = start(c, { producer: { lingerMs: 50 } })
    await u.metadata(['t'])
    const key = keyOnPartition(1)
    const before = u.produce('t', [{ key, value: 'queued-first' }])
    const batch = batchOf(['a', 'b', 'c'])
    const result = await u.produceBatch('t', 1, batch)
    expect((await before)[0]!.offset).toBe(0n)
    expect(result).toEqual({ partition: 1, baseOffset: 1n, recordCount: 3 })
    const batches = sentValues(c, 1)
    expect(batches.map((b) => [...b.records()].map((r) => r.value!.toString()))).toEqual([
      ['queued-first'],
      ['a', 'b', 'c'],
    ])
    expect(batches[1]!.raw).toEqual(batch)
  })

  it('compresses the batch when the call asks for it; without a partition, takes the next one round robin', async () => {
    const c = await cluster()
    const u = start(c)
    await u.metadata(['t'])
    const first = await u.produceBatch('t', undefined, batchOf(['x', 'y']), { compression: 'lz4' })
    const second = await u.produceBatch('t', undefined, batchOf(['z']), { compression: 'lz4' })
    expect(new Set([first.partition, second.partition])).toEqual(new Set([0, 1]))
    const sent = sentValues(c, first.partition)[0]!
    expect(sent.compression).toBe(CompressionType.Lz4)
    expect(sent.verifyCrc()).toBe(true)
    expect([...sent.records()].map((r) => [r.value!.toString(), r.timestamp, r.offsetDelta])).toEqual([
      ['x', 1000n, 0],
      ['y', 1000n, 1],
    ])
  })

  it('refuses a batch it cannot send as it is: compressed, misnumbered, or for a partition the topic lacks', async () => {
    const c = await cluster()
    const u = start(c)
    await u.metadata(['t'])
    const refused = (p: Promise<unknown>) =>
      p.then(
        () => 'sent',
        (e: unknown) => e,
      )
    expect(await refused(u.produceBatch('t', 0, batchOf(['a'], { compression: CompressionType.Gzip })))).toBeInstanceOf(
      InvalidRequestError,
    )
    expect(await refused(u.produceBatch('t', 0, batchOf(['a', 'b'], { lastOffsetDelta: 5 })))).toBeInstanceOf(
      InvalidRequestError,
    )
    expect(await refused(u.produceBatch('t', 7, batchOf(['a'])))).toBeInstanceOf(InvalidRequestError)
    expect(u.partitionCount('t')).toBe(2)
    expect(u.partitionCount('unknown')).toBeUndefined()
    expect(c.produces()).toEqual([])
  })
})

describe('UpstreamClient delivery timeout (scripted brokers)', () => {
  it('fails every batch past its delivery timeout at once, not one per pass, so that later batches are not starved', async () => {
    const c = await cluster()
    c.leaders = [-1, 2] // partition 0 has no leader: its batches wait, and expire
    const u = start(c, { producer: { deliveryTimeoutMs: 300, retryBackoffMs: 100 } })
    await u.metadata(['t'])
    const batch = encodeRecordBatch([{ key: null, value: Buffer.from('v'), timestamp: 1000n }])
    const started = Date.now()
    const settled = await Promise.all(
      Array.from({ length: 30 }, () =>
        u.produceBatch('t', 0, batch).then(
          () => 'sent',
          (err: Error) => [err.constructor.name, Date.now() - started],
        ),
      ),
    )
    expect(settled.every((s) => Array.isArray(s) && s[0] === 'DeliveryTimeoutError')).toBe(true)
    // One per pass (every retry backoff, 100 ms) would take 3 s for 30 batches.
    expect(Math.max(...settled.map((s) => (s as [string, number])[1]))).toBeLessThan(1500)
  })
})
