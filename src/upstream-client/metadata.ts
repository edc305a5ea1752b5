import type { MetadataRequest } from '../../codec/messages/generated/metadata-request.js'
import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import { KafkaResponseError } from './errors.js'
import { KafkaError } from './kafka-errors.js'

/**
 * The client's view of the cluster, from Metadata responses (https://kafka.apache.org/protocol#The_Messages_Metadata):
 * brokers, the controller, and for each topic asked about its id and its partitions with their leaders.
 * It only merges answers: asking (which broker, which version) is the client's job, given as `fetch`.
 * Concurrent refreshes are coalesced: while one request is out, later ones are merged into the next request, and
 * every caller resolves with the first view that answers its topics.
 */

/** A topic id as the codec shows UUIDs: 22 base64url characters, the form Kafka's tools print. */
export type Uuid = string

/** Kafka's Uuid.ZERO_UUID: "no id" in Metadata requests by name (v10+). */
export const ZERO_UUID: Uuid = 'AAAAAAAAAAAAAAAAAAAAAA'

export interface BrokerNode {
  nodeId: number
  host: string
  port: number
  rack: string | null
}

export interface PartitionView {
  partition: number
  /** Leader node id; -1 while there is none (LEADER_NOT_AVAILABLE, election in progress). */
  leader: number
  leaderEpoch: number
  replicas: readonly number[]
  isr: readonly number[]
  errorCode: number
}

export interface TopicView {
  name: string
  /** Undefined when the broker predates topic ids (Metadata below v10, Kafka before 2.8). */
  id: Uuid | undefined
  internal: boolean
  /** Indexed by partition number. */
  partitions: readonly PartitionView[]
}

export interface ClusterView {
  clusterId: string | null
  /** The node Metadata names as controller (in KRaft a broker that forwards controller requests); -1 if none. */
  controllerId: number
  brokers: ReadonlyMap<number, BrokerNode>
  /** The topics learned so far, by name (not every topic of the cluster unless all were asked for). */
  topics: ReadonlyMap<string, TopicView>
  /** Epoch ms of the response this view was last updated from (0: never). */
  updatedAt: number
}

/** What one Metadata request asks for: every topic, or these names and ids (both empty: brokers only). */
export interface TopicSelection {
  all: boolean
  names: ReadonlySet<string>
  ids: ReadonlySet<Uuid>
}

/**
 * Asks one broker. Returns the response with the selection it actually answers, which may be wider than the one
 * asked (a broker too old to look topics up by id is asked for every topic instead).
 */
export type MetadataFetcher = (
  selection: TopicSelection,
) => Promise<{ response: MetadataResponse; selection: TopicSelection }>

interface QueuedRefresh {
  all: boolean
  names: Set<string>
  ids: Set<Uuid>
  promise: Promise<ClusterView>
  resolve: (view: ClusterView) => void
  reject: (err: Error) => void
}

export class ClusterMetadata {
  private current: ClusterView = {
    clusterId: null,
    controllerId: -1,
    brokers: new Map(),
    topics: new Map(),
    updatedAt: 0,
  }
  private readonly names = new Map<Uuid, string>()
  /** Errors the last response gave for topics it did not describe (e.g. TOPIC_AUTHORIZATION_FAILED). */
  private readonly topicErrors = new Map<string, number>()
  /** Topics kept fresh by refreshTracked(): the ones the client produces to. */
  private readonly tracked = new Set<string>()
  private inFlight: Promise<ClusterView> | undefined
  private queued: QueuedRefresh | undefined

  constructor(
    private readonly fetch: MetadataFetcher,
    private readonly now: () => number = Date.now,
  ) {}

  get view(): ClusterView {
    return this.current
  }

  topic(name: string): TopicView | undefined {
    return this.current.topics.get(name)
  }

  /** The error the cluster last gave for a topic it would not describe, if any. */
  topicError(name: string): number | undefined {
    return this.topicErrors.get(name)
  }

  nameOf(id: Uuid): string | undefined {
    return this.names.get(id)
  }

  track(topic: string): void {
    this.tracked.add(topic)
  }

  get trackedTopics(): ReadonlySet<string> {
    return this.tracked
  }

  /** Refreshes the brokers and the tracked topics (the periodic refresh, metadata.max.age.ms in Kafka). */
  refreshTracked(): Promise<ClusterView> {
    return this.refresh({ names: [...this.tracked] })
  }

  /** Asks the cluster; `all` for every topic, else these names and ids (none: brokers only). */
  refresh(what: { all?: boolean; names?: Iterable<string>; ids?: Iterable<Uuid> } = {}): Promise<ClusterView> {
    const q = this.queued ?? this.newQueued()
    q.all ||= what.all === true
    for (const n of what.names ?? []) q.names.add(n)
    for (const id of what.ids ?? []) q.ids.add(id)
    if (this.inFlight === undefined) this.launch()
    return q.promise
  }

  /** Merges one Metadata response into the view (also usable with responses seen elsewhere). */
  apply(res: MetadataResponse, selection: TopicSelection): ClusterView {
    if (res.errorCode !== undefined && res.errorCode !== 0) throw new KafkaResponseError(res.errorCode, 'Metadata')
    const brokers = new Map<number, BrokerNode>()
    for (const b of res.brokers)
      brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null })
    const topics = new Map(selection.all ? [] : this.current.topics)
    if (selection.all) {
      this.names.clear()
      this.topicErrors.clear()
    }
    for (const t of res.topics) {
      const id = t.topicId === undefined || t.topicId === ZERO_UUID ? undefined : t.topicId
      const name = t.name ?? (id === undefined ? undefined : this.names.get(id))
      if (t.errorCode === 0 && name !== undefined) {
        const partitions: PartitionView[] = []
        for (const p of t.partitions)
          partitions[p.partitionIndex] = {
            partition: p.partitionIndex,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch ?? -1,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
            errorCode: p.errorCode,
          }
        const old = topics.get(name)
        if (old?.id !== undefined && old.id !== id) this.names.delete(old.id)
        topics.set(name, { name, id, internal: t.isInternal ?? false, partitions })
        if (id !== undefined) this.names.set(id, name)
        this.topicErrors.delete(name)
        continue
      }
      // The topic is gone, or not described: forget what we knew (a deleted topic must not keep its leaders).
      if (name !== undefined) {
        const old = topics.get(name)
        if (old?.id !== undefined) this.names.delete(old.id)
        topics.delete(name)
        this.topicErrors.set(name, t.errorCode)
      }
      if (id !== undefined && t.errorCode === KafkaError.UNKNOWN_TOPIC_ID) {
        const known = this.names.get(id)
        if (known !== undefined) topics.delete(known)
        this.names.delete(id)
      }
    }
    this.current = {
      clusterId: res.clusterId ?? null,
      controllerId: res.controllerId ?? -1,
      brokers,
      topics,
      updatedAt: this.now(),
    }
    return this.current
  }

  private newQueued(): QueuedRefresh {
    let resolve!: (view: ClusterView) => void
    let reject!: (err: Error) => void
    const promise = new Promise<ClusterView>((res, rej) => {
      resolve = res
      reject = rej
    })
    // A caller that does not wait (a periodic refresh) must not leave an unhandled rejection behind.
    promise.catch(() => {})
    this.queued = { all: false, names: new Set(), ids: new Set(), promise, resolve, reject }
    return this.queued
  }

  private launch(): void {
    const q = this.queued!
    this.queued = undefined
    const selection: TopicSelection = { all: q.all, names: q.names, ids: q.ids }
    this.inFlight = this.fetch(selection)
      .then((answer) => this.apply(answer.response, answer.selection))
      .then(
        (view) => {
          q.resolve(view)
          return view
        },
        (err: Error) => {
          q.reject(err)
          return this.current
        },
      )
      .finally(() => {
        this.inFlight = undefined
        if (this.queued !== undefined) this.launch()
      })
  }
}

/** The Metadata request for a selection: topics null asks for all (v1+), an empty list for brokers only. */
export function metadataRequest(selection: TopicSelection, version: number): MetadataRequest {
  let topics: MetadataRequest['topics']
  if (selection.all) topics = null
  else {
    topics = [...selection.names].map((name) => (version >= 10 ? { topicId: ZERO_UUID, name } : { name }))
    for (const id of selection.ids) topics.push({ topicId: id, name: null })
  }
  return {
    topics,
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  }
}
