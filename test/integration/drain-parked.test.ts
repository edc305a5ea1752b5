import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { FrameDecoder } from '../../codec/frame-decoder.js'
import { peekRequestHeader } from '../../codec/header.js'
import { encodeRequest, encodeResponse } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { encodeRecordBatch } from '../../codec/records/index.js'
import { waitFor, within } from '../harness/wait-for.js'
import { connectFrameReader } from '../support/raw-client.js'
import { type RecordingBroker, startRecordingBroker } from '../support/recording-broker.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * A shutdown drains: requests in flight are answered before their connection closes. A JoinGroup waiting for the rest
 * of its group is held by the coordinator on purpose, up to the rebalance timeout (minutes); waiting for it held a
 * shutdown for its whole drain timeout (30 s by default; the soak saw it during a rebalance). The drain closes a
 * connection at once when only such requests are in flight. A long-poll Fetch is bounded by the max wait its client
 * chose and is answered first (test/integration/cli-run.test.ts drains one through a real broker). The recording
 * broker answers Produce only, so a JoinGroup or a Fetch sent through the sidecar stays in flight for as long as the
 * test wants.
 */

const fetchFrame = (correlationId: number) =>
  encodeRequest(
    { requestApiKey: ApiKey.Fetch, requestApiVersion: 12, correlationId, clientId: 'drain-test' },
    {
      replicaId: -1,
      maxWaitMs: 30_000,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: 't',
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 0n,
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: 1 << 20,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    },
  )

const joinGroupFrame = (correlationId: number) =>
  encodeRequest(
    { requestApiKey: ApiKey.JoinGroup, requestApiVersion: 5, correlationId, clientId: 'drain-test' },
    {
      groupId: 'g',
      sessionTimeoutMs: 45_000,
      rebalanceTimeoutMs: 300_000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    },
  )

const listOffsetsFrame = (correlationId: number) =>
  encodeRequest(
    { requestApiKey: ApiKey.ListOffsets, requestApiVersion: 7, correlationId, clientId: 'drain-test' },
    {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    },
  )

/** Far longer than the test may take: a drain that waited for it would fail the test by its timeout. */
const DRAIN_TIMEOUT_MS = 120_000

describe('a drain and requests the broker holds on purpose', () => {
  let broker: RecordingBroker | undefined
  let sc: TestSidecar | undefined
  afterEach(async () => {
    await sc?.stop()
    await broker?.close()
    sc = undefined
    broker = undefined
  })

  const start = async () => {
    broker = await startRecordingBroker()
    sc = await startTestSidecar(broker.address)
    const client = await connectFrameReader(sc.bootstrap)
    const closed = new Promise<void>((resolve) => client.socket.on('close', () => resolve()))
    return { client, closed }
  }
  const atBroker = (apiKey: number, count = 1) =>
    waitFor(
      `${count} request(s) of API ${apiKey} at the broker`,
      () => {
        return broker!.frames.filter((f) => f.readInt16BE(4) === apiKey).length >= count
      },
      { timeoutMs: 5000, intervalMs: 10 },
    )

  it('closes a connection whose only request in flight is a JoinGroup waiting for its group, without waiting for it', async () => {
    const { client, closed } = await start()
    client.socket.write(joinGroupFrame(1))
    await atBroker(ApiKey.JoinGroup)
    await within('the drain to close the connection', sc!.sidecar.shutdown(DRAIN_TIMEOUT_MS), 10_000)
    await within('the client to see the close', closed, 5000)
    expect(client.frames).toEqual([])
    sc = undefined
  })

  it('closes one holding several JoinGroups', async () => {
    const { client, closed } = await start()
    client.socket.write(Buffer.concat([joinGroupFrame(1), joinGroupFrame(2)]))
    await atBroker(ApiKey.JoinGroup, 2)
    await within('the drain to close the connection', sc!.sidecar.shutdown(DRAIN_TIMEOUT_MS), 10_000)
    await closed
    sc = undefined
  })

  /** Starts a drain of `drainMs` and says whether the connection was still open a third of the way in. */
  const openAThirdIn = async (closed: Promise<void>, drainMs: number): Promise<boolean> => {
    let isClosed = false
    void closed.then(() => {
      isClosed = true
    })
    const stopping = sc!.sidecar.shutdown(drainMs)
    await new Promise((r) => setTimeout(r, drainMs / 3))
    const open = !isClosed
    await stopping
    await closed
    sc = undefined
    return open
  }

  it('closes a connection right after the answer it waited for, when that answer was streamed (records in it)', async () => {
    // A broker that answers a Fetch 300 ms late with 512 KiB of records: the answer spans reads, so the sidecar
    // streams it to the client piece by piece (beginResponseStream) instead of handling it whole.
    const records = encodeRecordBatch([{ value: Buffer.alloc(512 * 1024, 0x72), timestamp: 1n }], { baseOffset: 0n })
    const held = new Set<net.Socket>()
    const slow = net.createServer((socket) => {
      held.add(socket)
      socket.on('error', () => {})
      const decoder = new FrameDecoder()
      socket.on('data', (chunk: Buffer) =>
        decoder.push(chunk, (frame) => {
          const { apiKey, apiVersion, correlationId } = peekRequestHeader(frame, 4)
          if (apiKey !== ApiKey.Fetch) return
          const body = {
            throttleTimeMs: 0,
            errorCode: 0,
            sessionId: 0,
            responses: [
              {
                topic: 't',
                partitions: [
                  {
                    partitionIndex: 0,
                    errorCode: 0,
                    highWatermark: 1n,
                    lastStableOffset: 1n,
                    logStartOffset: 0n,
                    abortedTransactions: null,
                    preferredReadReplica: -1,
                    records,
                  },
                ],
              },
            ],
          }
          setTimeout(() => socket.write(encodeResponse(ApiKey.Fetch, apiVersion, { correlationId }, body)), 300)
        }),
      )
    })
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))
    try {
      sc = await startTestSidecar(`127.0.0.1:${(slow.address() as net.AddressInfo).port}`)
      const client = await connectFrameReader(sc.bootstrap)
      const closed = new Promise<void>((resolve) => client.socket.on('close', () => resolve()))
      client.socket.write(fetchFrame(1))
      await new Promise((r) => setTimeout(r, 100))
      // Without the fix this waited for the drain timeout: nothing told the connection its last answer had gone.
      await within('the drain to close the connection', sc.sidecar.shutdown(DRAIN_TIMEOUT_MS), 10_000)
      await closed
      expect(client.frames).toHaveLength(1)
      expect(client.frames[0]!.length).toBeGreaterThan(512 * 1024)
      sc = undefined
    } finally {
      for (const s of held) s.destroy()
      slow.close()
    }
  })

  it('waits for a Fetch (its own max wait bounds it), beside a JoinGroup', async () => {
    const { client, closed } = await start()
    client.socket.write(Buffer.concat([joinGroupFrame(1), fetchFrame(2)]))
    await atBroker(ApiKey.Fetch)
    expect(await openAThirdIn(closed, 1500)).toBe(true)
  })

  // A broker reads one request at a time from a connection (apache/kafka core/src/main/scala/kafka/network/
  // SocketServer.scala: Processor mutes a channel once a request is in, ChannelMuteEvent.REQUEST_RECEIVED, until its
  // answer is sent), so the ListOffsets behind a JoinGroup is not even started; the drain still waits for anything it
  // does not know to be parked.
  it('waits for a request that is not parked (ListOffsets), beside a JoinGroup', async () => {
    const { client, closed } = await start()
    client.socket.write(Buffer.concat([joinGroupFrame(1), listOffsetsFrame(2)]))
    await atBroker(ApiKey.ListOffsets)
    expect(await openAThirdIn(closed, 1500)).toBe(true)
  })
})
