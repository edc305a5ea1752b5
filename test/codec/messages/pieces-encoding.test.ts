import { describe, expect, it } from 'vitest'
import {
  encodeRequest,
  encodeRequestPieces,
  encodeResponse,
  encodeResponsePieces,
} from '../../../codec/messages/frames.js'
import { ApiKey } from '../../../codec/messages/generated/apis.js'
import type { ProduceRequest } from '../../../codec/messages/generated/produce-request.js'

/** Deterministic bytes, so that a failure repeats: 251 pseudo-random ones repeated (a prime period). */
function bytesOf(n: number, seed: number): Buffer {
  const pattern = Buffer.allocUnsafe(251)
  let s = seed >>> 0 || 1
  for (let i = 0; i < pattern.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0
    pattern[i] = s >>> 24
  }
  return n === 0 ? Buffer.alloc(0) : Buffer.alloc(n, pattern)
}

const header = { requestApiKey: ApiKey.Produce, requestApiVersion: 9, correlationId: 7, clientId: 'pieces' }

function produce(sizes: number[], seed: number): ProduceRequest {
  return {
    transactionalId: null,
    acks: 1,
    timeoutMs: 30_000,
    topicData: [
      {
        name: 'orders',
        partitionData: sizes.map((n, index) => ({ index, records: n < 0 ? null : bytesOf(n, seed + index) })),
      },
    ],
  }
}

describe('messages encoded as pieces', () => {
  it('make the bytes encodeRequest makes, with large values referenced, for messages of every shape', () => {
    const shapes = [[], [0], [-1], [10], [1023], [1024], [5000, 3, 70_000, 1024, 1023, -1], [200_000, 300_000]]
    for (const [i, sizes] of shapes.entries()) {
      const body = produce(sizes, i)
      const pieces = encodeRequestPieces(header, body, 1024)
      expect(Buffer.concat(pieces).equals(encodeRequest(header, body))).toBe(true)
      for (const p of body.topicData[0]!.partitionData) {
        if (p.records !== null && p.records.length >= 1024) expect(pieces).toContain(p.records)
      }
    }
  })

  it('a message stays intact while the next ones are encoded (the writer reuses its scratch)', () => {
    const first = produce([100, 2000, 300], 1)
    const firstPieces = encodeRequestPieces(header, first, 1024)
    const firstBytes = Buffer.from(Buffer.concat(firstPieces))
    for (let i = 0; i < 5; i++) encodeRequestPieces(header, produce([400, 5000, 60], 10 + i), 1024)
    expect(Buffer.concat(firstPieces)).toEqual(firstBytes)
    expect(firstBytes).toEqual(encodeRequest(header, first))
  })

  it('messages larger than the scratch (1 MiB) and messages with nothing referenced come out the same', () => {
    // Buffer.equals: toEqual compares megabytes byte by byte, slowly.
    const big = produce([600_000, 700_000, 100], 3)
    expect(Buffer.concat(encodeRequestPieces(header, big, 1024)).equals(encodeRequest(header, big))).toBe(true)
    const unreferenced = produce([600_000, 700_000], 4)
    const whole = encodeRequestPieces(header, unreferenced, Number.POSITIVE_INFINITY)
    expect(Buffer.concat(whole).equals(encodeRequest(header, unreferenced))).toBe(true)
  })

  it('responses too', () => {
    const body = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topic: 'orders',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 10n,
              lastStableOffset: 10n,
              logStartOffset: 0n,
              abortedTransactions: [],
              preferredReadReplica: -1,
              records: bytesOf(4096, 9),
            },
          ],
        },
      ],
    }
    const pieces = encodeResponsePieces(ApiKey.Fetch, 11, { correlationId: 3 }, body, 1024)
    expect(Buffer.concat(pieces)).toEqual(encodeResponse(ApiKey.Fetch, 11, { correlationId: 3 }, body))
  })
})
