import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { FrameDecoder } from '../../codec/frame-decoder.js'
import { peekRequestHeader } from '../../codec/header.js'
import { encodeRequest, encodeResponse } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { FetchResponse } from '../../codec/messages/generated/fetch-response.js'
import { encodeRecordBatch, isRecordsSummary, type RecordsSummary } from '../../codec/records/index.js'
import type { ConfiguredFilter } from '../../src/pipeline/filter-api.js'
import { waitFor } from '../harness/wait-for.js'
import { writeCut } from '../support/cut-writes.js'
import { connectFrameReader } from '../support/raw-client.js'
import { type FilterPlugin, startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * The upstream side reads into one reused buffer (src/server/reused-read-buffer.ts): every byte a read leaves
 * behind (a frame split across reads, a response waiting for a slow client, pieces an observer holds) must be
 * copied or keep its buffer, or the next read overwrites it. A scripted broker answers pipelined Fetch requests
 * with responses of every size, cut into reads every way (size prefix split, byte by byte, two frames in one
 * write), while the client stops reading for a while; the client must get exactly the bytes the broker sent, and
 * an observer reading batch headers must count exactly the records sent.
 */

const FETCH_VERSION = 12
const SIZES = [200, 30_000, 100_000, 3_000_000]

interface Exchange {
  /** The response frame for each correlation id. */
  responses: Buffer[]
  /** Records in all responses. */
  records: number
}

function exchange(count: number): Exchange {
  const responses: Buffer[] = []
  let records = 0
  for (let id = 0; id < count; id++) {
    const total = SIZES[id % SIZES.length]!
    // Batches of ~10 KB records (the last partition cut short of its last batch, as a broker cuts at max.bytes).
    const perBatch = 4
    const batches: Buffer[] = []
    let bytes = 0
    let offset = 0n
    while (bytes < total) {
      const n = Math.max(1, Math.min(perBatch, Math.ceil((total - bytes) / 10_000)))
      const b = encodeRecordBatch(
        Array.from({ length: n }, (_, i) => ({ value: Buffer.alloc(Math.min(10_000, total), (id + i) & 0xff) })),
        { baseOffset: offset },
      )
      batches.push(b)
      bytes += b.length
      offset += BigInt(n)
      records += n
    }
    const all = Buffer.concat(batches)
    const half = Math.floor(batches.length / 2)
    const first = Buffer.concat(batches.slice(0, half))
    const second = all.subarray(first.length)
    const partial = batches.length > 1 ? 30 : 0
    records -= partial > 0 ? batches.slice(-1).reduce((n, b) => n + b.readInt32BE(57), 0) : 0
    const body: FetchResponse = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topic: 'reads',
          partitions: [first, second.subarray(0, second.length - partial)].map((r, partitionIndex) => ({
            partitionIndex,
            errorCode: 0,
            highWatermark: 100n,
            lastStableOffset: 100n,
            logStartOffset: 0n,
            abortedTransactions: null,
            preferredReadReplica: -1,
            records: r.length === 0 ? null : r,
          })),
        },
      ],
    }
    responses.push(encodeResponse(ApiKey.Fetch, FETCH_VERSION, { correlationId: id }, body))
  }
  return { responses, records }
}

async function startScriptedBroker(ex: Exchange): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    const decoder = new FrameDecoder()
    const queue: number[] = []
    let writing = false
    const drainQueue = async () => {
      if (writing) return
      writing = true
      while (queue.length > 0) {
        const id = queue.shift()!
        const joined = await writeCut(
          socket,
          id,
          ex.responses[id]!,
          queue.length > 0 ? ex.responses[queue[0]!] : undefined,
        )
        if (joined) queue.shift()
      }
      writing = false
    }
    socket.on('data', (chunk: Buffer) =>
      decoder.push(chunk, (frame) => {
        const { apiKey, correlationId } = peekRequestHeader(frame, 4)
        // Only Fetch is answered; the sidecar's own Metadata requests are not needed here.
        if (apiKey !== ApiKey.Fetch) return
        queue.push(correlationId)
        void drainQueue()
      }),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

function fetchRequest(correlationId: number): Buffer {
  return encodeRequest(
    { requestApiKey: ApiKey.Fetch, requestApiVersion: FETCH_VERSION, correlationId, clientId: 'reads' },
    {
      replicaId: -1,
      maxWaitMs: 100,
      minBytes: 1,
      maxBytes: 52_428_800,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: 'reads',
          partitions: [0, 1].map((partition) => ({
            partition,
            currentLeaderEpoch: -1,
            fetchOffset: 0n,
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
            partitionMaxBytes: 52_428_800,
          })),
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    },
  )
}

/** Counts the records in Fetch responses from batch headers only, as the statistics filter does. */
function recordCounter(seen: { records: number; forms: Set<string> }): FilterPlugin {
  return {
    name: 'record-counter',
    parseConfig: () => ({}),
    configure: (): ConfiguredFilter => ({
      name: 'record-counter',
      forConnection: () => ({
        observesOnly: true,
        records: 'summary',
        wantsResponse: (apiKey) => apiKey === ApiKey.Fetch,
        onResponse: (res) => {
          for (const t of (res.body as FetchResponse).responses)
            for (const p of t.partitions) {
              const r = p.records as unknown
              seen.forms.add(r === null ? 'null' : isRecordsSummary(r) ? 'summary' : 'other')
              if (isRecordsSummary(r))
                seen.records += (r as RecordsSummary).batches.reduce((n, b) => n + b.recordCount, 0)
            }
          return undefined
        },
      }),
    }),
  }
}

describe('upstream reads into a reused buffer', () => {
  let broker: { close(): Promise<void> } | undefined
  let sc: TestSidecar | undefined
  afterEach(async () => {
    await sc?.stop()
    await broker?.close()
    sc = undefined
    broker = undefined
  })

  for (const observer of [false, true]) {
    it(`responses cut every way reach a client that stalls, byte for byte${observer ? ', counted by an observer' : ''}`, async () => {
      const ex = exchange(24)
      const scripted = await startScriptedBroker(ex)
      broker = scripted
      const seen = { records: 0, forms: new Set<string>() }
      sc = await startTestSidecar(
        scripted.address,
        observer ? { filters: [{ name: 'record-counter' }] } : {},
        observer ? { plugins: [recordCounter(seen)] } : {},
      )
      const { socket: client, frames: received } = await connectFrameReader(sc.bootstrap, 10_000_000)
      // A slow reader: the sidecar's socket towards it stays a little behind, with writes queued in between.
      client.on('data', () => {
        client.pause()
        setTimeout(() => client.resume(), 1)
      })
      // Stall: the sidecar's writes to the client back up, so it must copy or give up its read buffer.
      client.pause()
      client.write(Buffer.concat(ex.responses.map((_, id) => fetchRequest(id))))
      await new Promise((r) => setTimeout(r, 500))
      client.resume()
      await waitFor('every response', () => received.length === ex.responses.length, {
        timeoutMs: 30_000,
        intervalMs: 20,
      })
      expect(received.length).toBe(ex.responses.length)
      for (let id = 0; id < ex.responses.length; id++) {
        expect(received[id]!.readInt32BE(4)).toBe(id)
        expect(received[id]!.equals(ex.responses[id]!)).toBe(true)
      }
      if (observer) {
        // Records as summaries (the small responses' first partition has none: null).
        expect([...seen.forms].sort()).toEqual(['null', 'summary'])
        expect(seen.records).toBe(ex.records)
      }
      client.destroy()
    })
  }
})
