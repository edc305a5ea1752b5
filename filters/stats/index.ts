import { API_DEFINITIONS, ApiKey } from '../../codec/messages/generated/apis.js'
import type { ConsumerGroupHeartbeatRequest } from '../../codec/messages/generated/consumer-group-heartbeat-request.js'
import type { ConsumerGroupHeartbeatResponse } from '../../codec/messages/generated/consumer-group-heartbeat-response.js'
import type { FetchRequest } from '../../codec/messages/generated/fetch-request.js'
import type { FetchResponse } from '../../codec/messages/generated/fetch-response.js'
import type { HeartbeatRequest } from '../../codec/messages/generated/heartbeat-request.js'
import type { JoinGroupRequest } from '../../codec/messages/generated/join-group-request.js'
import type { JoinGroupResponse } from '../../codec/messages/generated/join-group-response.js'
import type { LeaveGroupRequest } from '../../codec/messages/generated/leave-group-request.js'
import type { ListOffsetsRequest } from '../../codec/messages/generated/list-offsets-request.js'
import type { ListOffsetsResponse } from '../../codec/messages/generated/list-offsets-response.js'
import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import type { OffsetCommitRequest } from '../../codec/messages/generated/offset-commit-request.js'
import type { OffsetCommitResponse } from '../../codec/messages/generated/offset-commit-response.js'
import type { OffsetFetchRequest } from '../../codec/messages/generated/offset-fetch-request.js'
import type { OffsetFetchResponse } from '../../codec/messages/generated/offset-fetch-response.js'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import type { ProduceResponse } from '../../codec/messages/generated/produce-response.js'
import type { SyncGroupRequest } from '../../codec/messages/generated/sync-group-request.js'
import type { SyncGroupResponse } from '../../codec/messages/generated/sync-group-response.js'
import {
  type AuditEntry,
  type AuditService,
  type ConfiguredFilter,
  type ConnectionView,
  type DecodedRequest,
  type DecodedResponse,
  ErrorCode,
  type Filter,
  type FilterContext,
  type FilterPlugin,
  type StatisticsService,
} from '../../src/pipeline/filter-api.js'
import { ADMIN_APIS, type AuditTopic, auditAdminRequest } from './admin-apis.js'
import { fetchedRecords, producedFigures, type RecordsField, recordsBytes } from './records.js'

/**
 * Built-in: per-topic statistics, consumer group membership and consumer lag, and the audit log. The figures the
 * runtime can count without decoding (requests, bytes, latency) come from the ConnectionObserver; this filter
 * decodes what those cannot give, and reports to a StatsSink (src/stats implements it). It never changes a
 * message and never fails a request: a problem in here is reported to the sink and the frame goes on.
 *
 * Decoded (when `topics` is on):
 *   Produce request    bytes and records per topic (batch headers only, no decompression: records.ts)
 *   Produce response   log end offset per partition = BaseOffset + offsets the request's batches took
 *   Fetch request      fetch offsets (to count only records at or above them)
 *   Fetch response     bytes and records per topic, high watermark per partition, throttle time
 *   ListOffsets        the LATEST offset (timestamp -1, read_uncommitted) is the high watermark
 *   Metadata response  topic id -> name (v10+), for Fetch v13+, Produce v13 and OffsetCommit/OffsetFetch v10
 *   OffsetCommit       committed offsets (the request's, once the response says the partition succeeded)
 *   OffsetFetch        committed offsets as the coordinator returns them
 *   JoinGroup, SyncGroup, Heartbeat, LeaveGroup, ConsumerGroupHeartbeat (KIP-848)   group membership
 * Every decoded response also gives its throttle time and its non-zero error codes.
 */

/** Where the filter reports: the runtime's statistics (FilterSetupContext.statistics). */
export type StatsSink = StatisticsService
export type AuditSink = AuditService
export type { AuditEntry }

export interface StatsFilterOptions {
  readonly sink: StatsSink
  /** Decode for per-topic figures, throttle, groups and lag. */
  readonly topics: boolean
  readonly audit?: AuditSink
}

const NAME = 'stats'
/** Kafka's null topic id (Uuid.ZERO_UUID), as the codec renders uuids (base64url of 16 bytes). */
const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA'
/** ListOffsetsRequest.LATEST_TIMESTAMP: "the offset of the next message", the high watermark for read_uncommitted. */
const LATEST_TIMESTAMP = -1n
/** Default group.consumer.session.timeout.ms (KIP-848): how long a silent ConsumerGroupHeartbeat member lives. */
const CONSUMER_PROTOCOL_SESSION_MS = 45_000

const TOPIC_REQUESTS = new Set<number>([
  ApiKey.Produce,
  ApiKey.Fetch,
  ApiKey.ListOffsets,
  ApiKey.OffsetCommit,
  ApiKey.OffsetFetch,
  ApiKey.JoinGroup,
  ApiKey.SyncGroup,
  ApiKey.Heartbeat,
  ApiKey.LeaveGroup,
  ApiKey.ConsumerGroupHeartbeat,
])
const TOPIC_RESPONSES = new Set<number>([...TOPIC_REQUESTS, ApiKey.Metadata])
const AUDIT_REQUESTS = new Set<number>([ApiKey.Produce, ApiKey.Fetch, ...ADMIN_APIS])
const AUDIT_RESPONSES = new Set<number>([ApiKey.Fetch])

export function createStatsFilter(options: StatsFilterOptions): ConfiguredFilter {
  const filter = new StatsFilter(options)
  return { name: NAME, forConnection: () => filter }
}

/** The `stats` section's part that concerns the filter: per-topic decoding, and the audit log. */
export interface StatsFilterConfig {
  readonly topics: boolean
  readonly audit: boolean
}

/**
 * Built in, configured from the `stats` section rather than `filters:` (src/filter-plugins.ts). It reports to the
 * runtime's statistics and audit log, which the sidecar hands to every plugin at setup.
 */
export const statsPlugin: FilterPlugin<StatsFilterConfig> = {
  name: NAME,
  parseConfig: (raw) => raw as StatsFilterConfig,
  configure: (config, ctx): ConfiguredFilter => {
    const sink = ctx.statistics
    if (sink === undefined) return { name: NAME, forConnection: () => ({}) }
    const audit = config.audit ? ctx.audit : undefined
    return createStatsFilter({ sink, topics: config.topics, ...(audit !== undefined ? { audit } : {}) })
  },
}

/** The connection as the statistics know it (FilterContext.connection): they key per-connection state on it. */
type Ctx = ConnectionView

export class StatsFilter implements Filter {
  /** Never changes a message: large responses stream through and are counted once complete. */
  readonly observesOnly = true
  /** Batch headers are all it reads of records: Produce requests and Fetch responses are decoded where they lie. */
  readonly records = 'summary'
  private readonly sink: StatsSink
  private readonly topics: boolean
  private readonly audit: AuditSink | undefined
  private readonly requestKeys: ReadonlySet<number>
  private readonly responseKeys: ReadonlySet<number>

  constructor(options: StatsFilterOptions) {
    this.sink = options.sink
    this.topics = options.topics
    this.audit = options.audit
    this.requestKeys = new Set([...(this.topics ? TOPIC_REQUESTS : []), ...(this.audit ? AUDIT_REQUESTS : [])])
    this.responseKeys = new Set([...(this.topics ? TOPIC_RESPONSES : []), ...(this.audit ? AUDIT_RESPONSES : [])])
  }

  wantsRequest(apiKey: number): boolean {
    return this.requestKeys.has(apiKey)
  }

  wantsResponse(apiKey: number): boolean {
    return this.responseKeys.has(apiKey)
  }

  onRequest(req: DecodedRequest, filterCtx: FilterContext): undefined {
    const ctx: Ctx = filterCtx.connection
    try {
      this.request(req, ctx)
    } catch (err) {
      this.sink.failed(err)
    }
    return undefined
  }

  onResponse(res: DecodedResponse, filterCtx: FilterContext): undefined {
    const ctx: Ctx = filterCtx.connection
    try {
      this.response(res, ctx)
    } catch (err) {
      this.sink.failed(err)
    }
    return undefined
  }

  // ------------------------------------------------------------------ requests

  private request(req: DecodedRequest, ctx: Ctx): void {
    switch (req.apiKey) {
      case ApiKey.Produce:
        this.produceRequest(req.body as ProduceRequest, req.apiVersion, ctx)
        return
      case ApiKey.Heartbeat: {
        if (!this.topics) return
        const b = req.body as HeartbeatRequest
        this.sink.memberSeen(ctx, b.groupId, b.memberId, undefined)
        return
      }
      case ApiKey.LeaveGroup: {
        if (!this.topics) return
        const b = req.body as LeaveGroupRequest
        if (b.memberId !== undefined && b.memberId !== '') this.sink.memberLeft(b.groupId, b.memberId)
        for (const m of b.members ?? []) this.sink.memberLeft(b.groupId, m.memberId)
        return
      }
      case ApiKey.ConsumerGroupHeartbeat: {
        if (!this.topics) return
        const b = req.body as ConsumerGroupHeartbeatRequest
        // Epoch -1 leaves the group, -2 leaves it as a static member (KIP-848, ConsumerGroupHeartbeatRequest.json).
        if (b.memberEpoch < 0 && b.memberId !== '') this.sink.memberLeft(b.groupId, b.memberId)
        return
      }
      default:
        if (this.audit !== undefined && ADMIN_APIS.has(req.apiKey)) {
          this.audit.write({ ...auditBase(req.apiKey, req.apiVersion, ctx), ...auditAdminRequest(req) })
        }
    }
  }

  private produceRequest(body: ProduceRequest, version: number, ctx: Ctx): void {
    const audited: AuditTopic[] | undefined = this.audit ? [] : undefined
    for (const t of body.topicData) {
      const topic = this.topicOf(t.name, t.topicId)
      let bytes = 0
      let records = 0
      for (const p of t.partitionData) {
        const data = p.records as RecordsField | null
        if (data === null) continue
        bytes += recordsBytes(data)
        try {
          records += producedFigures(data).records
        } catch {
          // A malformed batch is the broker's to reject (CORRUPT_MESSAGE); its bytes still count.
        }
      }
      if (this.topics) this.sink.produced(ctx, topic, bytes, records)
      audited?.push({ topic, partitions: t.partitionData.length, bytes, records })
    }
    if (audited !== undefined) {
      this.audit!.write({
        ...auditBase(ApiKey.Produce, version, ctx),
        acks: body.acks,
        ...(body.transactionalId !== null ? { transactionalId: body.transactionalId } : {}),
        topics: audited,
      })
    }
  }

  // ------------------------------------------------------------------ responses

  private response(res: DecodedResponse, ctx: Ctx): void {
    const body = res.body as { throttleTimeMs?: number }
    if (this.topics && typeof body.throttleTimeMs === 'number' && body.throttleTimeMs > 0) {
      this.sink.throttled(ctx, res.apiKey, body.throttleTimeMs)
    }
    switch (res.apiKey) {
      case ApiKey.Produce:
        if (this.topics) this.produceResponse(res.body as ProduceResponse, res.request?.body as ProduceRequest, ctx)
        return
      case ApiKey.Fetch:
        this.fetchResponse(
          res.body as FetchResponse,
          res.request?.body as FetchRequest | undefined,
          res.apiVersion,
          ctx,
        )
        return
      case ApiKey.Metadata:
        this.metadataResponse(res.body as MetadataResponse, ctx)
        return
      case ApiKey.ListOffsets:
        this.listOffsetsResponse(res.body as ListOffsetsResponse, res.request?.body as ListOffsetsRequest, ctx)
        return
      case ApiKey.OffsetCommit:
        this.offsetCommitResponse(res.body as OffsetCommitResponse, res.request?.body as OffsetCommitRequest, ctx)
        return
      case ApiKey.OffsetFetch:
        this.offsetFetchResponse(res.body as OffsetFetchResponse, res.request?.body as OffsetFetchRequest, ctx)
        return
      case ApiKey.JoinGroup: {
        const b = res.body as JoinGroupResponse
        const r = res.request?.body as JoinGroupRequest | undefined
        this.error(ctx, res.apiKey, b.errorCode)
        if (b.errorCode === 0 && r !== undefined && b.memberId !== '') {
          this.sink.memberSeen(ctx, r.groupId, b.memberId, r.sessionTimeoutMs)
        }
        return
      }
      case ApiKey.SyncGroup: {
        const b = res.body as SyncGroupResponse
        const r = res.request?.body as SyncGroupRequest | undefined
        this.error(ctx, res.apiKey, b.errorCode)
        if (b.errorCode === 0 && r !== undefined) this.sink.memberSeen(ctx, r.groupId, r.memberId, undefined)
        return
      }
      case ApiKey.Heartbeat:
      case ApiKey.LeaveGroup: {
        const b = res.body as { errorCode: number }
        this.error(ctx, res.apiKey, b.errorCode)
        if (
          b.errorCode === ErrorCode.UNKNOWN_MEMBER_ID &&
          res.apiKey === ApiKey.Heartbeat &&
          res.request !== undefined
        ) {
          const r = res.request.body as HeartbeatRequest
          this.sink.memberLeft(r.groupId, r.memberId)
        }
        return
      }
      case ApiKey.ConsumerGroupHeartbeat: {
        const b = res.body as ConsumerGroupHeartbeatResponse
        const r = res.request?.body as ConsumerGroupHeartbeatRequest | undefined
        this.error(ctx, res.apiKey, b.errorCode)
        const memberId = b.memberId ?? r?.memberId ?? ''
        if (r !== undefined && memberId !== '') {
          if (b.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.sink.memberLeft(r.groupId, memberId)
          else if (b.errorCode === 0 && b.memberEpoch >= 0) {
            this.sink.memberSeen(
              ctx,
              r.groupId,
              memberId,
              Math.max(CONSUMER_PROTOCOL_SESSION_MS, 3 * b.heartbeatIntervalMs),
            )
          }
        }
        return
      }
    }
  }

  private produceResponse(body: ProduceResponse, req: ProduceRequest | undefined, ctx: Ctx): void {
    for (const t of body.responses) {
      const topic = this.topicOf(t.name, t.topicId)
      const sent = req?.topicData.find((x) => (t.topicId !== undefined ? x.topicId === t.topicId : x.name === t.name))
      for (const p of t.partitionResponses) {
        if (p.errorCode !== 0) {
          this.error(ctx, ApiKey.Produce, p.errorCode)
          continue
        }
        if (p.baseOffset < 0n || sent === undefined) continue
        const records = sent.partitionData.find((x) => x.index === p.index)?.records as RecordsField | null | undefined
        if (records === null || records === undefined) continue
        let offsets: number
        try {
          offsets = producedFigures(records).offsets
        } catch {
          continue
        }
        this.sink.logEndOffset(topic, p.index, Number(p.baseOffset) + offsets)
      }
    }
  }

  private fetchResponse(body: FetchResponse, req: FetchRequest | undefined, version: number, ctx: Ctx): void {
    if (body.errorCode !== undefined) this.error(ctx, ApiKey.Fetch, body.errorCode)
    const offsets = req === undefined ? undefined : fetchOffsets(req)
    const audited: AuditTopic[] | undefined = this.audit ? [] : undefined
    for (const t of body.responses) {
      const topic = this.topicOf(t.topic, t.topicId)
      let bytes = 0
      let records = 0
      for (const p of t.partitions) {
        if (p.errorCode !== 0) {
          this.error(ctx, ApiKey.Fetch, p.errorCode)
          continue
        }
        if (this.topics && p.highWatermark >= 0n)
          this.sink.logEndOffset(topic, p.partitionIndex, Number(p.highWatermark))
        const data = p.records as RecordsField | null
        if (data === null) continue
        const size = recordsBytes(data)
        if (size === 0) continue
        bytes += size
        try {
          records += fetchedRecords(data, offsets?.get(t.topicId ?? t.topic ?? '')?.get(p.partitionIndex))
        } catch {
          // Bytes the client will reject as corrupt: counted as bytes, not records.
        }
      }
      if (bytes === 0) continue
      if (this.topics) this.sink.fetched(ctx, topic, bytes, records)
      audited?.push({ topic, partitions: t.partitions.length, bytes, records })
    }
    // Empty long-poll answers (a consumer sends two a second while idle) are not audited: only data returned.
    if (audited !== undefined && audited.length > 0) {
      this.audit!.write({ ...auditBase(ApiKey.Fetch, version, ctx), topics: audited })
    }
  }

  private metadataResponse(body: MetadataResponse, ctx: Ctx): void {
    for (const t of body.topics) {
      if (t.errorCode !== 0) this.error(ctx, ApiKey.Metadata, t.errorCode)
      if (t.name !== null && t.topicId !== undefined && t.topicId !== ZERO_UUID)
        this.sink.topicIdSeen(t.topicId, t.name)
    }
    if (body.errorCode !== undefined) this.error(ctx, ApiKey.Metadata, body.errorCode)
  }

  private listOffsetsResponse(body: ListOffsetsResponse, req: ListOffsetsRequest | undefined, ctx: Ctx): void {
    // Only read_uncommitted LATEST answers are the high watermark (read_committed gives the last stable offset).
    const latest = req !== undefined && (req.isolationLevel ?? 0) === 0
    for (const t of body.topics) {
      const asked = latest ? req!.topics.find((x) => x.name === t.name) : undefined
      for (const p of t.partitions) {
        if (p.errorCode !== 0) {
          this.error(ctx, ApiKey.ListOffsets, p.errorCode)
          continue
        }
        const ts = asked?.partitions.find((x) => x.partitionIndex === p.partitionIndex)?.timestamp
        if (ts === LATEST_TIMESTAMP && p.offset >= 0n)
          this.sink.logEndOffset(t.name, p.partitionIndex, Number(p.offset))
      }
    }
  }

  private offsetCommitResponse(body: OffsetCommitResponse, req: OffsetCommitRequest | undefined, ctx: Ctx): void {
    for (const t of body.topics) {
      const sent = req?.topics.find((x) => (t.topicId !== undefined ? x.topicId === t.topicId : x.name === t.name))
      const topic = this.topicOf(t.name, t.topicId)
      for (const p of t.partitions) {
        if (p.errorCode !== 0) {
          this.error(ctx, ApiKey.OffsetCommit, p.errorCode)
          continue
        }
        const offset = sent?.partitions.find((x) => x.partitionIndex === p.partitionIndex)?.committedOffset
        if (offset !== undefined && offset >= 0n) {
          this.sink.committed(ctx, req!.groupId, topic, p.partitionIndex, Number(offset))
        }
      }
    }
  }

  private offsetFetchResponse(body: OffsetFetchResponse, req: OffsetFetchRequest | undefined, ctx: Ctx): void {
    if (body.errorCode !== undefined) this.error(ctx, ApiKey.OffsetFetch, body.errorCode)
    const groups =
      body.groups ??
      (req?.groupId !== undefined ? [{ groupId: req.groupId, topics: body.topics ?? [], errorCode: 0 }] : [])
    for (const g of groups) {
      this.error(ctx, ApiKey.OffsetFetch, g.errorCode)
      for (const t of g.topics as { name?: string; topicId?: string; partitions: OffsetFetchPartition[] }[]) {
        const topic = this.topicOf(t.name, t.topicId)
        for (const p of t.partitions) {
          if (p.errorCode !== 0) this.error(ctx, ApiKey.OffsetFetch, p.errorCode)
          else if (p.committedOffset >= 0n) {
            this.sink.committed(undefined, g.groupId, topic, p.partitionIndex, Number(p.committedOffset))
          }
        }
      }
    }
  }

  // ------------------------------------------------------------------ helpers

  private error(ctx: Ctx, apiKey: number, errorCode: number): void {
    if (errorCode !== 0 && this.topics) this.sink.kafkaError(ctx, apiKey, errorCode)
  }

  /** The topic's name: given by the message (up to Fetch v12, Produce v12, ...), else from Metadata's id map. */
  private topicOf(name: string | undefined | null, topicId: string | undefined): string {
    if (name !== undefined && name !== null) return name
    if (topicId === undefined) return ''
    return this.sink.topicName(topicId) ?? topicId
  }
}

interface OffsetFetchPartition {
  partitionIndex: number
  committedOffset: bigint
  errorCode: number
}

/** Fetch offsets by topic (name, or id from v13) and partition. */
function fetchOffsets(req: FetchRequest): Map<string, Map<number, bigint>> {
  const byTopic = new Map<string, Map<number, bigint>>()
  for (const t of req.topics) {
    const m = new Map<number, bigint>()
    for (const p of t.partitions) m.set(p.partition, p.fetchOffset)
    byTopic.set(t.topicId ?? t.topic ?? '', m)
  }
  return byTopic
}

function auditBase(apiKey: number, apiVersion: number, ctx: Ctx) {
  return {
    api: API_DEFINITIONS[apiKey]?.name ?? String(apiKey),
    apiVersion,
    connectionId: ctx.connectionId,
    clientId: ctx.clientId,
    principal: ctx.principal ?? null,
    peer: `${ctx.peer.address}:${ctx.peer.port}`,
  }
}
