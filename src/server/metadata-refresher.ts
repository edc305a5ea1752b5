import type net from 'node:net'
import type { Logger } from 'pino'
import { FrameDecoder } from '../../codec/frame-decoder.js'
import { decodeResponse, encodeRequest } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import { formatHostPort } from '../config/host-port.js'
import type { UpstreamConnector } from './upstream-connector.js'
import type { UpstreamDirectory } from './upstream-directory.js'

/**
 * The sidecar's own view of the upstream cluster, independent of client traffic: it asks a bootstrap broker
 * for Metadata (no topics: just the brokers) at start, periodically, and whenever a client connects to the
 * listener of a node not yet known (after a sidecar restart, clients may come back with cached metadata).
 * It also tells readiness: a broker reachable at the TCP/TLS level counts, even when the broker then wants
 * SASL before answering (the sidecar passes SASL through and has no credentials of its own).
 *
 * Metadata v4 is used: non-flexible and served by every Kafka from 1.0 to 4.x (KIP-896 kept Metadata v0+).
 */
const METADATA_VERSION = 4
const REQUEST_TIMEOUT_MS = 10_000

export interface UpstreamHealth {
  reachable: boolean
  /** Epoch ms of the last successful connect, if any. */
  lastReachableAt: number | undefined
  /** Why the last attempt failed, if it did. */
  lastError: string | undefined
}

export class MetadataRefresher {
  private inFlight: Promise<boolean> | undefined
  private timer: NodeJS.Timeout | undefined
  private next = 0
  readonly health: UpstreamHealth = { reachable: false, lastReachableAt: undefined, lastError: undefined }

  constructor(
    private readonly directory: UpstreamDirectory,
    private readonly connector: UpstreamConnector,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    void this.refresh()
    if (this.intervalMs > 0) {
      this.timer = setInterval(() => void this.refresh(), this.intervalMs)
      this.timer.unref()
    }
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** One refresh at a time; concurrent callers share it. Resolves true when metadata was obtained. */
  refresh(): Promise<boolean> {
    this.inFlight ??= this.tryBootstrapServers().finally(() => {
      this.inFlight = undefined
    })
    return this.inFlight
  }

  private async tryBootstrapServers(): Promise<boolean> {
    const servers = this.directory.bootstrap
    let lastError: unknown
    for (let i = 0; i < servers.length; i++) {
      const target = servers[(this.next + i) % servers.length]!
      let socket: net.Socket
      try {
        socket = await this.connector.connect(target)
      } catch (err) {
        lastError = err
        continue
      }
      this.health.reachable = true
      this.health.lastReachableAt = Date.now()
      this.health.lastError = undefined
      try {
        const body = await requestMetadata(socket)
        for (const b of body.brokers)
          this.directory.observe('broker', b.nodeId, { host: b.host, port: b.port, rack: b.rack })
        return true
      } catch (err) {
        const code = (err as { code?: unknown }).code
        if (typeof code === 'string' && code.startsWith('ERR_SSL_')) {
          // A TLS alert after connect: with TLS 1.3 the broker checks our client certificate after our side of the
          // handshake is done (RFC 8446 section 4.4.2), so a refusal arrives on the first read. Not reachable.
          lastError = this.connector.failure(target, err as Error)
          this.health.reachable = false
          continue
        }
        // Reachable but not answering us (SASL required, or an error): readiness holds, metadata comes from clients.
        this.log.debug({ broker: formatHostPort(target), err: (err as Error).message }, 'own metadata request failed')
        return false
      } finally {
        socket.destroy()
        this.next = (this.next + i + 1) % servers.length
      }
    }
    this.health.reachable = false
    this.health.lastError = (lastError as Error | undefined)?.message ?? 'no bootstrap servers configured'
    this.log.warn({ err: this.health.lastError }, 'no upstream broker reachable')
    return false
  }
}

function requestMetadata(socket: net.Socket): Promise<MetadataResponse> {
  const correlationId = 1
  const frame = encodeRequest(
    { requestApiKey: ApiKey.Metadata, requestApiVersion: METADATA_VERSION, correlationId, clientId: 'kafka-sidecar' },
    { topics: [], allowAutoTopicCreation: false },
  )
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder()
    const timer = setTimeout(
      () => reject(new Error(`no Metadata response within ${REQUEST_TIMEOUT_MS} ms`)),
      REQUEST_TIMEOUT_MS,
    )
    const done = (err: Error | undefined, body?: MetadataResponse) => {
      clearTimeout(timer)
      socket.removeAllListeners('data')
      if (err) reject(err)
      else resolve(body!)
    }
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk, (f) =>
          done(undefined, decodeResponse(f, ApiKey.Metadata, METADATA_VERSION, 4).body as MetadataResponse),
        )
      } catch (err) {
        done(err as Error)
      }
    })
    socket.once('close', () => done(new Error('broker closed the connection before answering (SASL required?)')))
    socket.once('error', (err) => done(err))
    socket.write(frame)
  })
}
