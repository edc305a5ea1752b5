import type { Logger } from 'pino'
import { API_DEFINITIONS } from '../../codec/messages/generated/apis.js'
import type { ConsumerGroupHeartbeatRequest } from '../../codec/messages/generated/consumer-group-heartbeat-request.js'
import type { DescribeGroupsResponse } from '../../codec/messages/generated/describe-groups-response.js'
import type { FindCoordinatorRequest } from '../../codec/messages/generated/find-coordinator-request.js'
import type { FindCoordinatorResponse } from '../../codec/messages/generated/find-coordinator-response.js'
import type { JoinGroupRequest } from '../../codec/messages/generated/join-group-request.js'
import type { JoinGroupResponse } from '../../codec/messages/generated/join-group-response.js'
import type { SyncGroupRequest } from '../../codec/messages/generated/sync-group-request.js'
import type { SyncGroupResponse } from '../../codec/messages/generated/sync-group-response.js'
import {
  ApiKey,
  type DecodedRequest,
  type DecodedResponse,
  ErrorCode,
  errorResponse,
  type FilterContext,
  type FilterCounter,
  type MaybePromise,
  type RequestTopicRename,
  type RequestToRename,
  type RequestVerdict,
  type ResponseToRename,
  type ResponseVerdict,
  replace,
  type TopicRename,
} from '../../src/pipeline/filter-api.js'
import {
  carriesNames,
  messageStruct,
  type NameKind,
  type NameTranslation,
  resourceKindsFor,
  rewriteMessages,
  walkNames,
} from './carrier-walker.js'
import { mapCoordinatorRequest, mapCoordinatorResponse } from './coordinator-keys.js'
import { GroupProtocols } from './group-protocols.js'
import type { TopicList } from './metadata-view.js'
import { RegexSubscription } from './regex-subscription.js'
import { mapperFor, type Rule } from './rules.js'

/**
 * One canary client connection under a rewrite rule: every request is rewritten from the client's names to the real
 * ones, every response back, so the client only ever sees the names it asked for.
 *
 * Responses are mapped back first by what the request said: each name a request carried that is not itself is
 * remembered with the real name it became, so a response echoes exactly the names of its request, also for a client
 * that named a mapped topic's target directly, and error messages can name what the request named. Names a response brings of its own
 * (Metadata listing every topic, offsets of a whole group, group listings) take the rule's way back, and those without
 * a client name are left out (carrier-walker.ts).
 */

export interface RewriteShared {
  readonly log: Logger
  readonly topicList: TopicList
  readonly rewritten: FilterCounter
  readonly undecodable: FilterCounter
  once(key: string, log: () => void): void
}

const echoKey = (kind: NameKind, name: string) => `${kind}\u0000${name}`

export class RewriteConnection {
  /** Names of each request that the rule's way back would not give back, by request: real -> client. */
  private readonly echoes = new WeakMap<object, Map<string, string>>()
  /**
   * The same for Produce requests renamed as they streamed (renameRequestTopics), by correlation id: their responses
   * do not bring back an object this filter saw. Taken when the response comes; acks=0 requests get none and are
   * not kept.
   */
  private readonly streamedEchoes = new Map<number, Map<string, string>>()
  private readonly groups: GroupProtocols
  private readonly regex: RegexSubscription
  private readonly topics: boolean
  private readonly keys: boolean

  constructor(
    private readonly rule: Rule,
    private readonly shared: RewriteShared,
  ) {
    this.topics = !rule.topics.empty
    this.keys = !rule.groups.empty || !rule.transactionalIds.empty
    this.groups = new GroupProtocols((what, err) => {
      shared.undecodable.inc({ rule: rule.name, what })
      shared.once(`undecodable:${what}`, () =>
        shared.log.warn(
          { what, err: (err as Error).message },
          'topic-rewrite: consumer protocol bytes could not be read; they pass unmapped',
        ),
      )
    })
    this.regex = new RegexSubscription(shared.topicList, rule.topics)
  }

  wantsRequest(apiKey: number, apiVersion: number): boolean {
    if (carriesNames(apiKey, apiVersion, 'request', this.rule.mask)) return true
    if (this.topics && (apiKey === ApiKey.JoinGroup || apiKey === ApiKey.SyncGroup)) return true
    return this.keys && apiKey === ApiKey.FindCoordinator
  }

  wantsResponse(apiKey: number, apiVersion: number): boolean {
    if (carriesNames(apiKey, apiVersion, 'response', this.rule.mask)) return true
    if (
      this.topics &&
      (apiKey === ApiKey.JoinGroup || apiKey === ApiKey.SyncGroup || apiKey === ApiKey.DescribeGroups)
    ) {
      return true
    }
    return this.keys && apiKey === ApiKey.FindCoordinator
  }

  onRequest(req: DecodedRequest, ctx: FilterContext): MaybePromise<RequestVerdict | undefined> {
    const echo = new Map<string, string>()
    const rule = this.rule
    const translation: NameTranslation = {
      translate(kind, name) {
        const mapper = mapperFor(rule, kind)
        const real = mapper.toReal(name)
        if (real !== name || mapper.toClient(real) !== name) echo.set(echoKey(kind, real), name)
        return real
      },
    }
    const k = req.apiKey
    let modified = false
    if (carriesNames(k, req.apiVersion, 'request', rule.mask)) {
      const struct = messageStruct(k, 'request')!
      modified = walkNames(struct, req.apiVersion, req.body, rule.mask, translation, resourceKindsFor(k)).modified
    }
    const topic = (name: string) => (this.topics ? translation.translate('topic', name)! : name)
    if (k === ApiKey.JoinGroup && this.topics) {
      modified = this.groups.joinRequest(req.body as JoinGroupRequest, topic) || modified
    } else if (k === ApiKey.SyncGroup && this.topics) {
      modified = this.groups.syncRequest(req.body as SyncGroupRequest, topic) || modified
    } else if (k === ApiKey.FindCoordinator && this.keys) {
      const mapped = mapCoordinatorRequest(req.body as FindCoordinatorRequest, (kind, key) =>
        mapperFor(rule, kind).empty ? undefined : translation.translate(kind, key),
      )
      modified = mapped || modified
    }
    if (echo.size > 0) this.echoes.set(req, echo)
    if (k === ApiKey.ConsumerGroupHeartbeat && this.topics) {
      return this.heartbeat(req, ctx, modified)
    }
    return this.requestVerdict(req, modified)
  }

  /** KIP-848 heartbeats: a regex subscription is matched here, against the client's names (regex-subscription.ts). */
  private heartbeat(
    req: DecodedRequest,
    ctx: FilterContext,
    modified: boolean,
  ): MaybePromise<RequestVerdict | undefined> {
    const outcome = this.regex.onHeartbeat(req.body as ConsumerGroupHeartbeatRequest, ctx)
    const verdict = (o: Awaited<typeof outcome>): RequestVerdict | undefined => {
      if (o.kind === 'invalid') return errorResponse(ErrorCode.INVALID_REGULAR_EXPRESSION, o.message)
      // Retriable: the client finds the coordinator again and sends its whole subscription once more.
      if (o.kind === 'unavailable') return errorResponse(ErrorCode.COORDINATOR_NOT_AVAILABLE, o.message)
      return this.requestVerdict(req, modified || o.kind === 'changed')
    }
    return outcome instanceof Promise ? outcome.then(verdict) : verdict(outcome)
  }

  private requestVerdict(req: DecodedRequest, modified: boolean): RequestVerdict | undefined {
    if (!modified) return undefined
    this.shared.rewritten.inc({ rule: this.rule.name, api: apiName(req.apiKey), direction: 'request' })
    return replace(req.body)
  }

  /**
   * A Produce request by name (v3-v12) is renamed while it streams instead of being held for onRequest, when its
   * topic names are all onRequest would change in it: its other carrier is the transactional id, so a rule that maps
   * transactional ids takes the ordinary way (pinned by test/filters/topic-rewrite/streamed-rename.test.ts). The
   * names the request carried are noted as onRequest notes them, by correlation id, so the response is mapped back
   * (and its error messages worded) the same way; it is counted once, as onRequest counts it.
   */
  renameRequestTopics(req: RequestToRename): RequestTopicRename | undefined {
    if (req.apiKey !== ApiKey.Produce || !this.topics || !this.rule.transactionalIds.empty) return undefined
    const echo = new Map<string, string>()
    if (req.expectsResponse) this.streamedEchoes.set(req.correlationId, echo)
    const mapper = this.rule.topics
    const counter = this.shared.rewritten
    const labels = { rule: this.rule.name, api: apiName(ApiKey.Produce), direction: 'request' }
    let counted = false
    return (name) => {
      const real = mapper.toReal(name)
      if (real !== name || mapper.toClient(real) !== name) echo.set(echoKey('topic', real), name)
      if (real !== name && !counted) {
        counted = true
        counter.inc(labels)
      }
      return real
    }
  }

  /** What the request of a response named, noted by onRequest or, for a renamed Produce request, by correlation id. */
  private echoOf(res: DecodedResponse): Map<string, string> | undefined {
    let streamed: Map<string, string> | undefined
    if (res.apiKey === ApiKey.Produce && this.streamedEchoes.size > 0) {
      streamed = this.streamedEchoes.get(res.header.correlationId)
      this.streamedEchoes.delete(res.header.correlationId)
    }
    // A request another filter declined to rename went the ordinary way after all: onRequest noted it too.
    const held = res.request === undefined ? undefined : this.echoes.get(res.request)
    return held ?? (streamed !== undefined && streamed.size > 0 ? streamed : undefined)
  }

  /**
   * A Fetch response by name (v4-v12) is renamed while it streams instead of being held for onResponse: its topic
   * names are the only names it carries (no group ids, transactional ids or error messages; pinned by
   * test/filters/topic-rewrite/streamed-rename.test.ts), so the rename is all onResponse would do to it.
   */
  renameResponseTopics(res: ResponseToRename): TopicRename | undefined {
    if (res.apiKey !== ApiKey.Fetch || !this.topics) return undefined
    const echo = res.request === undefined ? undefined : this.echoes.get(res.request)
    const mapper = this.rule.topics
    const counter = this.shared.rewritten
    const labels = { rule: this.rule.name, api: apiName(ApiKey.Fetch), direction: 'response' }
    let counted = false
    return (real) => {
      const client = echo?.get(echoKey('topic', real)) ?? mapper.toClient(real)
      if (client !== real && !counted) {
        counted = true
        counter.inc(labels)
      }
      return client
    }
  }

  onResponse(res: DecodedResponse): ResponseVerdict | undefined {
    const rule = this.rule
    const echo = this.echoOf(res)
    const pairs = new Map<string, string>()
    const translation: NameTranslation = {
      translate(kind, real) {
        const client = echo?.get(echoKey(kind, real)) ?? mapperFor(rule, kind).toClient(real)
        if (client !== undefined && client !== real) pairs.set(real, client)
        return client
      },
    }
    const k = res.apiKey
    let modified = false
    let messages: ReturnType<typeof walkNames>['messages'] = []
    if (carriesNames(k, res.apiVersion, 'response', rule.mask)) {
      const struct = messageStruct(k, 'response')!
      const walked = walkNames(struct, res.apiVersion, res.body, rule.mask, translation, resourceKindsFor(k))
      modified = walked.modified
      messages = walked.messages
    }
    // A topic the client must not see keeps its real name inside the consumer protocol's bytes: a subscription or an
    // assignment cannot leave a topic out without changing what the group does.
    const topic = (real: string) => (this.topics ? (translation.translate('topic', real) ?? real) : real)
    const request = res.request?.body
    if (k === ApiKey.JoinGroup && this.topics) {
      const body = res.body as JoinGroupResponse
      modified = this.groups.joinResponse(body, request as JoinGroupRequest | undefined, topic) || modified
    } else if (k === ApiKey.SyncGroup && this.topics) {
      const body = res.body as SyncGroupResponse
      modified = this.groups.syncResponse(body, request as SyncGroupRequest | undefined, topic) || modified
    } else if (k === ApiKey.DescribeGroups && this.topics) {
      modified = this.groups.describeResponse(res.body as DescribeGroupsResponse, topic) || modified
    } else if (k === ApiKey.FindCoordinator && this.keys) {
      const mapped = mapCoordinatorResponse(
        res.body as FindCoordinatorResponse,
        request as FindCoordinatorRequest | undefined,
        (kind, key) => (mapperFor(rule, kind).empty ? undefined : translation.translate(kind, key)),
      )
      modified = mapped || modified
    }
    // Error messages may name what the request named even where the response's fields do not (a topic that failed).
    if (echo !== undefined) {
      for (const [key, client] of echo) {
        const real = key.slice(key.indexOf('\u0000') + 1)
        if (real !== client) pairs.set(real, client)
      }
    }
    modified = rewriteMessages(messages, pairs) || modified
    if (!modified) return undefined
    this.shared.rewritten.inc({ rule: rule.name, api: apiName(k), direction: 'response' })
    return replace(res.body)
  }
}

function apiName(apiKey: number): string {
  return API_DEFINITIONS[apiKey]?.name ?? String(apiKey)
}
