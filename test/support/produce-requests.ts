import { encodeRequest } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type {
  ProduceRequest,
  ProduceRequestPartitionProduceData,
} from '../../codec/messages/generated/produce-request.js'
import { CompressionType, encodeRecordBatch } from '../../codec/records/index.js'

/**
 * Produce requests of every version that names topics (v3-v12), with several topics and partitions, record batches
 * of every compression, transactional ids and client ids present or null, tagged fields where the version has them.
 * Split them into pieces with split() from fetch-responses.ts.
 */

const COMPRESSIONS = [
  CompressionType.None,
  CompressionType.Gzip,
  CompressionType.Snappy,
  CompressionType.Lz4,
  CompressionType.Zstd,
]

function records(n: number, compression: number, seed: number): Buffer {
  return encodeRecordBatch(
    Array.from({ length: n }, (_, i) => ({
      key: Buffer.from(`k${seed}-${i}`),
      value: Buffer.alloc(300, 97 + ((seed + i) % 26)),
    })),
    { compression: compression as CompressionType, baseOffset: 0n, timestamp: 1_700_000_000_000n },
  )
}

function partition(version: number, index: number, seed: number): ProduceRequestPartitionProduceData {
  const p: ProduceRequestPartitionProduceData = {
    index,
    // Two batches of different codecs in one records field (a client batching two appends), or one.
    records:
      seed % 4 === 3
        ? records(4, COMPRESSIONS[seed % 5]!, seed)
        : Buffer.concat([
            records(2 + (seed % 5), COMPRESSIONS[seed % 5]!, seed),
            records(2, COMPRESSIONS[(seed + 2) % 5]!, seed + 1),
          ]),
  }
  if (version >= 9 && seed % 3 === 1) p._unknownTaggedFields = [{ tag: 5, data: Buffer.from('partition-level') }]
  return p
}

export function produceRequest(
  version: number,
  topics: readonly string[],
  partitions = 3,
  transactionalId: string | null = null,
): ProduceRequest {
  const body: ProduceRequest = {
    transactionalId,
    acks: -1,
    timeoutMs: 30_000,
    topicData: topics.map((name, t) => ({
      name,
      partitionData: Array.from({ length: partitions }, (_, i) => partition(version, i, t * 10 + i)),
    })),
  }
  if (version >= 9) {
    body._unknownTaggedFields = [{ tag: 9, data: Buffer.from('top-level') }]
    if (body.topicData.length > 0)
      body.topicData[0]!._unknownTaggedFields = [{ tag: 3, data: Buffer.from('topic-level') }]
  }
  return body
}

export function produceFrameOf(version: number, body: ProduceRequest, clientId: string | null = 'canary-app'): Buffer {
  return encodeRequest(
    {
      requestApiKey: ApiKey.Produce,
      requestApiVersion: version,
      correlationId: 77,
      clientId,
      ...(version >= 9 ? { _unknownTaggedFields: [{ tag: 1, data: Buffer.from('hdr') }] } : {}),
    },
    body,
  )
}
