import { afterEach, describe, expect, it } from 'vitest'
import { decodeResponse, encodeRequest } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { ProduceResponse } from '../../codec/messages/generated/produce-response.js'
import { encodeRecordBatch } from '../../codec/records/index.js'
import { waitFor } from '../harness/wait-for.js'
import { connectFrameReader } from '../support/raw-client.js'
import { type RecordingBroker, startRecordingBroker } from '../support/recording-broker.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * Requests that no filter may change go to the broker piece by piece as they arrive, instead of after their last
 * byte. Observed with a recording upstream (a plain TCP server that answers Produce), so what reached the "broker"
 * and when is visible byte for byte; real clients through real brokers are covered by the passthrough tests.
 */

function produceFrame(correlationId: number, valueBytes: number): Buffer {
  const records = encodeRecordBatch([{ value: Buffer.alloc(valueBytes, 0x62), timestamp: 1n }], { baseOffset: 0n })
  return encodeRequest(
    { requestApiKey: ApiKey.Produce, requestApiVersion: 9, correlationId, clientId: 'cut-through' },
    {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: 't', partitionData: [{ index: 0, records }] }],
    },
  )
}

/** Polls often: these waits are for bytes on loopback. */
const until = (what: string, check: () => boolean) => waitFor(what, check, { timeoutMs: 5000, intervalMs: 10 })

describe('request cut-through', () => {
  let broker: RecordingBroker | undefined
  let sc: TestSidecar | undefined
  afterEach(async () => {
    await sc?.stop()
    await broker?.close()
    sc = undefined
    broker = undefined
  })

  for (const statistics of [false, true]) {
    it(`a large Produce reaches the broker before its last byte left the client (statistics ${statistics ? 'on' : 'off'}), byte for byte`, async () => {
      broker = await startRecordingBroker()
      sc = await startTestSidecar(broker.address, { stats: { topics: statistics } })
      const client = await connectFrameReader(sc.bootstrap)
      const frame = produceFrame(1, 400_000)
      const half = 200_000
      const before = broker.received()
      client.socket.write(frame.subarray(0, half))
      // The first half is at the broker while the second has not even been sent.
      await until('the first half at the broker', () => broker!.received() - before >= half)
      expect(broker.frames.some((f) => f.length === frame.length)).toBe(false)
      client.socket.write(frame.subarray(half))
      await until('the response', () => client.frames.length === 1)
      const produce = broker.frames.find((f) => f.readInt16BE(4) === ApiKey.Produce)!
      expect(produce.equals(frame)).toBe(true)
      const answer = decodeResponse(client.frames[0]!, ApiKey.Produce, 9, 4)
      expect(answer.header.correlationId).toBe(1)
      expect((answer.body as ProduceResponse).responses[0]!.partitionResponses[0]!.baseOffset).toBe(7n)
      client.socket.destroy()
    })
  }

  it('pipelined requests, streamed and whole, keep their order; acks=0 gets no slot', async () => {
    broker = await startRecordingBroker()
    sc = await startTestSidecar(broker.address)
    const client = await connectFrameReader(sc.bootstrap)
    const big = produceFrame(1, 300_000)
    const small = produceFrame(2, 100)
    const fireAndForget = encodeRequest(
      { requestApiKey: ApiKey.Produce, requestApiVersion: 9, correlationId: 3, clientId: 'cut-through' },
      {
        transactionalId: null,
        acks: 0,
        timeoutMs: 1000,
        topicData: [
          {
            name: 't',
            partitionData: [{ index: 0, records: encodeRecordBatch([{ value: Buffer.alloc(250_000, 1) }], {}) }],
          },
        ],
      },
    )
    const last = produceFrame(4, 200_000)
    client.socket.write(Buffer.concat([big, small, fireAndForget, last]))
    await until('three responses', () => client.frames.length === 3)
    expect(client.frames.map((r) => r.readInt32BE(4))).toEqual([1, 2, 4])
    await until('four requests at the broker', () => broker!.frames.filter((f) => f.readInt16BE(4) === 0).length === 4)
    const produced = broker.frames.filter((f) => f.readInt16BE(4) === ApiKey.Produce)
    expect(produced.map((f) => f.readInt32BE(8))).toEqual([1, 2, 3, 4])
    expect(produced[0]!.equals(big) && produced[2]!.equals(fireAndForget) && produced[3]!.equals(last)).toBe(true)
    client.socket.destroy()
  })

  it('a shutdown in the middle of a streamed request lets it finish and be answered, then closes', async () => {
    broker = await startRecordingBroker()
    sc = await startTestSidecar(broker.address)
    const client = await connectFrameReader(sc.bootstrap)
    const closed = new Promise<void>((resolve) => client.socket.on('close', () => resolve()))
    const frame = produceFrame(9, 400_000)
    client.socket.write(frame.subarray(0, 100_000))
    await until('the first part at the broker', () => broker!.received() >= 100_000)
    const stopping = sc.sidecar.shutdown(10_000)
    await new Promise((r) => setTimeout(r, 50))
    client.socket.write(frame.subarray(100_000))
    await until('the response', () => client.frames.length === 1)
    expect(client.frames[0]!.readInt32BE(4)).toBe(9)
    await closed
    await stopping
    sc = undefined
  })
})
