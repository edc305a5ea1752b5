/**
 * Consumer groups as seen through the sidecar: who is a member, what each group committed, and how far the
 * log has moved on. Lag per group and partition = log end offset - committed offset, the figure Kafka's own
 * `kafka-consumer-groups --describe` prints (LOG-END-OFFSET there is the latest offset, i.e. the high watermark,
 * for read_uncommitted: ConsumerGroupCommand asks ListOffsets for OffsetSpec.latest()).
 *
 * Consumers fetch on connections to partition leaders while their coordinator connection carries JoinGroup and
 * OffsetCommit; the two are related by client id (Java, kafkajs and librdkafka use one client id per consumer
 * across its connections), and each committed offset remembers which client committed it.
 *
 * What cannot be seen: a partition that nobody produces to, fetches from or asks ListOffsets about through this
 * sidecar has no known log end offset, so its lag is unknown (null), not 0. A log end offset is as fresh as the
 * last Produce response, Fetch response or ListOffsets answer that passed; a stopped consumer's lag is therefore
 * exact only as long as producers (or other consumers) of the partition go through this sidecar.
 */

export interface Member {
  readonly memberId: string
  /** Key of the client (see Statistics) and its client id, as of the last time the member was seen. */
  clientKey: string
  clientId: string
  principal: string | undefined
  lastSeen: number
  sessionTimeoutMs: number
}

export interface Committed {
  offset: number
  at: number
  /** Client key of the committer; undefined when only read back (OffsetFetch). */
  by: string | undefined
  byClientId: string | undefined
}

export interface LogEnd {
  offset: number
  at: number
}

export interface GroupState {
  readonly group: string
  readonly members: Map<string, Member>
  /** topic -> partition -> committed offset */
  readonly committed: Map<string, Map<number, Committed>>
}

export interface PartitionLag {
  readonly group: string
  readonly topic: string
  readonly partition: number
  readonly committed: Committed
  readonly logEnd: LogEnd | undefined
  /** null when no log end offset is known. Never negative (a log end seen before the commit reached it). */
  readonly lag: number | null
}

/** Without a session timeout (Heartbeat before any JoinGroup seen): Kafka's default session.timeout.ms (KIP-735). */
const DEFAULT_SESSION_MS = 45_000

export class ConsumerGroups {
  readonly groups = new Map<string, GroupState>()
  /** topic -> partition -> log end offset */
  readonly logEnds = new Map<string, Map<number, LogEnd>>()

  private group(name: string): GroupState {
    let g = this.groups.get(name)
    if (g === undefined) {
      g = { group: name, members: new Map(), committed: new Map() }
      this.groups.set(name, g)
    }
    return g
  }

  logEnd(topic: string, partition: number, offset: number, now: number): void {
    let t = this.logEnds.get(topic)
    if (t === undefined) {
      t = new Map()
      this.logEnds.set(topic, t)
    }
    const known = t.get(partition)
    // Offsets only grow while a topic lives: an older, smaller figure (a Fetch answered before a Produce) must
    // not move it back. A topic deleted and re-created with the same name keeps the old figure until it passes.
    if (known === undefined) t.set(partition, { offset, at: now })
    else if (offset >= known.offset) {
      known.offset = offset
      known.at = now
    }
  }

  commit(
    group: string,
    topic: string,
    partition: number,
    offset: number,
    by: { key: string; clientId: string } | undefined,
    now: number,
  ): void {
    const g = this.group(group)
    let t = g.committed.get(topic)
    if (t === undefined) {
      t = new Map()
      g.committed.set(topic, t)
    }
    const known = t.get(partition)
    if (known === undefined) {
      t.set(partition, { offset, at: now, by: by?.key, byClientId: by?.clientId })
      return
    }
    known.offset = offset
    known.at = now
    if (by !== undefined) {
      known.by = by.key
      known.byClientId = by.clientId
    }
  }

  memberSeen(
    group: string,
    memberId: string,
    client: { key: string; clientId: string; principal: string | undefined },
    sessionTimeoutMs: number | undefined,
    now: number,
  ): void {
    const g = this.group(group)
    const m = g.members.get(memberId)
    if (m === undefined) {
      g.members.set(memberId, {
        memberId,
        clientKey: client.key,
        clientId: client.clientId,
        principal: client.principal,
        lastSeen: now,
        sessionTimeoutMs: sessionTimeoutMs ?? DEFAULT_SESSION_MS,
      })
      return
    }
    m.clientKey = client.key
    m.clientId = client.clientId
    m.principal = client.principal
    m.lastSeen = now
    if (sessionTimeoutMs !== undefined) m.sessionTimeoutMs = sessionTimeoutMs
  }

  memberLeft(group: string, memberId: string): void {
    this.groups.get(group)?.members.delete(memberId)
  }

  /** Drops members silent for longer than their session timeout: the coordinator has removed them too. */
  expireMembers(now: number): void {
    for (const g of this.groups.values()) {
      for (const [id, m] of g.members) if (now - m.lastSeen > m.sessionTimeoutMs) g.members.delete(id)
    }
  }

  /** Lag of every committed partition of every group. */
  *lags(): Generator<PartitionLag> {
    for (const g of this.groups.values()) {
      for (const [topic, partitions] of g.committed) {
        const ends = this.logEnds.get(topic)
        for (const [partition, committed] of partitions) {
          const logEnd = ends?.get(partition)
          yield {
            group: g.group,
            topic,
            partition,
            committed,
            logEnd,
            lag: logEnd === undefined ? null : Math.max(0, logEnd.offset - committed.offset),
          }
        }
      }
    }
  }

  /** Lag of the partitions each client committed last, by client key. */
  lagByClient(): Map<string, number> {
    const byClient = new Map<string, number>()
    for (const l of this.lags()) {
      if (l.lag === null || l.committed.by === undefined) continue
      byClient.set(l.committed.by, (byClient.get(l.committed.by) ?? 0) + l.lag)
    }
    return byClient
  }

  /** Live members per client key and group. */
  membershipByClient(): Map<string, Map<string, number>> {
    const byClient = new Map<string, Map<string, number>>()
    for (const g of this.groups.values()) {
      for (const m of g.members.values()) {
        let groups = byClient.get(m.clientKey)
        if (groups === undefined) {
          groups = new Map()
          byClient.set(m.clientKey, groups)
        }
        groups.set(g.group, (groups.get(g.group) ?? 0) + 1)
      }
    }
    return byClient
  }
}
