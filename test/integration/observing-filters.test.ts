import { randomUUID } from 'node:crypto'
import { Kafka, logLevel } from 'kafkajs'
import { afterEach, describe, expect, it } from 'vitest'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { FetchResponse } from '../../codec/messages/generated/fetch-response.js'
import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import { isRecordsSummary, type RecordsSummary, summarizeRecords } from '../../codec/records/index.js'
import type { ConfiguredFilter, FilterPlugin } from '../../src/pipeline/filter-api.js'
import { respond } from '../../src/pipeline/filter-api.js'
import { getCluster } from '../harness/index.js'
import { ConsumedRecords } from '../support/consumed-records.js'
import { RawKafkaClient } from '../support/raw-client.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * Filters that only observe (statistics, audit) are handed requests after they went to the broker, and, when all
 * they read of records is batch headers, messages decoded where they lie with RecordsSummary in the records
 * fields. Driven by kafkajs with records large enough that Produce requests and Fetch responses span many reads.
 */

interface Seen {
  /** Per Produce request: the form of each records field, and the records its batch headers count. */
  produce: { forms: string[]; records: number }[]
  /** Records counted from Fetch responses, and the forms their records fields came in. */
  fetched: number
  fetchForms: Set<string>
}

const form = (x: unknown) =>
  x === null ? 'null' : isRecordsSummary(x) ? 'summary' : Buffer.isBuffer(x) ? 'buffer' : 'other'

/** An observer that reads only batch headers: what the statistics filter is. */
function summaryObserver(seen: Seen): FilterPlugin {
  return {
    name: 'summary-observer',
    parseConfig: () => ({}),
    configure: (): ConfiguredFilter => ({
      name: 'summary-observer',
      forConnection: () => ({
        observesOnly: true,
        records: 'summary',
        wantsRequest: (apiKey) => apiKey === ApiKey.Produce,
        wantsResponse: (apiKey) => apiKey === ApiKey.Fetch,
        onRequest: (req) => {
          const body = req.body as ProduceRequest
          const fields = body.topicData.flatMap((t) => t.partitionData.map((p) => p.records as unknown))
          seen.produce.push({
            forms: fields.map(form),
            records: fields.reduce<number>(
              (n, f) =>
                n +
                (f === null
                  ? 0
                  : summarizeRecords(f as Buffer | RecordsSummary).batches.reduce((m, b) => m + b.recordCount, 0)),
              0,
            ),
          })
          return undefined
        },
        onResponse: (res) => {
          for (const t of (res.body as FetchResponse).responses) {
            for (const p of t.partitions) {
              const f = p.records as unknown
              seen.fetchForms.add(form(f))
              if (f === null) continue
              for (const b of summarizeRecords(f as Buffer | RecordsSummary).batches)
                if (!b.isControl) seen.fetched += b.recordCount
            }
          }
          return undefined
        },
      }),
    }),
  }
}

/** A filter that reads Produce records themselves (as schema validation will): requests it wants are decoded whole. */
const bytesReader: FilterPlugin = {
  name: 'bytes-reader',
  parseConfig: () => ({}),
  configure: (): ConfiguredFilter => ({
    name: 'bytes-reader',
    forConnection: () => ({
      wantsRequest: (apiKey) => apiKey === ApiKey.Produce,
      onRequest: (req) => {
        for (const t of (req.body as ProduceRequest).topicData)
          for (const p of t.partitionData)
            if (p.records !== null && !Buffer.isBuffer(p.records)) throw new Error('not bytes')
        return undefined
      },
    }),
  }),
}

/** Claims to observe, then tries to answer Metadata itself and never settles on Produce: both must be ignored. */
const misbehavingObserver: FilterPlugin = {
  name: 'misbehaving-observer',
  parseConfig: () => ({}),
  configure: (): ConfiguredFilter => ({
    name: 'misbehaving-observer',
    forConnection: () => ({
      observesOnly: true,
      wantsRequest: (apiKey) => apiKey === ApiKey.Metadata || apiKey === ApiKey.Produce,
      onRequest: (req) =>
        req.apiKey === ApiKey.Metadata
          ? respond({ throttleTimeMs: 0, brokers: [], topics: [] })
          : new Promise<undefined>(() => {}),
    }),
  }),
}

const VALUE_BYTES = 20_000

async function produceAndConsume(sc: TestSidecar, count: number): Promise<string[]> {
  const kafka = new Kafka({ clientId: 'observers', brokers: [sc.bootstrap], logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  const topic = `obs-${randomUUID()}`
  await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true })
  await admin.disconnect()
  const producer = kafka.producer()
  await producer.connect()
  const sent = Array.from({ length: count }, (_, i) => `${i}:`.padEnd(VALUE_BYTES, String.fromCharCode(97 + (i % 26))))
  // 25 records of 20 KB per request: about 500 KB, many socket reads.
  for (let i = 0; i < sent.length; i += 25)
    await producer.send({ topic, acks: -1, messages: sent.slice(i, i + 25).map((value) => ({ value })) })
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: `g-${randomUUID()}`, maxBytes: 2_000_000 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const consumed = new ConsumedRecords<string>()
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${consumed.size} of ${count} arrived`)), 60_000)
    void consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        consumed.add(topic, partition, message.offset, message.value!.toString())
        if (consumed.size === count) {
          clearTimeout(timer)
          resolve()
        }
      },
    })
  })
  await consumer.disconnect()
  const received = consumed.records()
  expect(received.sort()).toEqual(sent.sort())
  return received
}

describe('observing filters', () => {
  const cluster = getCluster('single')
  let sc: TestSidecar | undefined
  afterEach(async () => {
    await sc?.stop()
    sc = undefined
  })

  it('see large Produce requests and Fetch responses with records summaries, decoded where they lie', async () => {
    const seen: Seen = { produce: [], fetched: 0, fetchForms: new Set() }
    sc = await startTestSidecar(
      cluster.description.bootstrapServers,
      { filters: [{ name: 'summary-observer' }] },
      { plugins: [summaryObserver(seen)] },
    )
    await produceAndConsume(sc, 200)
    expect(seen.produce.length).toBeGreaterThanOrEqual(8)
    expect(new Set(seen.produce.flatMap((p) => p.forms))).toEqual(new Set(['summary']))
    expect(seen.produce.reduce((n, p) => n + p.records, 0)).toBe(200)
    expect(seen.fetchForms.has('summary')).toBe(true)
    expect(seen.fetchForms.has('buffer')).toBe(false)
    // Every record was fetched at least once (a consumer may fetch a batch again after a rebalance).
    expect(seen.fetched).toBeGreaterThanOrEqual(200)
  })

  it('see records as bytes where another filter needs the bytes of the same request', async () => {
    const seen: Seen = { produce: [], fetched: 0, fetchForms: new Set() }
    sc = await startTestSidecar(
      cluster.description.bootstrapServers,
      { filters: [{ name: 'bytes-reader' }, { name: 'summary-observer' }] },
      { plugins: [summaryObserver(seen), bytesReader] },
    )
    await produceAndConsume(sc, 50)
    expect(new Set(seen.produce.flatMap((p) => p.forms))).toEqual(new Set(['buffer']))
    expect(seen.produce.reduce((n, p) => n + p.records, 0)).toBe(50)
    // Nobody needs Fetch records as bytes: those still come as summaries.
    expect(seen.fetchForms.has('summary')).toBe(true)
    expect(seen.fetchForms.has('buffer')).toBe(false)
  })

  it('cannot hold up or answer a request: it went to the broker before they saw it; the attempt is reported', async () => {
    sc = await startTestSidecar(
      cluster.description.bootstrapServers,
      { filters: [{ name: 'misbehaving-observer' }] },
      { plugins: [misbehavingObserver] },
    )
    const c = await RawKafkaClient.connect(sc.bootstrap)
    try {
      // The broker's answer, not the observer's empty one.
      const md = await c.request<MetadataResponse>(ApiKey.Metadata, 4, { topics: [], allowAutoTopicCreation: false })
      expect(md.brokers).toHaveLength(1)
      // A Produce the observer never settles on is answered all the same (an unknown topic: the broker says so).
      const produced = await c.request<{ responses: { partitionResponses: { errorCode: number }[] }[] }>(
        ApiKey.Produce,
        9,
        { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [] },
      )
      expect(produced.responses).toEqual([])
    } finally {
      c.close()
    }
    expect(JSON.stringify(sc.logs)).toContain('KSC_ERR_FILTER_OBSERVE')
  })
})
