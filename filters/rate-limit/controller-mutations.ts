import type { CreatePartitionsRequest } from '../../codec/messages/generated/create-partitions-request.js'
import type { CreateTopicsRequest } from '../../codec/messages/generated/create-topics-request.js'
import type { DeleteTopicsRequest } from '../../codec/messages/generated/delete-topics-request.js'
import { ApiKey, ErrorCode, errorResponseBody } from '../../src/pipeline/filter-api.js'
import { STRICT_MUTATION_QUOTA_SINCE } from './throttle-versions.js'
import type { Budget } from './token-bucket.js'

/**
 * The controller mutation quota (KIP-599) for CreateTopics, CreatePartitions and DeleteTopics, topic by topic.
 *
 * Kafka counts partitions created or deleted (ZkAdminManager / the controller record assignments.size, the partition
 * count of a deleted topic, the partitions added). The sidecar counts what the request itself says, without asking
 * the cluster: CreateTopics the partitions it asks for (num_partitions, or the explicit assignments; 1 when it leaves
 * the count to the broker's default), CreatePartitions the new partitions it assigns explicitly, else 1 per topic (its
 * `count` is the new total, not the increase), DeleteTopics 1 per topic. validateOnly requests change nothing and are
 * not counted, as Kafka records mutations only when it applies them.
 *
 * From the strict versions on (STRICT_MUTATION_QUOTA_SINCE) the quota is Kafka's strict one
 * (StrictControllerMutationQuota in core/src/main/scala/kafka/server/ControllerMutationQuotaManager.scala): a topic
 * is accepted when the budget is not exhausted yet (not below zero), and then charged in full even if that takes it
 * into debt; topics
 * that find it exhausted are answered THROTTLING_QUOTA_EXCEEDED and the rest of the request goes on. Kafka's Java
 * admin client retries exactly those topics after throttle_time_ms (CreateTopicsOptions.retryOnQuotaViolation,
 * true by default; KafkaAdminClient). Below those versions every topic is accepted and charged, and the client is
 * throttled afterwards (Kafka's PermissiveControllerMutationQuota).
 */

/** A request's topics that the quota turned away, as a request body of their own (for the error answer). */
export interface Rejected {
  readonly body: unknown
  readonly count: number
}

export interface MutationDecision {
  /** The request body to forward (the accepted topics), or undefined when nothing was rejected. */
  readonly forward: unknown
  /** Topics turned away; undefined when none. */
  readonly rejected: Rejected | undefined
  /** True when no topic is left to forward: answer the client without the broker. */
  readonly all: boolean
}

interface TopicsView<T> {
  readonly topics: readonly T[]
  cost(topic: T): number
  with(topics: readonly T[]): unknown
}

function view(apiKey: number, apiVersion: number, body: unknown): TopicsView<unknown> | undefined {
  switch (apiKey) {
    case ApiKey.CreateTopics: {
      const b = body as CreateTopicsRequest
      if (b.validateOnly) return undefined
      return {
        topics: b.topics,
        cost: (t) => {
          const topic = t as CreateTopicsRequest['topics'][number]
          if (topic.numPartitions > 0) return topic.numPartitions
          return topic.assignments.length > 0 ? topic.assignments.length : 1
        },
        with: (topics) => ({ ...b, topics }),
      }
    }
    case ApiKey.CreatePartitions: {
      const b = body as CreatePartitionsRequest
      if (b.validateOnly) return undefined
      return {
        topics: b.topics,
        cost: (t) => {
          const assigned = (t as CreatePartitionsRequest['topics'][number]).assignments?.length ?? 0
          return assigned > 0 ? assigned : 1
        },
        with: (topics) => ({ ...b, topics }),
      }
    }
    case ApiKey.DeleteTopics: {
      const b = body as DeleteTopicsRequest
      // v6 names topics in `topics` (by name or id), earlier versions in `topicNames`.
      if (apiVersion >= 6) return { topics: b.topics ?? [], cost: () => 1, with: (topics) => ({ ...b, topics }) }
      return { topics: b.topicNames ?? [], cost: () => 1, with: (topicNames) => ({ ...b, topicNames }) }
    }
    default:
      return undefined
  }
}

/**
 * Charges a mutation request's topics to `budget`. With a strict version the topics that find the budget exhausted
 * are turned away; otherwise every topic is charged and the caller throttles.
 */
export function chargeMutations(
  apiKey: number,
  apiVersion: number,
  body: unknown,
  budget: Budget,
  now: number,
): MutationDecision | undefined {
  const v = view(apiKey, apiVersion, body)
  if (v === undefined || v.topics.length === 0) return undefined
  const strict = apiVersion >= (STRICT_MUTATION_QUOTA_SINCE.get(apiKey) ?? Number.POSITIVE_INFINITY)
  if (!strict) {
    for (const t of v.topics) budget.take(v.cost(t), now)
    return undefined
  }
  const accepted: unknown[] = []
  const rejected: unknown[] = []
  for (const t of v.topics) {
    // Kafka's token bucket is violated only below zero (Sensor.checkQuotas: TokenBucket value < 0).
    if (budget.available(now) >= 0) {
      budget.take(v.cost(t), now)
      accepted.push(t)
    } else rejected.push(t)
  }
  if (rejected.length === 0) return undefined
  return {
    forward: accepted.length === 0 ? undefined : v.with(accepted),
    rejected: { body: v.with(rejected), count: rejected.length },
    all: accepted.length === 0,
  }
}

/**
 * The answer for turned-away topics, as a broker gives it: every topic THROTTLING_QUOTA_EXCEEDED with `message`
 * (the response versions with strict quotas all carry error messages).
 */
export function rejectionResponse(apiKey: number, apiVersion: number, rejected: Rejected, message: string): unknown {
  return errorResponseBody(
    apiKey as typeof ApiKey.CreateTopics,
    apiVersion,
    rejected.body as CreateTopicsRequest,
    ErrorCode.THROTTLING_QUOTA_EXCEEDED,
    message,
  )
}

/** Puts the turned-away topics' answers into the broker's answer for the rest (same order as a broker: appended). */
export function mergeRejections(
  apiKey: number,
  apiVersion: number,
  response: unknown,
  rejected: Rejected,
  message: string,
): void {
  const extra = rejectionResponse(apiKey, apiVersion, rejected, message) as Record<string, unknown[]>
  const res = response as Record<string, unknown[]>
  const field = apiKey === ApiKey.CreateTopics ? 'topics' : apiKey === ApiKey.CreatePartitions ? 'results' : 'responses'
  res[field] = [...(res[field] ?? []), ...(extra[field] ?? [])]
}
