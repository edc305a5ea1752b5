import type { Logger } from 'pino'
import { ApiKey, type RequestByApiKey } from '../../codec/messages/generated/apis.js'
import type { MetadataRequest } from '../../codec/messages/generated/metadata-request.js'
import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import { ZERO_UUID } from '../../codec/messages/message-defaults.js'
import type { BrokerVersions } from './broker-versions.js'
import type { ConnectionState } from './connection-state.js'
import type {
  ApiKeyNumber,
  BrokerEndpointService,
  ClientSoftware,
  Clock,
  ConnectionInfo,
  ConnectionView,
  FilterContext,
  SendRequestOptions,
  SentResponse,
  TopicId,
  UpstreamClientService,
} from './filter-api.js'
import type { TopicDirectory } from './topic-directory.js'

/** What a filter's context asks of the exchange it belongs to. */
export interface ContextHost {
  /** Sends a request of the filter at `position` on the client's upstream connection (own-requests.ts). */
  sendOwnRequest(
    position: number,
    apiKey: number,
    apiVersion: number,
    body: unknown,
    expectResponse: boolean,
  ): Promise<SentResponse | undefined>
  /** The highest version of an API both the broker (its ApiVersions answer on this connection) and the codec know. */
  usableVersion(apiKey: number, min: number): number | undefined
  muteClient(ms: number): void
  /** A filter's wants changed: the chain asks them again (FilterContext.wantsChanged). */
  wantsChanged(): void
}

/** Services shared by every connection of a sidecar. */
export interface ContextServices {
  readonly brokers: BrokerEndpointService
  /**
   * What brokers support, from the latest ApiVersions answer on any connection: for connections that never ask
   * (kafkajs asks on its first connection only and reuses the answer for every broker).
   */
  readonly versions: BrokerVersions
  readonly clock: Clock
  readonly topics: TopicDirectory
  readonly upstream: UpstreamClientService | undefined
}

/** Metadata v12 is the first version a broker answers by topic id (KIP-516; MetadataRequest.json, Kafka 3.1). */
const METADATA_BY_ID_VERSION = 12
/** Metadata v10 is the first whose response carries topic ids (MetadataResponse.json TopicId: 10+). */
const METADATA_WITH_IDS_VERSION = 10

/**
 * One filter's view of its connection and the runtime (FilterContext). A separate object per filter, because
 * what sendRequest does depends on where the filter sits in the chain; everything else reads through to the
 * connection's state, so filters see the client id as soon as the runtime does.
 */
export class FilterContextImpl implements FilterContext {
  constructor(
    private readonly state: ConnectionState,
    private readonly host: ContextHost,
    private readonly position: number,
    private readonly services: ContextServices,
  ) {}

  get connection(): ConnectionView {
    return this.state
  }
  get connectionId(): number {
    return this.state.connectionId
  }
  get peer(): ConnectionInfo['peer'] {
    return this.state.peer
  }
  get listener(): ConnectionInfo['listener'] {
    return this.state.listener
  }
  get principal(): string | undefined {
    return this.state.principal
  }
  get tls(): boolean {
    return this.state.tls
  }
  get clientId(): string | null {
    return this.state.clientId
  }
  get clientSoftware(): ClientSoftware | undefined {
    return this.state.clientSoftware
  }
  get openedAt(): number {
    return this.state.openedAt
  }
  get log(): Logger {
    return this.state.log
  }
  get brokers(): BrokerEndpointService {
    return this.services.brokers
  }
  get clock(): Clock {
    return this.services.clock
  }

  async sendRequest<K extends ApiKeyNumber>(
    apiKey: K,
    apiVersion: number,
    body: RequestByApiKey[K],
    options?: SendRequestOptions,
  ): Promise<SentResponse<K>> {
    if (options?.node !== undefined) {
      const upstream = this.services.upstream
      if (upstream === undefined) throw new Error('sendRequest to another node needs the sidecar upstream client')
      return upstream.send(options.node, apiKey, apiVersion, body)
    }
    const expect = options?.expectResponse ?? true
    const res = await this.host.sendOwnRequest(this.position, apiKey, apiVersion, body, expect)
    return res as SentResponse<K>
  }

  apiVersion(apiKey: number): number | undefined {
    return this.host.usableVersion(apiKey, 0)
  }

  async topicNames(ids: readonly TopicId[]): Promise<ReadonlyMap<TopicId, string | undefined>> {
    const topics = this.services.topics
    const out = new Map<TopicId, string | undefined>()
    const missing: TopicId[] = []
    for (const id of ids) {
      const name = topics.nameOf(id)
      out.set(id, name)
      if (name === undefined) missing.push(id)
    }
    if (missing.length === 0) return out
    const version = this.host.usableVersion(ApiKey.Metadata, METADATA_BY_ID_VERSION)
    if (version === undefined) return out
    const req: MetadataRequest = {
      topics: missing.map((topicId) => ({ topicId, name: null })),
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    }
    await this.lookUp(version, req)
    for (const id of missing) out.set(id, topics.nameOf(id))
    return out
  }

  async topicIds(names: readonly string[]): Promise<ReadonlyMap<string, TopicId | undefined>> {
    const topics = this.services.topics
    const out = new Map<string, TopicId | undefined>()
    const missing: string[] = []
    for (const name of names) {
      const id = topics.idOf(name)
      out.set(name, id)
      if (id === undefined) missing.push(name)
    }
    if (missing.length === 0) return out
    const version = this.host.usableVersion(ApiKey.Metadata, METADATA_WITH_IDS_VERSION)
    if (version === undefined) return out
    const req: MetadataRequest = {
      topics: missing.map((name) => ({ topicId: ZERO_UUID, name })),
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    }
    await this.lookUp(version, req)
    for (const name of missing) out.set(name, topics.idOf(name))
    return out
  }

  muteClient(ms: number): void {
    this.host.muteClient(ms)
  }

  wantsChanged(): void {
    this.host.wantsChanged()
  }

  /** A Metadata lookup of the runtime's own; its answer teaches the topic directory (every Metadata answer does). */
  private async lookUp(version: number, req: MetadataRequest): Promise<void> {
    const res = await this.host.sendOwnRequest(this.position, ApiKey.Metadata, version, req, true)
    if (res !== undefined) this.services.topics.learnFromMetadata(res.body as MetadataResponse)
  }
}
