import { afterEach, describe, expect, it } from 'vitest'
import { encodeRequest } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { encodeRecordBatch } from '../../codec/records/index.js'
import { waitFor } from '../harness/wait-for.js'
import { connectFrameReader } from '../support/raw-client.js'
import { type RecordingBroker, startRecordingBroker } from '../support/recording-broker.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * One field name once per log line: every line a test sidecar writes is read with a strict JSON parser
 * (support/strict-log.ts), and its stop() fails on a line that repeats a name. Here the lines of a whole
 * connection's life, from "connection opened" to "connection closed", with everything a connection learns on the
 * way (its client id, its broker), are read strictly, and the close line still names the client once.
 */
describe('log lines', () => {
  let broker: RecordingBroker | undefined
  let sc: TestSidecar | undefined
  afterEach(async () => {
    await sc?.stop()
    await broker?.close()
    sc = undefined
    broker = undefined
  })

  it('repeat no field name, from connection opened to connection closed', async () => {
    broker = await startRecordingBroker()
    sc = await startTestSidecar(broker.address)
    const { socket, frames } = await connectFrameReader(sc.bootstrap)
    for (const [correlationId, clientId] of [
      [1, 'strict-logs'],
      [2, 'strict-logs-renamed'], // a client id that changes mid-connection is bound again, not twice
    ] as const) {
      socket.write(
        encodeRequest(
          { requestApiKey: ApiKey.Produce, requestApiVersion: 9, correlationId, clientId },
          {
            transactionalId: null,
            acks: 1,
            timeoutMs: 1000,
            topicData: [
              {
                name: 't',
                partitionData: [{ index: 0, records: encodeRecordBatch([{ value: Buffer.from('x'), timestamp: 1n }]) }],
              },
            ],
          },
        ),
      )
      await waitFor('produce answered', () => frames.length === correlationId, { timeoutMs: 10_000 })
    }
    socket.end()
    const closed = () => sc!.logs.filter((l) => l.msg === 'connection closed')
    await waitFor('connection closed line', () => closed().length === 1, { timeoutMs: 10_000 })

    expect(sc.logProblems).toEqual([])
    expect(closed()[0]).toMatchObject({ clientId: 'strict-logs-renamed', requests: 2 })
    expect(sc.logs.some((l) => l.msg === 'connection opened')).toBe(true)
  })
})
