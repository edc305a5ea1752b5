import { EventEmitter } from 'node:events'
import { pino } from 'pino'
import type { ApiKeyNumber } from '../../codec/messages/frames.js'
import { ApiKey, type RequestByApiKey, type ResponseByApiKey } from '../../codec/messages/generated/apis.js'
import { formatHostPort } from '../config/host-port.js'
import type { Logger } from '../logger.js'
import { ExponentialBackoff, sleep } from './backoff.js'
import type { BrokerConnection } from './connection.js'
import { ConnectionPool, type NodeAddress } from './connection-pool.js'
import {
  ClientClosedError,
  ClusterUnreachableError,
  InvalidRequestError,
  KafkaResponseError,
  NoCommonVersionError,
  UnknownTopicError,
} from './errors.js'
import { KafkaError } from './kafka-errors.js'
import {
  ClusterMetadata,
  type ClusterView,
  metadataRequest,
  type TopicSelection,
  type TopicView,
  type Uuid,
} from './metadata.js'
import { DEFAULT_PRODUCER, type SendTarget, type UpstreamClientHealth, type UpstreamClientOptions } from './options.js'
import type { BatchMetadata } from './produce-batch.js'
import type { ProduceOptions, ProducerRecord, RecordMetadata } from './produce-records.js'
import { Producer } from './producer.js'
import { SOFTWARE_VERSION } from './software-version.js'

/**
 * The sidecar's own Kafka client, for traffic of its own (a tap filter's copies of records, a shadow produce, topic
 * id lookups), on connections of its own to the upstream cluster: the configured upstream TLS (through the same
 * UpstreamConnector as client traffic) and credentials of its own (SASL PLAIN or SCRAM), never a client's.
 * It speaks through the sidecar's codec: ApiVersions picks, per broker, the newest version of each API that both the
 * broker and the codec support.
 *
 *   const client = new UpstreamClient({ bootstrap, connector, clientId: 'kafka-sidecar-tap', sasl })
 *   client.start()                                   // optional: connect now and keep health current
 *   await client.produce('audit', [{ key: 'k', value: 'v', headers: [{ key: 'h', value: 'x' }] }], { acks: -1 })
 *   const names = await client.topicNames(ids)       // Map id -> name, for the ids the cluster knows
 *   const { body } = await client.send('any', ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false })
 *   client.health()                                  // { connected: false, lastError: 'cannot connect ...', nodes }
 *   client.on('health', (h) => ...)                  // emitted when `connected` changes
 *   await client.close()                             // flushes records still queued, then closes
 *
 * Metadata is refreshed every metadataMaxAgeMs for the topics produced to, when a produce error says leaders moved,
 * and on demand. When no broker can be reached, health() says so and the client keeps trying in the background
 * (exponential backoff with jitter) until one answers again.
 */

export class UpstreamClient extends EventEmitter {
  private readonly options: UpstreamClientOptions
  private readonly log: Logger
  private readonly pool: ConnectionPool
  private readonly meta: ClusterMetadata
  private readonly producer: Producer
  private readonly reconnectBackoff: ExponentialBackoff
  private readonly state: { connected: boolean; lastError?: string; lastErrorAt?: number; connectedAt?: number } = {
    connected: false,
  }
  private started = false
  private closed = false
  /** The current outage has been reported (log line, health event). */
  private reportedDown = false
  private refreshTimer: NodeJS.Timeout | undefined
  private recovering = false

  constructor(options: UpstreamClientOptions) {
    super()
    if (options.bootstrap.length === 0) throw new InvalidRequestError('the upstream client needs bootstrap brokers')
    this.options = options
    this.log = options.log ?? pino({ level: 'silent' })
    const requestTimeoutMs = options.requestTimeoutMs ?? 30_000
    this.reconnectBackoff = new ExponentialBackoff(
      options.reconnectBackoffMs ?? 50,
      options.reconnectBackoffMaxMs ?? 1_000,
    )
    this.pool = new ConnectionPool(
      {
        connector: options.connector,
        clientId: options.clientId,
        requestTimeoutMs,
        sasl: options.sasl,
        ...(options.maxFrameBytes !== undefined && { maxFrameBytes: options.maxFrameBytes }),
        softwareVersion: SOFTWARE_VERSION,
        log: this.log,
      },
      this.reconnectBackoff,
      {
        connected: () => this.markReachable(),
        // One broker refusing is not the cluster being down: a Metadata request that no broker answers is.
        connectFailed: () => {},
        connectionLost: () => {
          // The last connection went away: find out now whether the cluster is still there.
          if (this.pool.openConnections().length === 0 && !this.closed) void this.meta.refreshTracked().catch(() => {})
        },
      },
    )
    this.meta = new ClusterMetadata((selection) => this.fetchMetadata(selection))
    const p = { ...DEFAULT_PRODUCER, ...options.producer }
    this.producer = new Producer(
      {
        metadata: this.meta,
        topic: (name) => this.waitForTopic(name),
        connection: (nodeId) => this.connectionTo(nodeId),
        log: this.log,
      },
      {
        acks: p.acks,
        compression: p.compression,
        lingerMs: p.lingerMs,
        batchBytes: p.batchBytes,
        maxRequestBytes: p.maxRequestBytes,
        deliveryTimeoutMs: p.deliveryTimeoutMs,
        requestTimeoutMs,
        maxInFlightPerNode: p.maxInFlightPerNode,
        bufferBytes: p.bufferBytes,
        retryBackoff: new ExponentialBackoff(p.retryBackoffMs, p.retryBackoffMaxMs),
      },
    )
  }

  /** Connects and starts the periodic metadata refresh. Optional: the first call of any method does it too. */
  start(): void {
    if (this.started || this.closed) return
    this.started = true
    void this.meta.refreshTracked().catch(() => {})
    const every = this.options.metadataMaxAgeMs ?? 300_000
    this.refreshTimer = setInterval(() => void this.meta.refreshTracked().catch(() => {}), every)
    this.refreshTimer.unref()
  }

  health(): UpstreamClientHealth {
    return { ...this.state, nodes: this.pool.health() }
  }

  /** The cluster view after a Metadata request: `undefined` brokers only (plus the topics known), `null` every topic. */
  async metadata(topics?: readonly string[] | null): Promise<ClusterView> {
    this.ensureStarted()
    if (topics === null) return this.meta.refresh({ all: true })
    return this.meta.refresh({ names: topics ?? [] })
  }

  /** Topic names for these ids, from the cache or the cluster; ids the cluster does not know are left out. */
  async topicNames(ids: readonly Uuid[]): Promise<Map<Uuid, string>> {
    this.ensureStarted()
    const out = new Map<Uuid, string>()
    const missing: Uuid[] = []
    for (const id of ids) {
      const name = this.meta.nameOf(id)
      if (name !== undefined) out.set(id, name)
      else missing.push(id)
    }
    if (missing.length > 0) {
      await this.meta.refresh({ ids: missing })
      for (const id of missing) {
        const name = this.meta.nameOf(id)
        if (name !== undefined) out.set(id, name)
      }
    }
    return out
  }

  /** Topic ids for these names; topics that do not exist (or brokers without topic ids) are left out. */
  async topicIds(names: readonly string[]): Promise<Map<string, Uuid>> {
    this.ensureStarted()
    const out = new Map<string, Uuid>()
    const missing: string[] = []
    for (const name of names) {
      const id = this.meta.topic(name)?.id
      if (id !== undefined) out.set(name, id)
      else missing.push(name)
    }
    if (missing.length > 0) {
      await this.meta.refresh({ names: missing })
      for (const name of missing) {
        const id = this.meta.topic(name)?.id
        if (id !== undefined) out.set(name, id)
      }
    }
    return out
  }

  /**
   * Produces records to a topic; resolves with each record's partition and offset, in the order given.
   * Partition: the record's or the call's `partition`, else murmur2 of the key as Kafka's default partitioner, else
   * (no key) one partition per call, round robin. See producer.ts for batching, retries and delivery timeout.
   */
  produce(topic: string, records: readonly ProducerRecord[], options?: ProduceOptions): Promise<RecordMetadata[]> {
    if (this.closed) return Promise.reject(new ClientClosedError())
    this.ensureStarted()
    return this.producer.produce(topic, records, options)
  }

  /**
   * Produces a record batch encoded by the caller (uncompressed, records numbered 0..count-1; prebuilt-batch.ts) as
   * one batch to `partition`, or to the next partition round robin when undefined; resolves with its base offset.
   * See Producer.produceBatch: the batch must stay unchanged until the call settles.
   */
  produceBatch(
    topic: string,
    partition: number | undefined,
    batch: Buffer,
    options?: Omit<ProduceOptions, 'partition'>,
  ): Promise<BatchMetadata> {
    if (this.closed) return Promise.reject(new ClientClosedError())
    this.ensureStarted()
    return this.producer.produceBatch(topic, partition, batch, options)
  }

  /** The topic's partition count as the client's metadata has it; undefined before anything produced to it. */
  partitionCount(topic: string): number | undefined {
    return this.producer.partitionCount(topic)
  }

  /** Sends what is queued without waiting for linger; resolves when all of it is acknowledged or failed. */
  flush(): Promise<void> {
    return this.producer.flush()
  }

  /**
   * Any request to a broker; resolves with the version used and the decoded response body. `version` 'max' is the
   * newest both sides support: the body must then carry every field of that version (the codec writes what it is
   * given and fills in no defaults), so a caller that builds bodies for one version should name it. A Produce with
   * acks=0 resolves once written, with an undefined body. No retries: the caller decides what an error means.
   */
  async send<K extends ApiKeyNumber>(
    target: SendTarget,
    apiKey: K,
    version: number | 'max',
    body: RequestByApiKey[K],
  ): Promise<{ apiVersion: number; body: ResponseByApiKey[K] }> {
    if (this.closed) throw new ClientClosedError()
    this.ensureStarted()
    const conn = await this.connectionFor(target)
    let v: number
    if (version === 'max') {
      const negotiated = conn.negotiatedVersion(apiKey)
      if (negotiated === undefined) throw new NoCommonVersionError(conn.target, `api key ${apiKey}`, 'none in common')
      v = negotiated
    } else {
      if (!conn.supports(apiKey, version))
        throw new InvalidRequestError(
          `broker ${formatHostPort(conn.target)} or the codec does not support version ${version} of api key ${apiKey}`,
        )
      v = version
    }
    if (apiKey === ApiKey.Produce && (body as RequestByApiKey[0]).acks === 0) {
      await conn.sendWithoutResponse(apiKey, v, body)
      return { apiVersion: v, body: undefined as unknown as ResponseByApiKey[K] }
    }
    return { apiVersion: v, body: await conn.request(apiKey, v, body) }
  }

  /**
   * Flushes queued records, then closes every connection. The flush is bounded by the records' delivery timeout,
   * or by `timeoutMs` when given (a sidecar draining for shutdown); records still waiting then are rejected.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closed) return
    const flushed = this.producer.close()
    try {
      await (options.timeoutMs === undefined ? flushed : Promise.race([flushed, sleep(options.timeoutMs)]))
    } finally {
      this.closed = true
      clearInterval(this.refreshTimer)
      this.producer.abort(new ClientClosedError())
      this.pool.closeAll()
    }
  }

  private ensureStarted(): void {
    if (!this.started) this.start()
  }

  private markReachable(): void {
    if (this.state.connected) return
    this.state.connected = true
    this.reportedDown = false
    this.state.connectedAt = Date.now()
    if (this.state.lastError !== undefined) this.log.info('upstream cluster reachable again (own client)')
    this.emit('health', this.health())
  }

  private markUnreachable(err: Error): void {
    this.state.lastError = err.message
    this.state.lastErrorAt = Date.now()
    if (this.closed) return
    if (!this.reportedDown) {
      this.reportedDown = true
      this.state.connected = false
      this.log.warn({ err: err.message }, 'upstream cluster unreachable (own client)')
      this.emit('health', this.health())
    }
    void this.recover()
  }

  /** While the cluster is unreachable, keeps asking for metadata, with backoff, until a broker answers. */
  private async recover(): Promise<void> {
    if (this.recovering) return
    this.recovering = true
    try {
      for (let attempt = 1; !this.state.connected && !this.closed; attempt++) {
        await sleep(this.reconnectBackoff.delay(attempt))
        if (this.state.connected || this.closed) break
        await this.meta.refreshTracked().catch(() => {})
      }
    } finally {
      this.recovering = false
    }
  }

  /** The topic's metadata, asking until it appears or maxBlockMs passes (a topic just created takes a moment). */
  private async waitForTopic(name: string): Promise<TopicView> {
    const maxBlockMs = this.options.maxBlockMs ?? 60_000
    const start = Date.now()
    const backoff = new ExponentialBackoff(50, 1_000)
    for (let attempt = 1; ; attempt++) {
      // An unreachable cluster rejects here at once (ClusterUnreachableError): no point waiting for a topic.
      await this.meta.refresh({ names: [name] })
      const view = this.meta.topic(name)
      if (view !== undefined) return view
      const code = this.meta.topicError(name)
      if (
        code !== undefined &&
        code !== KafkaError.UNKNOWN_TOPIC_OR_PARTITION &&
        code !== KafkaError.LEADER_NOT_AVAILABLE
      )
        throw new KafkaResponseError(code, `Metadata for topic ${JSON.stringify(name)}`)
      const waited = Date.now() - start
      if (waited >= maxBlockMs || this.closed) throw new UnknownTopicError(name, waited)
      await sleep(Math.min(backoff.delay(attempt), maxBlockMs - waited))
    }
  }

  private async connectionTo(nodeId: number): Promise<BrokerConnection> {
    let broker = this.meta.view.brokers.get(nodeId)
    if (broker === undefined) {
      await this.meta.refresh()
      broker = this.meta.view.brokers.get(nodeId)
      if (broker === undefined) throw new InvalidRequestError(`the cluster has no broker with node id ${nodeId}`)
    }
    return this.pool.get(broker)
  }

  private async connectionFor(target: SendTarget): Promise<BrokerConnection> {
    if (typeof target === 'number') return this.connectionTo(target)
    if (target === 'controller') {
      let id = this.meta.view.controllerId
      if (id < 0) id = (await this.meta.refresh()).controllerId
      if (id < 0) throw new InvalidRequestError('the cluster names no controller in its metadata')
      return this.connectionTo(id)
    }
    const open = this.leastLoaded()
    if (open !== undefined) return open
    let lastError: Error | undefined
    for (const node of this.candidates()) {
      try {
        return await this.pool.get(node)
      } catch (err) {
        lastError = err as Error
      }
    }
    throw new ClusterUnreachableError(lastError?.message ?? 'no broker to try', lastError)
  }

  /** The open broker connection with the fewest requests waiting (bootstrap connections only without brokers). */
  private leastLoaded(): BrokerConnection | undefined {
    const known = this.meta.view.brokers.size > 0
    let best: BrokerConnection | undefined
    for (const c of this.pool.openConnections()) {
      if (known && c.nodeId < 0) continue
      if (best === undefined || c.inFlight < best.inFlight) best = c
    }
    return best
  }

  /**
   * Nodes to try, best first: known brokers, those that have not failed lately first; then the bootstrap addresses
   * when no broker is known or every known one has failed (the cluster may have moved to new addresses).
   */
  private candidates(): NodeAddress[] {
    const brokers = [...this.meta.view.brokers.values()].map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port }))
    const next = (n: NodeAddress) => this.pool.nextAttemptAt(n.nodeId) ?? 0
    brokers.sort((a, b) => next(a) - next(b))
    const allFailed = brokers.every((b) => this.pool.failures(b.nodeId) > 0)
    const bootstrap = allFailed
      ? this.options.bootstrap.map((hp, i) => ({ nodeId: -(i + 1), host: hp.host, port: hp.port }))
      : []
    return [...brokers, ...bootstrap]
  }

  /** One Metadata request, to the least loaded connection or else the first candidate that answers. */
  private async fetchMetadata(
    selection: TopicSelection,
  ): Promise<{ response: ResponseByApiKey[3]; selection: TopicSelection }> {
    if (this.closed) throw new ClientClosedError()
    const open = this.leastLoaded()
    const nodes: (BrokerConnection | NodeAddress)[] = open === undefined ? [] : [open]
    nodes.push(...this.candidates().filter((n) => n.nodeId !== open?.nodeId))
    let lastError: Error | undefined
    for (const node of nodes) {
      let conn: BrokerConnection
      try {
        conn = 'target' in node ? node : await this.pool.get(node)
      } catch (err) {
        if (err instanceof ClientClosedError) throw err
        lastError = err as Error
        continue
      }
      const version = conn.negotiatedVersion(ApiKey.Metadata)
      if (version === undefined || version < 1) {
        lastError = new NoCommonVersionError(conn.target, 'Metadata', 'v1 or later needed')
        continue
      }
      // Looking topics up by id needs Metadata v12 (KIP-516); an older broker is asked for every topic instead.
      const effective: TopicSelection =
        selection.ids.size > 0 && version < 12 ? { all: true, names: new Set(), ids: new Set() } : selection
      try {
        const response = await conn.request(ApiKey.Metadata, version, metadataRequest(effective, version))
        this.markReachable()
        this.forgetBootstrap(response.brokers.length)
        return { response, selection: effective }
      } catch (err) {
        lastError = err as Error
      }
    }
    const error = new ClusterUnreachableError(lastError?.message ?? 'no broker to ask', lastError)
    this.markUnreachable(error)
    throw error
  }

  /** Once metadata names the brokers, connections to bootstrap addresses are not needed any more. */
  private forgetBootstrap(brokers: number): void {
    if (brokers === 0) return
    for (const id of this.pool.nodeIds())
      if (id < 0 && (this.pool.current(id)?.inFlight ?? 0) === 0) this.pool.forget(id)
  }
}

export type { ProducerOptions, SendTarget, UpstreamClientHealth, UpstreamClientOptions } from './options.js'
export type { BatchMetadata } from './produce-batch.js'
export type { ProduceOptions, ProducerRecord, RecordMetadata } from './produce-records.js'
