import { errorResponse, type TopicPartitionLayout, topicPartitionLayout } from './error-response.js'
import type { ApiKeyNumber } from './frames.js'
import { ApiKey, type RequestByApiKey, type ResponseByApiKey } from './generated/apis.js'
import { ErrorCode } from './generated/error-codes.js'
import { defaultResponse, MessageShapeError } from './message-defaults.js'

/**
 * Answer some partitions of a request locally and send the rest on (schema validation, topic ACLs): the
 * request is cut down to the partitions that go on, and the broker's answer is merged with the local errors
 * into one response in the order the client asked, as if one broker had answered it all.
 *
 * The topic and partition lists are found from the schema, as errorResponse finds them
 * (error-response.ts topicPartitionLayout). The local answers are errorResponse's for that one partition.
 */

/** APIs whose requests act on topic partitions one by one, so a partition can be refused alone. */
export const PARTITION_SPLIT_APIS: readonly ApiKeyNumber[] = [
  ApiKey.Produce,
  ApiKey.ListOffsets,
  ApiKey.OffsetCommit,
  ApiKey.TxnOffsetCommit,
  ApiKey.DeleteRecords,
  ApiKey.OffsetForLeaderEpoch,
  // v0-3 only: from v4 partitions sit under transactions, and only brokers send those (KIP-890).
  ApiKey.AddPartitionsToTxn,
]
// Not Fetch: leaving a partition out of an incremental fetch session tells the broker to keep it as it was
// (KIP-227), so a cut-down Fetch does not mean what the client asked. Not OffsetFetch: from v8 its partitions
// sit under groups.

/** What happens to one partition answered locally. */
export interface PartitionError {
  readonly errorCode: number
  /** Goes where the response version carries a message (Produce v8+: error_message). */
  readonly message?: string
  /** Produce v8+: which record batches of the partition failed and why (KIP-467 record_errors). */
  readonly recordErrors?: readonly { readonly batchIndex: number; readonly message: string }[]
}

/**
 * The decision for one partition: an error to answer it with, or undefined to send it on. `topic` is what the
 * request carries for it: the topic name, or the topic id where the version uses ids (Produce v13,
 * OffsetCommit v10, TxnOffsetCommit v6).
 */
export type PartitionDecision = (topic: string, partition: number) => PartitionError | undefined

export interface PartitionSplit<K extends ApiKeyNumber> {
  /** The request with only the partitions that go on (the same object when none is refused); undefined when all are. */
  readonly forward: RequestByApiKey[K] | undefined
  /** The partitions answered locally, in the client's order. */
  readonly rejected: readonly { readonly topic: string; readonly partition: number; readonly error: PartitionError }[]
  /**
   * The client's response: the broker's answer to `forward` with the local errors put back, every topic and
   * partition in the client's order. Call with undefined when `forward` is undefined. When nothing was rejected
   * it is the broker's answer itself, untouched.
   */
  merge(brokerResponse: ResponseByApiKey[K] | undefined): ResponseByApiKey[K]
}

type Body = Record<string, unknown>

/** True when splitByPartition can cut requests of this API and version. */
export function canSplitByPartition(apiKey: number, version: number): boolean {
  return PARTITION_SPLIT_APIS.includes(apiKey as ApiKeyNumber) && topicPartitionLayout(apiKey, version) !== undefined
}

function layoutFor(apiKey: number, version: number): TopicPartitionLayout {
  const layout = canSplitByPartition(apiKey, version) ? topicPartitionLayout(apiKey, version) : undefined
  if (layout === undefined) {
    throw new MessageShapeError(
      `API ${apiKey} v${version} cannot be answered partition by partition; these can: ${PARTITION_SPLIT_APIS.join(', ')} (AddPartitionsToTxn v0-3)`,
    )
  }
  return layout
}

/** Every topic partition the request names, in its order (topic: name or id, as the version carries it). */
export function requestPartitions<K extends ApiKeyNumber>(
  apiKey: K,
  version: number,
  request: RequestByApiKey[K],
): { topic: string; partition: number }[] {
  const layout = layoutFor(apiKey, version)
  const out: { topic: string; partition: number }[] = []
  for (const t of (request as unknown as Body)[layout.requestTopics] as Body[]) {
    for (const p of t[layout.requestPartitions] as unknown[]) {
      out.push({ topic: t[layout.topicKey[1]] as string, partition: partitionIndex(layout, p) })
    }
  }
  return out
}

function partitionIndex(layout: TopicPartitionLayout, p: unknown): number {
  return layout.requestPartitionKey === undefined ? (p as number) : ((p as Body)[layout.requestPartitionKey] as number)
}

/** Splits `request` by `decide` (see the module comment). */
export function splitByPartition<K extends ApiKeyNumber>(
  apiKey: K,
  version: number,
  request: RequestByApiKey[K],
  decide: PartitionDecision,
): PartitionSplit<K> {
  const layout = layoutFor(apiKey, version)
  const req = request as unknown as Body
  const topics = req[layout.requestTopics] as Body[]
  // Per request topic, per partition: the local error, or undefined when it goes on.
  const decisions = topics.map((t) =>
    (t[layout.requestPartitions] as unknown[]).map((p) =>
      decide(t[layout.topicKey[1]] as string, partitionIndex(layout, p)),
    ),
  )
  const rejected = topics.flatMap((t, ti) =>
    (t[layout.requestPartitions] as unknown[]).flatMap((p, pi) => {
      const error = decisions[ti]![pi]
      return error === undefined
        ? []
        : [{ topic: t[layout.topicKey[1]] as string, partition: partitionIndex(layout, p), error }]
    }),
  )
  if (rejected.length === 0) {
    return { forward: request, rejected, merge: (res) => requireResponse(res) }
  }

  const kept = topics
    .map((t, ti) => ({
      ...t,
      [layout.requestPartitions]: (t[layout.requestPartitions] as unknown[]).filter(
        (_, pi) => decisions[ti]![pi] === undefined,
      ),
    }))
    .filter((t) => (t[layout.requestPartitions] as unknown[]).length > 0)
  const forward =
    kept.length === 0 ? undefined : ({ ...req, [layout.requestTopics]: kept } as unknown as RequestByApiKey[K])

  const merge = (brokerResponse: ResponseByApiKey[K] | undefined): ResponseByApiKey[K] => {
    if (forward !== undefined && brokerResponse === undefined) {
      throw new MessageShapeError('merge needs the broker response: some partitions were sent on')
    }
    const base = (brokerResponse ?? defaultResponse(apiKey, version)) as unknown as Body
    const answers = new AnswerIndex(layout, (base[layout.responseTopics] as Body[] | undefined) ?? [])
    const out = topics.map((t, ti) => {
      const topic = t[layout.topicKey[1]] as string
      const brokerTopic = answers.topic(topic)
      const partitions = (t[layout.requestPartitions] as unknown[]).map((p, pi) => {
        const error = decisions[ti]![pi]
        const index = partitionIndex(layout, p)
        if (error !== undefined) return localAnswer(apiKey, version, layout, req, t, p, error)
        return (
          answers.partition(topic, index) ??
          // A broker answers every partition it is sent; if one is missing the client still gets an answer for it.
          localAnswer(apiKey, version, layout, req, t, p, {
            errorCode: ErrorCode.UNKNOWN_SERVER_ERROR,
            message: `the broker did not answer ${topic} partition ${index}`,
          })
        )
      })
      const shell = brokerTopic ?? localTopic(apiKey, version, layout, req, t)
      return { ...shell, [layout.responsePartitions]: partitions }
    })
    // Anything the broker answered that the client did not ask about stays, after the client's topics.
    out.push(...answers.leftoverTopics())
    return { ...base, [layout.responseTopics]: out } as unknown as ResponseByApiKey[K]
  }
  return { forward, rejected, merge }
}

function requireResponse<T>(res: T | undefined): T {
  if (res === undefined) throw new MessageShapeError('merge needs the broker response: every partition was sent on')
  return res
}

/** The request cut down to one topic with one partition. */
function single(layout: TopicPartitionLayout, req: Body, topic: Body, partition: unknown): Body {
  return { ...req, [layout.requestTopics]: [{ ...topic, [layout.requestPartitions]: [partition] }] }
}

function localAnswer(
  apiKey: number,
  version: number,
  layout: TopicPartitionLayout,
  req: Body,
  topic: Body,
  partition: unknown,
  error: PartitionError,
): Body {
  const res = errorResponse(
    apiKey as ApiKeyNumber,
    version,
    single(layout, req, topic, partition) as never,
    error.errorCode,
    error.message,
  ) as unknown as Body
  const answer = ((res[layout.responseTopics] as Body[])[0]![layout.responsePartitions] as Body[])[0]!
  if (error.recordErrors !== undefined && 'recordErrors' in answer) {
    answer.recordErrors = error.recordErrors.map((e) => ({
      batchIndex: e.batchIndex,
      batchIndexErrorMessage: e.message,
    }))
  }
  return answer
}

/** The topic element (keys and defaults) for a topic the broker was not asked about. */
function localTopic(apiKey: number, version: number, layout: TopicPartitionLayout, req: Body, topic: Body): Body {
  const res = errorResponse(
    apiKey as ApiKeyNumber,
    version,
    { ...req, [layout.requestTopics]: [{ ...topic, [layout.requestPartitions]: [] }] } as never,
    0,
  ) as unknown as Body
  return (res[layout.responseTopics] as Body[])[0]!
}

/**
 * The broker's answers by topic key and partition. Kafka builds its answers from maps, so their order need
 * not be the request's; a topic or partition named twice is answered in the order the answers came.
 */
class AnswerIndex {
  private readonly topics = new Map<string, Body[]>()
  private readonly partitions = new Map<string, Body[]>()
  private readonly asked = new Set<string>()

  constructor(
    private readonly layout: TopicPartitionLayout,
    private readonly all: Body[],
  ) {
    for (const t of all) {
      const key = String(t[layout.topicKey[0]])
      push(this.topics, key, t)
      for (const p of (t[layout.responsePartitions] as Body[] | undefined) ?? []) {
        push(this.partitions, `${key}\u0000${p[layout.responsePartitionKey]}`, p)
      }
    }
  }

  topic(key: string): Body | undefined {
    this.asked.add(key)
    return this.topics.get(key)?.[0]
  }

  partition(topic: string, index: number): Body | undefined {
    return this.partitions.get(`${topic}\u0000${index}`)?.shift()
  }

  /** What the broker answered that no request partition took: topics never asked about, partitions left over. */
  leftoverTopics(): Body[] {
    const out: Body[] = []
    for (const t of this.all) {
      const key = String(t[this.layout.topicKey[0]])
      const left = ((t[this.layout.responsePartitions] as Body[] | undefined) ?? []).filter((p) =>
        this.partitions.get(`${key}\u0000${p[this.layout.responsePartitionKey]}`)?.includes(p),
      )
      if (left.length > 0 || !this.asked.has(key)) out.push({ ...t, [this.layout.responsePartitions]: left })
    }
    return out
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}
