import { afterEach, describe, expect, it } from 'vitest'
import { decodeRequest, decodeResponse, encodeRequest } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import type { ProduceResponse } from '../../codec/messages/generated/produce-response.js'
import type { RequestHeader } from '../../codec/messages/generated/request-header.js'
import { FILTER_PLUGINS } from '../../src/filter-plugins.js'
import { waitFor } from '../harness/wait-for.js'
import { prng } from '../support/fetch-responses.js'
import { produceFrameOf, produceRequest } from '../support/produce-requests.js'
import { connectFrameReader } from '../support/raw-client.js'
import { type RecordingBroker, startRecordingBroker } from '../support/recording-broker.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * A canary's Produce requests by name (v7, as kafkajs produces) renamed as they stream through a real sidecar: the
 * client writes large requests in cuts of every size (so the sidecar reads them into its reused read buffer piece by
 * piece, holding pieces until the renamed size is known), and the broker must get exactly the request in the real
 * names. No broker needed: a recording stand-in answers.
 */

const VERSION = 7

/** A client request naming `topics`, its records repeated so that it spans many socket reads. */
function clientRequest(correlationId: number, clientId: string, topics: readonly string[]): Buffer {
  const body = produceRequest(VERSION, topics, 3)
  for (const t of body.topicData) {
    for (const p of t.partitionData) p.records = Buffer.concat(Array(200).fill(p.records))
  }
  const frame = produceFrameOf(VERSION, body, clientId)
  frame.writeInt32BE(correlationId, 8)
  return frame
}

/** What the broker must get: the request with the real names. */
function asBrokerSees(frame: Buffer): Buffer {
  const d = decodeRequest(frame, 4)
  const body = d.body as ProduceRequest
  body.topicData = body.topicData.map((t) => (t.name === 'orders' ? { ...t, name: 'orders-canary' } : t))
  return encodeRequest(d.header as RequestHeader, body)
}

async function writeInCuts(write: (b: Buffer) => void, frame: Buffer, random: () => number): Promise<void> {
  for (let at = 0; at < frame.length; ) {
    // Mostly small cuts near the head (where the names are), larger ones after.
    const size = 1 + Math.floor(random() * (at < 200 ? 40 : 150_000))
    write(frame.subarray(at, at + size))
    at += size
    await new Promise((r) => setTimeout(r, random() < 0.3 ? 1 : 0))
  }
}

describe('topic-rewrite: Produce v7 requests renamed as they stream through the sidecar', () => {
  let sc: TestSidecar | undefined
  let broker: RecordingBroker | undefined
  afterEach(async () => {
    await sc?.stop()
    await broker?.close()
    sc = undefined
    broker = undefined
  })

  it('the broker gets each canary request byte for byte in the real names; a client no rule selects, its own bytes', async () => {
    broker = await startRecordingBroker()
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
    const produced = () => broker!.frames.filter((f) => f.readInt16BE(4) === ApiKey.Produce)
    // One topic (streams after its name), then several (held up to the last name).
    const shapes = [['orders'], ['audit', 'orders', 'payments'], ['orders', 'audit'], ['audit']]
    const canary = await connectFrameReader(sc.bootstrap)
    for (let i = 0; i < 8; i++) {
      const frame = clientRequest(100 + i, 'canary', shapes[i % shapes.length]!)
      expect(frame.length).toBeGreaterThan(100_000)
      await writeInCuts((b) => canary.socket.write(b), frame, prng(i + 1))
      await waitFor('the canary’s Produce response', () => canary.frames.length > i, { timeoutMs: 30_000 })
      expect(produced()[i]).toEqual(asBrokerSees(frame))
      const res = decodeResponse(canary.frames[i]!, ApiKey.Produce, VERSION, 4)
      expect(res.header.correlationId).toBe(100 + i)
      expect((res.body as ProduceResponse).responses[0]!.partitionResponses[0]!.baseOffset).toBe(7n)
    }
    canary.socket.destroy()
    const other = await connectFrameReader(sc.bootstrap)
    const plain = clientRequest(7, 'not-a-canary', ['orders'])
    await writeInCuts((b) => other.socket.write(b), plain, prng(99))
    await waitFor('the other client’s Produce response', () => other.frames.length > 0, { timeoutMs: 30_000 })
    expect(produced()[8]).toEqual(plain)
    other.socket.destroy()
  })
})
