import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import tls from 'node:tls'
import type { Logger } from 'pino'
import type { CreateTopicsRequest } from '../../codec/messages/generated/create-topics-request.js'
import type { CreateTopicsResponse } from '../../codec/messages/generated/create-topics-response.js'
import { parseHostPort } from '../../src/config/host-port.js'
import {
  ApiKey,
  defaultRequest,
  ErrorCode,
  kafkaErrorName,
  type OwnRecord,
  type UpstreamClientService,
} from '../../src/pipeline/filter-api.js'
import { UpstreamConnector } from '../../src/server/upstream-connector.js'
import { UpstreamClient } from '../../src/upstream-client/index.js'
// The sidecar's own client (src/server/own-upstream-client.ts) takes the producer defaults.
import { DEFAULT_PRODUCER } from '../../src/upstream-client/options.js'
import type { ClusterSpec, CompressionName } from './config.js'

/**
 * Where tapped records go: the upstream cluster through the sidecar's own client (the setup service `upstream`),
 * or another cluster through a client of the tap's own (src/upstream-client, with that cluster's bootstrap, TLS and
 * SASL). Both are the sidecar's own Kafka client: README "Filters" says why not kafkajs (measured with
 * bench/upstream-client.ts). Either reconnects by itself with backoff; a destination logs once when it starts
 * failing and once when it delivers again, and says how it is in health() (the filter's /readyz detail).
 */

export interface ProduceSettings {
  readonly acks: 0 | 1 | -1
  readonly compression: CompressionName
}

export interface DestinationHealth {
  readonly name: string
  readonly delivering: boolean
  readonly connected: boolean
  readonly lastError?: string
  readonly failingSince?: string
}

/** What a destination needs to produce: the upstream client's produce, or one of the tap's own clients. */
export interface Producer {
  produce(topic: string, records: readonly OwnRecord[], settings: ProduceSettings): Promise<unknown>
  /**
   * A tap batch encoded by the tap (tap-batch.ts), to `partition` or round robin; undefined where the client has no
   * such entry point (the tap then decodes and produces records).
   */
  readonly produceBatch:
    | ((topic: string, partition: number | undefined, batch: Buffer, settings: ProduceSettings) => Promise<unknown>)
    | undefined
  /** The topic's partition count as the client knows it (undefined before anything was produced to it). */
  partitionCount(topic: string): number | undefined
  /** A CreateTopics request to any broker (KRaft brokers forward it to the controller, KIP-590). */
  createTopics(body: CreateTopicsRequest): Promise<CreateTopicsResponse>
  health(): { readonly connected: boolean; readonly lastError?: string }
  close(): Promise<void>
}

export class TapDestinationError extends Error {
  readonly code = 'KSC_ERR_TAP_DESTINATION'
}

/**
 * CreateTopics v5: numPartitions and replicationFactor -1 take the cluster's defaults (KIP-464, v4+); every
 * KRaft broker takes it (Kafka 4 supports v2-7).
 */
const CREATE_TOPICS_VERSION = 5
/** TOPIC_ALREADY_EXISTS: another sidecar (or an operator) created it first, which is as good. */
const TOPIC_ALREADY_EXISTS = ErrorCode.TOPIC_ALREADY_EXISTS

export class Destination {
  private failingSince: number | undefined
  private lastFailure: string | undefined
  /** Topics created (or found to exist) by createTopic, and creations under way. */
  private readonly ensured = new Map<string, Promise<void>>()

  constructor(
    readonly name: string,
    private readonly producer: Producer,
    private readonly log: Logger,
    /** The spec it was built from (undefined: the upstream cluster); a reload keeps a destination whose spec is unchanged. */
    readonly spec: ClusterSpec | undefined,
  ) {}

  /** The producer's batch size (per partition and request). */
  get batchBytes(): number {
    return this.spec === undefined ? DEFAULT_PRODUCER.batchBytes : TAP_BATCH_BYTES
  }

  /** The longest a record handed to its producer may stay there (the producer's delivery timeout). */
  get deliveryTimeoutMs(): number {
    return this.spec?.deliveryTimeoutMs ?? DEFAULT_PRODUCER.deliveryTimeoutMs
  }

  produce(topic: string, records: readonly OwnRecord[], settings: ProduceSettings): Promise<unknown> {
    return this.producer.produce(topic, records, settings).then(
      (r) => {
        this.delivered()
        return r
      },
      (err: unknown) => {
        this.failed(err)
        throw err
      },
    )
  }

  /** Whether tap batches can be produced as built (produceBatch), and the topic's partitions if so. */
  batchPartitions(topic: string): number | undefined {
    return this.producer.produceBatch === undefined ? undefined : this.producer.partitionCount(topic)
  }

  /** A tap batch (see batchPartitions), which must stay unchanged until this settles. */
  produceBatch(
    topic: string,
    partition: number | undefined,
    batch: Buffer,
    settings: ProduceSettings,
  ): Promise<unknown> {
    const produceBatch = this.producer.produceBatch
    if (produceBatch === undefined) return Promise.reject(new TapDestinationError(`${this.name} takes no tap batches`))
    return produceBatch(topic, partition, batch, settings).then(
      (r) => {
        this.delivered()
        return r
      },
      (err: unknown) => {
        this.failed(err)
        throw err
      },
    )
  }

  /** Creates the topic unless it exists; once per topic while that succeeds (a failure is tried again next time). */
  ensureTopic(
    topic: string,
    layout: { readonly partitions: number; readonly replicationFactor: number },
  ): Promise<void> {
    let p = this.ensured.get(topic)
    if (p === undefined) {
      const body = defaultRequest(ApiKey.CreateTopics, CREATE_TOPICS_VERSION, {
        topics: [{ name: topic, numPartitions: layout.partitions, replicationFactor: layout.replicationFactor }],
        timeoutMs: 30_000,
      })
      p = this.producer.createTopics(body).then((res) => {
        const result = res.topics.find((t) => t.name === topic)
        const code = result?.errorCode ?? 0
        if (code === 0) this.log.info({ destination: this.name, topic }, `tap topic ${topic} created`)
        else if (code !== TOPIC_ALREADY_EXISTS) {
          throw new TapDestinationError(
            `cannot create tap topic ${topic} on ${this.name}: ${kafkaErrorName(code)}${result?.errorMessage ? ` (${result.errorMessage})` : ''}`,
          )
        }
      })
      this.ensured.set(topic, p)
      p.catch((err: unknown) => {
        this.ensured.delete(topic)
        this.failed(err)
      })
    }
    return p
  }

  private delivered(): void {
    if (this.failingSince === undefined) return
    const downMs = Date.now() - this.failingSince
    this.failingSince = undefined
    this.log.info({ destination: this.name, downMs }, `tap destination ${this.name} delivers again`)
  }

  private failed(err: unknown): void {
    this.lastFailure = (err as Error)?.message ?? String(err)
    if (this.failingSince !== undefined) return
    this.failingSince = Date.now()
    this.log.warn(
      { destination: this.name, err: this.lastFailure, code: (err as { code?: string })?.code },
      `tap destination ${this.name} fails; tapped records are counted as failed or dropped (never held up the clients) until it delivers again`,
    )
  }

  health(): DestinationHealth {
    const h = this.producer.health()
    const lastError = this.lastFailure ?? h.lastError
    return {
      name: this.name,
      delivering: this.failingSince === undefined,
      connected: h.connected,
      ...(lastError !== undefined && { lastError }),
      ...(this.failingSince !== undefined && { failingSince: new Date(this.failingSince).toISOString() }),
    }
  }

  close(): Promise<void> {
    return this.producer.close()
  }
}

/** The upstream cluster: the sidecar's own client, shared with other filters (not closed by the tap). */
export function upstreamProducer(upstream: UpstreamClientService | undefined): Producer {
  return {
    produce: (topic, records, s) =>
      upstream === undefined
        ? Promise.reject(new TapDestinationError('this sidecar has no upstream client for the tap to produce with'))
        : upstream.produce(topic, records, { acks: s.acks, compression: s.compression }),
    produceBatch:
      upstream?.produceRecordBatch === undefined
        ? undefined
        : (topic, partition, batch, s) =>
            upstream.produceRecordBatch!(topic, partition, batch, { acks: s.acks, compression: s.compression }),
    partitionCount: (topic) => upstream?.partitionCount?.(topic),
    createTopics: async (body) => {
      if (upstream === undefined) throw new TapDestinationError('this sidecar has no upstream client for the tap')
      return (await upstream.send('any', ApiKey.CreateTopics, CREATE_TOPICS_VERSION, body)).body as CreateTopicsResponse
    },
    health: () => upstream?.health() ?? { connected: false, lastError: 'no upstream client' },
    close: async () => {},
  }
}

const TAP_BATCH_BYTES = 256 * 1024
/** How long close() waits for records still queued to go out before it drops them. */
const CLOSE_FLUSH_MS = 5_000

/** Another cluster: a client of the tap's own, with that cluster's bootstrap, TLS and SASL settings. */
export function clusterProducer(name: string, spec: ClusterSpec, configDir: string, log: Logger): Producer {
  const bootstrap = spec.bootstrap.map((s) => {
    const hp = parseHostPort(s)
    if ('error' in hp) throw new TapDestinationError(`clusters.${name}.bootstrap: "${s}" ${hp.error}`)
    return hp
  })
  const file = (path: string): Buffer => readFileSync(isAbsolute(path) ? path : resolve(configDir, path))
  let connectorTls: ConstructorParameters<typeof UpstreamConnector>[1]
  if (spec.tls !== undefined) {
    const t = spec.tls
    const context = tls.createSecureContext({
      ...(t.ca !== undefined && { ca: file(t.ca) }),
      ...(t.cert !== undefined && { cert: file(t.cert) }),
      ...(t.key !== undefined && { key: file(t.key) }),
    })
    connectorTls = {
      secureContext: () => context,
      ...(t.servername !== undefined && { servername: t.servername }),
      verifyHostname: t.verifyHostname,
      insecureSkipVerify: t.insecureSkipVerify,
      caFile: t.ca,
      certFile: t.cert,
    }
  }
  let sasl: ConstructorParameters<typeof UpstreamClient>[0]['sasl']
  if (spec.sasl !== undefined) {
    const s = spec.sasl
    // A trailing newline is what editors and `kubectl create secret --from-file` leave; it is not the password's.
    const password =
      s.password ??
      file(s.passwordFile!)
        .toString('utf8')
        .replace(/\r?\n$/, '')
    sasl = { mechanism: s.mechanism, username: s.username, password }
  }
  const client = new UpstreamClient({
    bootstrap,
    connector: new UpstreamConnector(spec.connectTimeoutMs, connectorTls),
    clientId: spec.clientId,
    ...(sasl !== undefined && { sasl }),
    requestTimeoutMs: spec.requestTimeoutMs,
    reconnectBackoffMaxMs: 5_000,
    // Larger batches than a producer's usual 16 KiB: a tap topic often has few partitions, and a Produce request
    // carries one batch per partition, so the batch size bounds what each request takes.
    producer: { deliveryTimeoutMs: spec.deliveryTimeoutMs, batchBytes: TAP_BATCH_BYTES },
    log: log.child({ component: `tap-cluster-${name}` }),
  })
  client.start()
  return {
    produce: (topic, records, s) => client.produce(topic, records, { acks: s.acks, compression: s.compression }),
    produceBatch: (topic, partition, batch, s) =>
      client.produceBatch(topic, partition, batch, { acks: s.acks, compression: s.compression }),
    partitionCount: (topic) => client.partitionCount(topic),
    createTopics: async (body) => (await client.send('any', ApiKey.CreateTopics, CREATE_TOPICS_VERSION, body)).body,
    health: () => client.health(),
    close: () => client.close({ timeoutMs: CLOSE_FLUSH_MS }),
  }
}
