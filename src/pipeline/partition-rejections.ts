import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import type {
  ProduceResponse,
  ProduceResponsePartitionProduceResponse,
} from '../../codec/messages/generated/produce-response.js'
import type { DecodedRequest, PartitionRejection } from './filter-api.js'

/**
 * The per-partition form of an error answer (FilterContext verdict rejectPartitions): the request with only the
 * partitions no filter rejected, and how to merge the broker's answer for those with the local errors so the
 * client gets one response in its own order.
 */
export interface RejectionSplit {
  /** The request body to send to the broker, or undefined when every partition was rejected. */
  readonly remaining: unknown | undefined
  /** The client's response: the broker's answer (undefined when nothing was sent) with the rejections put back. */
  merge(brokerBody: unknown | undefined): unknown
}

export class UnsupportedRejectionError extends Error {
  readonly code = 'KSC_ERR_FILTER_REJECT_PARTITIONS'
  constructor(api: string) {
    super(`rejectPartitions is not supported for ${api} requests`)
  }
}

export function splitRejectedPartitions(
  req: DecodedRequest,
  rejections: readonly PartitionRejection[],
): RejectionSplit {
  if (req.apiKey === ApiKey.Produce) return splitProduce(req.body as ProduceRequest, req.apiVersion, rejections)
  throw new UnsupportedRejectionError(String(req.apiKey))
}

/** Produce v13 names topics by id (KIP-516 for Produce, ProduceRequest.json); earlier versions by name. */
function topicKey(version: number, t: { name?: string; topicId?: string }): string {
  return (version >= 13 ? t.topicId : t.name) ?? ''
}

function splitProduce(
  body: ProduceRequest,
  version: number,
  rejections: readonly PartitionRejection[],
): RejectionSplit {
  const rejected = new Map<string, PartitionRejection>()
  for (const r of rejections) rejected.set(`${r.partition}:${r.topic}`, r)
  const topicData = body.topicData
    .map((t) => ({
      ...t,
      partitionData: t.partitionData.filter((p) => !rejected.has(`${p.index}:${topicKey(version, t)}`)),
    }))
    .filter((t) => t.partitionData.length > 0)
  const remaining = topicData.length === 0 ? undefined : { ...body, topicData }

  const merge = (brokerBody: unknown | undefined): ProduceResponse => {
    const broker = brokerBody as ProduceResponse | undefined
    const answered = new Map<string, ProduceResponsePartitionProduceResponse>()
    for (const t of broker?.responses ?? []) {
      for (const p of t.partitionResponses) answered.set(`${p.index}:${topicKey(version, t)}`, p)
    }
    return {
      ...(broker ?? {}),
      throttleTimeMs: broker?.throttleTimeMs ?? 0,
      responses: body.topicData.map((t) => ({
        ...(version >= 13 ? { topicId: t.topicId } : { name: t.name }),
        partitionResponses: t.partitionData.map((p) => {
          const key = `${p.index}:${topicKey(version, t)}`
          const local = rejected.get(key)
          if (local !== undefined) return rejectedPartition(p.index, local, version)
          // A partition the broker left out of its answer would leave the client waiting on it forever.
          return answered.get(key) ?? rejectedPartition(p.index, { errorCode: UNKNOWN_SERVER_ERROR }, version)
        }),
      })),
    }
  }
  return { remaining, merge }
}

/** Errors.UNKNOWN_SERVER_ERROR (kafka-clients Errors.java). */
const UNKNOWN_SERVER_ERROR = -1

function rejectedPartition(
  index: number,
  r: Pick<PartitionRejection, 'errorCode' | 'message' | 'recordErrors'>,
  version: number,
): ProduceResponsePartitionProduceResponse {
  return {
    index,
    errorCode: r.errorCode,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    ...(version >= 5 ? { logStartOffset: -1n } : {}),
    ...(version >= 8
      ? {
          recordErrors: (r.recordErrors ?? []).map((e) => ({
            batchIndex: e.batchIndex,
            batchIndexErrorMessage: e.message,
          })),
          errorMessage: r.message ?? null,
        }
      : {}),
  }
}
