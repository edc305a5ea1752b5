import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { FrameDecoder } from '../../codec/frame-decoder.js'
import { peekRequestHeader } from '../../codec/header.js'
import { decodeResponse, encodeRequest, encodeResponse } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { FetchResponse } from '../../codec/messages/generated/fetch-response.js'
import { FILTER_PLUGINS } from '../../src/filter-plugins.js'
import { defaultRequest } from '../../src/pipeline/filter-api.js'
import { waitFor } from '../harness/wait-for.js'
import { fetchResponse, prng } from '../support/fetch-responses.js'
import { connectFrameReader } from '../support/raw-client.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * A canary's Fetch responses by name (v11, as kafkajs fetches) renamed as they stream through a real sidecar: a
 * scripted broker answers each Fetch with a large response written in cuts of every size (so the sidecar reads it
 * into its reused read buffer piece by piece, holding pieces until the renamed size is known), and the client must
 * get exactly the response as the client's names give it, with the statistics observing it. No broker needed.
 */

const VERSION = 11

/** Answers every Fetch with `answer(correlationId, n)` (n: the how-manieth Fetch), written in random cuts. */
async function fetchBroker(answer: (correlationId: number, n: number) => Buffer) {
  const sockets = new Set<net.Socket>()
  let fetches = 0
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    const decoder = new FrameDecoder()
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk, (frame) => {
        const { apiKey, correlationId } = peekRequestHeader(frame, 4)
        if (apiKey !== ApiKey.Fetch) return // the sidecar's own metadata requests go unanswered (not needed)
        const n = fetches++
        void writeInCuts(socket, answer(correlationId, n), prng(n + 1))
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

async function writeInCuts(socket: net.Socket, frame: Buffer, random: () => number): Promise<void> {
  for (let at = 0; at < frame.length; ) {
    // Mostly small cuts near the head (where the names are), larger ones after.
    const size = 1 + Math.floor(random() * (at < 200 ? 40 : 150_000))
    socket.write(frame.subarray(at, at + size))
    at += size
    await new Promise((r) => setTimeout(r, random() < 0.3 ? 1 : 0))
  }
}

/** A broker response: `topics` in the broker's names, each partition's records ~`kb` KiB. */
function brokerResponse(correlationId: number, topics: readonly string[], partitions: number): Buffer {
  const body = fetchResponse(VERSION, topics, partitions)
  // Larger records than the fixture's, so a response spans many reads.
  for (const t of body.responses) {
    for (const p of t.partitions) if (p.records !== null) p.records = Buffer.concat(Array(60).fill(p.records))
  }
  return encodeResponse(ApiKey.Fetch, VERSION, { correlationId }, body)
}

/** What the client must get: the response with the client's names, a hidden topic left out. */
function asClientSees(frame: Buffer): Buffer {
  const d = decodeResponse(frame, ApiKey.Fetch, VERSION, 4)
  const body = d.body as FetchResponse
  body.responses = body.responses
    .filter((t) => t.topic !== 'orders')
    .map((t) => (t.topic === 'orders-canary' ? { ...t, topic: 'orders' } : t))
  return encodeResponse(ApiKey.Fetch, VERSION, d.header, body)
}

const fetchRequest = (correlationId: number, clientId: string) =>
  encodeRequest(
    { requestApiKey: ApiKey.Fetch, requestApiVersion: VERSION, correlationId, clientId },
    defaultRequest(ApiKey.Fetch, VERSION, {
      topics: ['orders', 'audit'].map((topic) => ({ topic, partitions: [{ partition: 0, fetchOffset: 0n }] })),
    }),
  )

describe('topic-rewrite: Fetch v11 responses renamed as they stream through the sidecar', () => {
  let sc: TestSidecar | undefined
  let broker: Awaited<ReturnType<typeof fetchBroker>> | undefined
  afterEach(async () => {
    await sc?.stop()
    await broker?.close()
    sc = undefined
    broker = undefined
  })

  it('a canary gets each response byte for byte in its names; a client no rule selects gets the broker’s bytes', async () => {
    // One topic (streams after its name), then several with the real orders hidden (held up to the last name).
    const shapes = [['orders-canary'], ['orders-canary', 'orders', 'audit'], ['audit', 'orders-canary'], ['audit']]
    const sent: Buffer[] = []
    broker = await fetchBroker((correlationId, n) => {
      const frame = brokerResponse(correlationId, shapes[n % shapes.length]!, 3)
      sent.push(frame)
      return frame
    })
    sc = await startTestSidecar(
      broker.address,
      {
        filters: [
          {
            name: 'topic-rewrite',
            config: { rules: [{ clients: { ids: ['canary'] }, topics: [{ exact: 'orders', to: 'orders-canary' }] }] },
          },
        ],
      },
      { plugins: FILTER_PLUGINS },
    )
    const canary = await connectFrameReader(sc.bootstrap)
    for (let i = 0; i < 8; i++) {
      canary.socket.write(fetchRequest(100 + i, 'canary'))
      await waitFor('the canary’s Fetch response', () => canary.frames.length > i, { timeoutMs: 30_000 })
      expect(sent[i]!.length).toBeGreaterThan(100_000)
      expect(canary.frames[i]).toEqual(asClientSees(sent[i]!))
    }
    canary.socket.destroy()
    const other = await connectFrameReader(sc.bootstrap)
    other.socket.write(fetchRequest(7, 'not-a-canary'))
    await waitFor('the other client’s Fetch response', () => other.frames.length > 0, { timeoutMs: 30_000 })
    expect(other.frames[0]).toEqual(sent[8])
    other.socket.destroy()
  })
})
