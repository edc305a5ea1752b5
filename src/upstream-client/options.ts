import type { HostPort } from '../config/host-port.js'
import type { Logger } from '../logger.js'
import type { UpstreamConnector } from '../server/upstream-connector.js'
import type { NodeHealth } from './connection-pool.js'
import type { Acks, CompressionName } from './produce-records.js'
import type { SaslCredentials } from './sasl.js'

/** Options, health and targets of the UpstreamClient (client.ts). */

export interface UpstreamClientOptions {
  /** Bootstrap brokers (upstream.bootstrap). */
  bootstrap: readonly HostPort[]
  /** Opens TCP or TLS connections as configured for the upstream (upstream.tls). */
  connector: UpstreamConnector
  /** The client id the brokers see (quotas, logs); keep it distinct from the applications'. */
  clientId: string
  sasl?: SaslCredentials
  /** Time a request may wait for its response before the connection is given up (Kafka's request.timeout.ms). */
  requestTimeoutMs?: number
  /** Refresh metadata at least this often (Kafka's metadata.max.age.ms). */
  metadataMaxAgeMs?: number
  /** How long produce() waits for an unknown topic to appear in metadata (Kafka's max.block.ms). */
  maxBlockMs?: number
  reconnectBackoffMs?: number
  reconnectBackoffMaxMs?: number
  /** Largest response frame accepted. */
  maxFrameBytes?: number
  producer?: Partial<ProducerOptions>
  log?: Logger
}

export interface ProducerOptions {
  /** Default acks when produce() does not say (Kafka's default: -1, all in-sync replicas). */
  acks: Acks
  compression: CompressionName
  lingerMs: number
  batchBytes: number
  maxRequestBytes: number
  deliveryTimeoutMs: number
  maxInFlightPerNode: number
  /** produce() rejects with BufferFullError when more than this many bytes wait to be acknowledged. */
  bufferBytes: number
  retryBackoffMs: number
  retryBackoffMaxMs: number
}

export interface UpstreamClientHealth {
  /** True while the cluster answers: the last attempt to reach a broker succeeded. */
  connected: boolean
  /** Why the cluster was last found unreachable (kept after recovery, with lastErrorAt, for diagnosis). */
  lastError?: string
  lastErrorAt?: number
  /** Epoch ms of the last time `connected` became true. */
  connectedAt?: number
  nodes: NodeHealth[]
}

/** Targets of send(): a broker node id, any broker (the least loaded open connection), or the controller. */
export type SendTarget = number | 'any' | 'controller'

export const DEFAULT_PRODUCER: ProducerOptions = {
  acks: -1,
  compression: 'none',
  lingerMs: 5,
  batchBytes: 16_384,
  maxRequestBytes: 1_048_576,
  deliveryTimeoutMs: 120_000,
  maxInFlightPerNode: 5,
  bufferBytes: 32 * 1024 * 1024,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1_000,
}
