import { afterEach, describe, expect, it } from 'vitest'
import { encodeRequest } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import { encodeRecordBatch, isRecordsSummary, RecordBatch, readBatches } from '../../codec/records/index.js'
import type { ConfiguredFilter, Filter } from '../../src/pipeline/filter-api.js'
import { waitFor } from '../harness/wait-for.js'
import { writeCut } from '../support/cut-writes.js'
import { connectFrameReader } from '../support/raw-client.js'
import { type RecordingBroker, startRecordingBroker } from '../support/recording-broker.js'
import { type FilterPlugin, startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * Client connections on plain listeners read into one reused buffer each (src/server/accepted-socket.ts): every
 * byte of a read that outlives it (a request split across reads, requests waiting behind an asynchronous filter,
 * writes the broker has not taken yet, pieces an observer holds) must be copied or keep its buffer, or the next
 * read overwrites it. A client sends pipelined Produce requests of every size, cut into reads every way, while the
 * broker stops reading for a while; the broker must get exactly the bytes sent, in order, and observers must see
 * exactly the records sent, whether they read batch headers (decoded as the request passes) or the records
 * themselves (the request held and decoded whole).
 */

const SIZES = [200, 30_000, 100_000, 300_000, 1_500_000]
const LARGE_REQUESTS = 20
/** Then many small ones (100 B to 20 KB, either side of the one-piece-stream threshold), each whole in a read. */
const SMALL_REQUESTS = 300

interface Sent {
  frames: Buffer[]
  records: number
  /** Sum over all records of their first value byte: what a reader of the records themselves must see. */
  valueCheck: number
}

function produceRequests(): Sent {
  const frames: Buffer[] = []
  let records = 0
  let valueCheck = 0
  for (let id = 0; id < LARGE_REQUESTS + SMALL_REQUESTS; id++) {
    const total = id < LARGE_REQUESTS ? SIZES[id % SIZES.length]! : 100 + ((id * 997) % 20_000)
    const perRecord = Math.min(10_000, total)
    const count = Math.max(1, Math.floor(total / perRecord))
    // Two partitions, so the records fields end mid-request as well as at its end.
    const partitionData = [0, 1].map((index) => {
      const values = Array.from({ length: count }, (_, i) => Buffer.alloc(perRecord, (id * 7 + i + index) & 0xff))
      records += values.length
      for (const v of values) valueCheck += v[0]!
      return { index, records: encodeRecordBatch(values.map((value) => ({ value, timestamp: 1n }))) }
    })
    const body: ProduceRequest = {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: 'reads', partitionData }],
    }
    frames.push(
      encodeRequest(
        { requestApiKey: ApiKey.Produce, requestApiVersion: 9, correlationId: id, clientId: 'reads' },
        body,
      ),
    )
  }
  return { frames, records, valueCheck }
}

interface Seen {
  records: number
  valueCheck: number
  forms: Set<string>
}

/** Counts the records of a Produce request's records fields, from batch headers or from the records themselves. */
function countRecords(body: ProduceRequest, seen: Seen): void {
  for (const t of body.topicData)
    for (const p of t.partitionData) {
      const r = p.records as unknown
      if (isRecordsSummary(r)) {
        seen.forms.add('summary')
        seen.records += r.batches.reduce((n, b) => n + b.recordCount, 0)
      } else if (Buffer.isBuffer(r)) {
        seen.forms.add('bytes')
        for (const batch of readBatches(r)) {
          if (!(batch instanceof RecordBatch)) continue
          for (const record of batch.records()) {
            seen.records++
            seen.valueCheck += record.value![0]!
          }
        }
      }
    }
}

/** Observes Produce requests, reading records as summaries or as bytes. */
function produceObserver(seen: Seen, read: 'summary' | 'bytes'): FilterPlugin {
  return {
    name: 'produce-observer',
    parseConfig: () => ({}),
    configure: (): ConfiguredFilter => ({
      name: 'produce-observer',
      forConnection: (): Filter => ({
        observesOnly: true,
        records: read,
        wantsRequest: (apiKey) => apiKey === ApiKey.Produce,
        onRequest: (req) => {
          countRecords(req.body as ProduceRequest, seen)
          return undefined
        },
      }),
    }),
  }
}

/**
 * Holds every Produce request for a millisecond (the ones behind it wait, whole, across reads) and reads its
 * records only when the response comes back: the request's bytes must be intact long after the read they came in.
 */
function delayingReader(seen: Seen): FilterPlugin {
  return {
    name: 'delaying-reader',
    parseConfig: () => ({}),
    configure: (): ConfiguredFilter => ({
      name: 'delaying-reader',
      forConnection: (): Filter => ({
        wantsRequest: (apiKey) => apiKey === ApiKey.Produce,
        wantsResponse: (apiKey) => apiKey === ApiKey.Produce,
        onRequest: () => new Promise((resolve) => setTimeout(() => resolve(undefined), 1)),
        onResponse: (res) => {
          countRecords(res.request!.body as ProduceRequest, seen)
          return undefined
        },
      }),
    }),
  }
}

type Variant = 'no filter' | 'summary observer' | 'records observer' | 'asynchronous filter'

describe('client reads into a reused buffer', () => {
  let broker: RecordingBroker | undefined
  let sc: TestSidecar | undefined
  afterEach(async () => {
    await sc?.stop()
    await broker?.close()
    sc = undefined
    broker = undefined
  })

  const variants: Variant[] = ['no filter', 'summary observer', 'records observer', 'asynchronous filter']
  for (const variant of variants) {
    it(`requests cut every way reach a broker that stalls, byte for byte (${variant})`, async () => {
      const sent = produceRequests()
      broker = await startRecordingBroker()
      const seen: Seen = { records: 0, valueCheck: 0, forms: new Set() }
      const plugin =
        variant === 'summary observer'
          ? produceObserver(seen, 'summary')
          : variant === 'records observer'
            ? produceObserver(seen, 'bytes')
            : variant === 'asynchronous filter'
              ? delayingReader(seen)
              : undefined
      // Statistics off: the observers under test are the only filters reading Produce.
      sc = await startTestSidecar(
        broker.address,
        { stats: { topics: false }, ...(plugin && { filters: [{ name: plugin.name }] }) },
        plugin ? { plugins: [plugin] } : {},
      )
      const client = await connectFrameReader(sc.bootstrap)
      // The broker stops reading: the sidecar's writes to it back up, so it must copy or give up its read buffer.
      broker.stall(true)
      for (let id = 0; id < LARGE_REQUESTS; id++) {
        const next = id + 1 < LARGE_REQUESTS ? sent.frames[id + 1] : undefined
        if (await writeCut(client.socket, id, sent.frames[id]!, next)) id++
      }
      await new Promise((r) => setTimeout(r, 300))
      broker.stall(false)
      const produced = () => broker!.frames.filter((f) => f.readInt16BE(4) === ApiKey.Produce)
      await waitFor('the large requests at the broker', () => produced().length === LARGE_REQUESTS, {
        timeoutMs: 30_000,
        intervalMs: 20,
      })
      // Then the small ones, one whole frame to a write: reads end on frame boundaries, so nothing but the
      // sidecar's own copies keeps a request that outlives its read (behind a filter, or read again with its
      // response) from being overwritten by the next one.
      for (let id = LARGE_REQUESTS; id < sent.frames.length; id++) {
        client.socket.write(sent.frames[id]!)
        await new Promise((r) => setImmediate(r))
      }
      await waitFor('every request at the broker', () => produced().length === sent.frames.length, {
        timeoutMs: 30_000,
        intervalMs: 20,
      })
      const got = produced()
      for (let id = 0; id < sent.frames.length; id++) {
        expect(got[id]!.readInt32BE(8)).toBe(id)
        expect(got[id]!.equals(sent.frames[id]!)).toBe(true)
      }
      await waitFor('every response', () => client.frames.length === sent.frames.length, {
        timeoutMs: 10_000,
        intervalMs: 20,
      })
      expect(client.frames.map((f) => f.readInt32BE(4))).toEqual(sent.frames.map((_, id) => id))
      if (variant === 'summary observer') {
        expect([...seen.forms]).toEqual(['summary'])
        expect(seen.records).toBe(sent.records)
      }
      if (variant === 'records observer' || variant === 'asynchronous filter') {
        expect([...seen.forms]).toEqual(['bytes'])
        expect(seen.records).toBe(sent.records)
        expect(seen.valueCheck).toBe(sent.valueCheck)
      }
      client.socket.destroy()
    })
  }
})
