import { encodeResponse } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { FetchResponse, FetchResponsePartitionData } from '../../codec/messages/generated/fetch-response.js'
import { CompressionType, encodeRecordBatch } from '../../codec/records/index.js'

/**
 * Fetch responses of every version that names topics (v4-v12), with several topics and partitions, aborted
 * transactions, record batches of every compression, tagged fields where the version has them; and the ways a
 * socket cuts a frame into pieces.
 */

const COMPRESSIONS = [
  CompressionType.None,
  CompressionType.Gzip,
  CompressionType.Snappy,
  CompressionType.Lz4,
  CompressionType.Zstd,
]

/** A deterministic generator, so a failing split can be replayed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function records(n: number, compression: number, seed: number): Buffer {
  return encodeRecordBatch(
    Array.from({ length: n }, (_, i) => ({
      key: Buffer.from(`k${seed}-${i}`),
      value: Buffer.alloc(300, 97 + (i % 26)),
    })),
    { compression: compression as CompressionType, baseOffset: BigInt(seed * 100), timestamp: 1_700_000_000_000n },
  )
}

function partition(version: number, index: number, seed: number): FetchResponsePartitionData {
  const compression = COMPRESSIONS[seed % COMPRESSIONS.length]!
  const p: FetchResponsePartitionData = {
    partitionIndex: index,
    errorCode: 0,
    highWatermark: 1000n + BigInt(seed),
    lastStableOffset: 990n,
    abortedTransactions:
      seed % 3 === 0
        ? null
        : Array.from({ length: seed % 3 }, (_, i) => ({ producerId: BigInt(7000 + i), firstOffset: BigInt(10 * i) })),
    // Two batches of different codecs in one records field, or none at all.
    records:
      seed % 7 === 6
        ? null
        : Buffer.concat([
            records(3 + (seed % 5), compression, seed),
            records(2, COMPRESSIONS[(seed + 2) % 5]!, seed + 1),
          ]),
  }
  if (version >= 5) p.logStartOffset = 5n
  if (version >= 11) p.preferredReadReplica = seed % 2 === 0 ? -1 : 2
  if (version >= 12 && seed % 4 === 1) {
    p.divergingEpoch = { epoch: 3, endOffset: 400n }
    p.currentLeader = { leaderId: 2, leaderEpoch: 9 }
  }
  if (version >= 12 && seed % 4 === 2) p.snapshotId = { endOffset: 77n, epoch: 4 }
  return p
}

export function fetchResponse(version: number, topics: readonly string[], partitions = 3): FetchResponse {
  const body: FetchResponse = {
    throttleTimeMs: 12,
    responses: topics.map((topic, t) => ({
      topic,
      partitions: Array.from({ length: partitions }, (_, i) => partition(version, i, t * 10 + i)),
    })),
  }
  if (version >= 7) {
    body.errorCode = 0
    body.sessionId = 4242
  }
  if (version >= 12) {
    body._unknownTaggedFields = [{ tag: 9, data: Buffer.from('top-level') }]
    if (body.responses.length > 0)
      body.responses[0]!._unknownTaggedFields = [{ tag: 3, data: Buffer.from('topic-level') }]
  }
  return body
}

export function frameOf(version: number, body: FetchResponse): Buffer {
  const header =
    version >= 12
      ? { correlationId: 31, _unknownTaggedFields: [{ tag: 1, data: Buffer.from('hdr') }] }
      : { correlationId: 31 }
  return encodeResponse(ApiKey.Fetch, version, header, body)
}

/** The frame cut at `cuts` random offsets (each piece in memory of its own, as separate socket reads are). */
export function split(frame: Buffer, random: () => number, cuts: number): Buffer[] {
  const at = new Set<number>()
  for (let i = 0; i < cuts; i++) at.add(1 + Math.floor(random() * (frame.length - 1)))
  const offsets = [0, ...[...at].sort((a, b) => a - b), frame.length]
  const pieces: Buffer[] = []
  for (let i = 1; i < offsets.length; i++) {
    const piece = Buffer.alloc(offsets[i]! - offsets[i - 1]!)
    frame.copy(piece, 0, offsets[i - 1], offsets[i])
    pieces.push(piece)
  }
  return pieces
}
