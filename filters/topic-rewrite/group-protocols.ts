import type { DescribeGroupsResponse } from '../../codec/messages/generated/describe-groups-response.js'
import type { JoinGroupRequest } from '../../codec/messages/generated/join-group-request.js'
import type { JoinGroupResponse } from '../../codec/messages/generated/join-group-response.js'
import type { SyncGroupRequest } from '../../codec/messages/generated/sync-group-request.js'
import type { SyncGroupResponse } from '../../codec/messages/generated/sync-group-response.js'
import { CONSUMER_PROTOCOL_TYPE, mapAssignment, mapSubscription, type TopicMap } from './consumer-protocol.js'

/**
 * The classic group protocol's opaque bytes, for groups of protocol type "consumer": JoinGroup member metadata
 * (each member's subscription; the leader receives everyone's), SyncGroup assignments (the leader sends everyone's,
 * each member receives its own), and DescribeGroups' copies of both (what `kafka-consumer-groups --describe` reads).
 *
 * SyncGroup carries its protocol type only from v5 (SyncGroupRequest.json ProtocolType, KIP-559); before that the
 * type is known from the member's JoinGroup, which the classic protocol sends to the same coordinator on the same
 * connection just before (AbstractCoordinator.JoinGroupResponseHandler sends SyncGroup on success), so it is
 * remembered here per connection and group.
 */
export class GroupProtocols {
  /** Protocol type by (real) group id, from this connection's JoinGroup requests. */
  private readonly types = new Map<string, string>()

  constructor(
    /** Told when bytes that should be a consumer subscription or assignment cannot be read; they pass unchanged. */
    private readonly undecodable: (what: string, err: unknown) => void,
  ) {}

  /** `toReal` maps the client's topic names; call after the group id itself was mapped. */
  joinRequest(body: JoinGroupRequest, toReal: TopicMap): boolean {
    if (this.types.size >= 1000) this.types.clear()
    this.types.set(body.groupId, body.protocolType)
    if (body.protocolType !== CONSUMER_PROTOCOL_TYPE) return false
    let changed = false
    for (const p of body.protocols) changed = this.subscription(p, 'metadata', toReal) || changed
    return changed
  }

  joinResponse(body: JoinGroupResponse, request: JoinGroupRequest | undefined, toClient: TopicMap): boolean {
    // JoinGroup v7+ answers with the protocol type (KIP-559); older versions: the request's.
    const type = body.protocolType ?? request?.protocolType
    if (type !== CONSUMER_PROTOCOL_TYPE) return false
    let changed = false
    for (const m of body.members) changed = this.subscription(m, 'metadata', toClient) || changed
    return changed
  }

  syncRequest(body: SyncGroupRequest, toReal: TopicMap): boolean {
    if (this.typeOf(body.groupId, body.protocolType) !== CONSUMER_PROTOCOL_TYPE) return false
    let changed = false
    for (const a of body.assignments) changed = this.assignment(a, 'assignment', toReal) || changed
    return changed
  }

  syncResponse(body: SyncGroupResponse, request: SyncGroupRequest | undefined, toClient: TopicMap): boolean {
    const type =
      body.protocolType ?? (request === undefined ? undefined : this.typeOf(request.groupId, request.protocolType))
    if (type !== CONSUMER_PROTOCOL_TYPE) return false
    return this.assignment(body, 'assignment', toClient)
  }

  describeResponse(body: DescribeGroupsResponse, toClient: TopicMap): boolean {
    let changed = false
    for (const g of body.groups) {
      // An empty protocol type is a group with no members yet (or one that only commits offsets).
      if (g.protocolType !== CONSUMER_PROTOCOL_TYPE) continue
      for (const m of g.members) {
        changed = this.subscription(m, 'memberMetadata', toClient) || changed
        changed = this.assignment(m, 'memberAssignment', toClient) || changed
      }
    }
    return changed
  }

  private typeOf(groupId: string, sent: string | null | undefined): string | undefined {
    return sent ?? this.types.get(groupId)
  }

  private subscription<K extends string>(holder: { [P in K]: Buffer }, prop: K, map: TopicMap): boolean {
    return this.replace(holder, prop, map, mapSubscription, 'subscription')
  }

  private assignment<K extends string>(holder: { [P in K]: Buffer }, prop: K, map: TopicMap): boolean {
    return this.replace(holder, prop, map, mapAssignment, 'assignment')
  }

  private replace<K extends string>(
    holder: { [P in K]: Buffer },
    prop: K,
    map: TopicMap,
    mapBytes: (bytes: Buffer, map: TopicMap) => Buffer | undefined,
    what: string,
  ): boolean {
    const bytes = holder[prop]
    if (bytes.length === 0) return false // no subscription or assignment (a follower's SyncGroup entry, say)
    try {
      const out = mapBytes(bytes, map)
      if (out === undefined) return false
      holder[prop] = out as { [P in K]: Buffer }[K]
      return true
    } catch (err) {
      this.undecodable(what, err)
      return false
    }
  }
}
