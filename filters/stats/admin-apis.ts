import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { CreateTopicsRequest } from '../../codec/messages/generated/create-topics-request.js'
import type { DeleteTopicsRequest } from '../../codec/messages/generated/delete-topics-request.js'
import type { DecodedRequest } from '../../src/pipeline/filter-api.js'

/**
 * What the audit log says about administrative requests: the APIs that change topics, configs, ACLs, groups,
 * quotas, credentials or cluster features, and which topics (with partition counts) or resources they touch.
 */

export interface AuditTopic {
  readonly topic: string
  readonly partitions?: number
  readonly bytes?: number
  readonly records?: number
}

export interface AuditResource {
  readonly type: string
  readonly name: string | null
}

export const ADMIN_APIS: ReadonlySet<number> = new Set<number>([
  ApiKey.CreateTopics,
  ApiKey.DeleteTopics,
  ApiKey.DeleteRecords,
  ApiKey.CreatePartitions,
  ApiKey.AlterConfigs,
  ApiKey.IncrementalAlterConfigs,
  ApiKey.AlterReplicaLogDirs,
  ApiKey.AlterPartitionReassignments,
  ApiKey.ElectLeaders,
  ApiKey.CreateAcls,
  ApiKey.DeleteAcls,
  ApiKey.DeleteGroups,
  ApiKey.OffsetDelete,
  ApiKey.AlterClientQuotas,
  ApiKey.AlterUserScramCredentials,
  ApiKey.CreateDelegationToken,
  ApiKey.UpdateFeatures,
])

/** org.apache.kafka.common.config.ConfigResource.Type ids. */
const CONFIG_RESOURCE: Readonly<Record<number, string>> = {
  2: 'topic',
  4: 'broker',
  8: 'broker-logger',
  16: 'client-metrics',
  32: 'group',
}

/** org.apache.kafka.common.resource.ResourceType ids (ACL APIs). */
const ACL_RESOURCE: Readonly<Record<number, string>> = {
  1: 'any',
  2: 'topic',
  3: 'group',
  4: 'cluster',
  5: 'transactional-id',
  6: 'delegation-token',
  7: 'user',
}

type Named = { name: string }
type NamedPartitions = { name: string; partitions: unknown[] }

/** The details of an admin request for its audit line. */
export function auditAdminRequest(req: DecodedRequest): Record<string, unknown> {
  // biome-ignore lint/suspicious/noExplicitAny: each case reads the shape its API key guarantees.
  const b = req.body as any
  switch (req.apiKey) {
    case ApiKey.CreateTopics:
      return {
        topics: (b as CreateTopicsRequest).topics.map((t) => ({ topic: t.name, partitions: t.numPartitions })),
        validateOnly: b.validateOnly,
      }
    case ApiKey.DeleteTopics: {
      const d = b as DeleteTopicsRequest
      const names = d.topicNames ?? (d.topics ?? []).map((t) => t.name ?? t.topicId)
      return { topics: names.map((topic) => ({ topic })) }
    }
    case ApiKey.DeleteRecords:
    case ApiKey.AlterPartitionReassignments:
      return {
        topics: (b.topics as NamedPartitions[]).map((t) => ({ topic: t.name, partitions: t.partitions.length })),
      }
    case ApiKey.CreatePartitions:
      return {
        topics: (b.topics as (Named & { count: number })[]).map((t) => ({ topic: t.name, partitions: t.count })),
      }
    case ApiKey.AlterReplicaLogDirs:
      return {
        topics: (b.dirs as { topics: NamedPartitions[] }[]).flatMap((d) =>
          d.topics.map((t) => ({ topic: t.name, partitions: t.partitions.length })),
        ),
      }
    case ApiKey.ElectLeaders:
      return {
        topics: ((b.topicPartitions ?? []) as { topic: string; partitions: number[] }[]).map((t) => ({
          topic: t.topic,
          partitions: t.partitions.length,
        })),
      }
    case ApiKey.AlterConfigs:
    case ApiKey.IncrementalAlterConfigs:
      return {
        resources: (b.resources as { resourceType: number; resourceName: string }[]).map((r) => ({
          type: CONFIG_RESOURCE[r.resourceType] ?? String(r.resourceType),
          name: r.resourceName,
        })),
        validateOnly: b.validateOnly,
      }
    case ApiKey.CreateAcls:
      return {
        resources: (b.creations as { resourceType: number; resourceName: string }[]).map((r) => ({
          type: ACL_RESOURCE[r.resourceType] ?? String(r.resourceType),
          name: r.resourceName,
        })),
      }
    case ApiKey.DeleteAcls:
      return {
        resources: (b.filters as { resourceTypeFilter: number; resourceNameFilter: string | null }[]).map((r) => ({
          type: ACL_RESOURCE[r.resourceTypeFilter] ?? String(r.resourceTypeFilter),
          name: r.resourceNameFilter,
        })),
      }
    case ApiKey.DeleteGroups:
      return { groups: b.groupsNames }
    case ApiKey.OffsetDelete:
      return {
        groups: [b.groupId],
        topics: (b.topics as NamedPartitions[]).map((t) => ({ topic: t.name, partitions: t.partitions.length })),
      }
    case ApiKey.AlterUserScramCredentials:
      return {
        users: [...new Set([...(b.deletions as Named[]), ...(b.upsertions as Named[])].map((u) => u.name))],
      }
    case ApiKey.AlterClientQuotas:
      return { entries: b.entries.length }
    case ApiKey.UpdateFeatures:
      return { features: (b.featureUpdates as { feature: string }[]).map((f) => f.feature) }
    default:
      return {}
  }
}
