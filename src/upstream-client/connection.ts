import type net from 'node:net'
import { FrameDecoder } from '../../codec/frame-decoder.js'
import { peekResponseCorrelationId } from '../../codec/header.js'
import { type ApiKeyNumber, decodeResponse, encodeRequest, encodeRequestPieces } from '../../codec/messages/frames.js'
import type { ApiVersionsResponse } from '../../codec/messages/generated/api-versions-response.js'
import {
  API_DEFINITIONS,
  ApiKey,
  type RequestByApiKey,
  type ResponseByApiKey,
} from '../../codec/messages/generated/apis.js'
import { formatHostPort, type HostPort } from '../config/host-port.js'
import type { Logger } from '../logger.js'
import type { UpstreamConnector } from '../server/upstream-connector.js'
import {
  ConnectionClosedError,
  KafkaResponseError,
  NoCommonVersionError,
  RequestTimeoutError,
  UpstreamProtocolError,
} from './errors.js'
import { authenticate, type SaslCredentials } from './sasl.js'

/**
 * One connection of the sidecar's own client to one broker (https://kafka.apache.org/protocol#protocol_network):
 * requests are pipelined and the broker answers them in the order they were sent, each response carrying the
 * request's correlation id. open() connects through the UpstreamConnector (plain or the configured upstream TLS),
 * asks ApiVersions, and authenticates with SASL when credentials are given; only then is the connection handed out.
 *
 * A request that gets no answer within the request timeout closes the connection with every request on it, as the
 * Java client does (NetworkClient.handleTimedOutRequests): later responses cannot overtake the missing one.
 */

export interface BrokerConnectionOptions {
  connector: UpstreamConnector
  target: HostPort
  /** The broker's node id, or a negative id for a bootstrap address (as the Java client numbers them). */
  nodeId: number
  clientId: string
  requestTimeoutMs: number
  sasl?: SaslCredentials | undefined
  /** Largest response accepted (default 100 MiB, Kafka's socket.request.max.bytes). */
  maxFrameBytes?: number
  /** ApiVersions v3+ client software version (KIP-511). */
  softwareVersion: string
  log: Logger
  /** Called once when the connection ends: undefined after close(), else the error that ended it. */
  onClose?: (conn: BrokerConnection, err: Error | undefined) => void
}

interface Pending {
  apiKey: number
  apiVersion: number
  resolve: (body: unknown) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

/** KIP-511: software name and version must match this, or the broker rejects ApiVersions v3+ with INVALID_REQUEST. */
const SOFTWARE_TOKEN = /^[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?$/
const SOFTWARE_NAME = 'kafka-sidecar'
/** Kafka error code UNSUPPORTED_VERSION (Errors.java). */
const UNSUPPORTED_VERSION = 35

/**
 * The version a response body is written in. A broker that does not support the ApiVersions version asked for
 * answers UNSUPPORTED_VERSION in a v0 body whatever that version was (KIP-511; Kafka's ApiVersionsResponse.parse
 * falls back to v0), so its error code, the first field after the v0 response header, is read first.
 */
function responseVersion(frame: Buffer, apiKey: number, requested: number): number {
  if (apiKey !== ApiKey.ApiVersions || frame.length < 10) return requested
  return frame.readInt16BE(8) === UNSUPPORTED_VERSION ? 0 : requested
}
/** Correlation ids are int32; wrap before overflow (ids only need to be unique among requests in flight). */
const MAX_CORRELATION_ID = 0x7fffffff

export interface SendOptions {
  /** Write large bytes values (records) from where they lie instead of copying them into the frame (see request). */
  readonly referenceRecords?: boolean
}

/**
 * Bytes values this large are written from where they lie with `referenceRecords`: a copy of a Produce request's
 * batches into one new frame is a large fresh allocation per request, every page of it faulted in as it is written;
 * below this size a copy costs less than the extra piece of the write.
 */
const REFERENCE_FROM = 1024

export class BrokerConnection {
  readonly target: HostPort
  readonly nodeId: number
  /** Epoch ms after which the SASL session expires (KIP-368) and the connection should be replaced; or Infinity. */
  sessionExpiresAt = Number.POSITIVE_INFINITY
  private readonly socket: net.Socket
  private readonly options: BrokerConnectionOptions
  private readonly decoder: FrameDecoder
  private readonly pending = new Map<number, Pending>()
  private brokerVersions = new Map<number, { minVersion: number; maxVersion: number }>()
  private nextCorrelationId = 0
  private closedWith: Error | null | undefined
  /** KIP-219: after a response with throttle_time_ms > 0 the client holds its requests until the throttle ends. */
  private throttledUntil = 0
  private held: { frame: Buffer[]; written?: (err?: Error | null) => void }[] = []
  private heldTimer: NodeJS.Timeout | undefined

  private constructor(socket: net.Socket, options: BrokerConnectionOptions) {
    this.socket = socket
    this.options = options
    this.target = options.target
    this.nodeId = options.nodeId
    this.decoder = new FrameDecoder(options.maxFrameBytes)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', (err: Error & { code?: string }) => {
      const why = err.code?.startsWith('ERR_SSL_') ? options.connector.failure(this.target, err) : err
      this.fail(new ConnectionClosedError(this.target, why.message, why))
    })
    socket.on('close', () => this.fail(new ConnectionClosedError(this.target, 'the broker closed the connection')))
  }

  /** Connects, negotiates versions, authenticates. Rejects with the reason; nothing is left open on failure. */
  static async open(options: BrokerConnectionOptions): Promise<BrokerConnection> {
    const socket = await options.connector.connect(options.target)
    const conn = new BrokerConnection(socket, options)
    try {
      await conn.negotiateVersions()
      if (options.sasl !== undefined) {
        const session = await authenticate(
          {
            target: conn.target,
            negotiatedVersion: (key) => conn.negotiatedVersion(key),
            request: (key, version, body) => conn.sendRaw(key, version, body, true),
          },
          options.sasl,
        )
        // Replace the connection before the broker ends the session; the Java client re-authenticates at a
        // random 85-95% of the lifetime (SaslClientAuthenticator); starting the replacement at 85% is enough here.
        if (session.sessionLifetimeMs > 0) conn.sessionExpiresAt = Date.now() + session.sessionLifetimeMs * 0.85
      }
    } catch (err) {
      conn.close(err as Error)
      throw err
    }
    return conn
  }

  get closed(): boolean {
    return this.closedWith !== undefined
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size
  }

  /**
   * The highest version of an API that both the broker (its ApiVersions answer) and the codec support, or
   * undefined when there is none (or the broker does not offer the API).
   */
  negotiatedVersion(apiKey: number): number | undefined {
    const ours = API_DEFINITIONS[apiKey]?.request
    const theirs = this.brokerVersions.get(apiKey)
    if (ours === undefined || theirs === undefined) return undefined
    const lo = Math.max(ours.minVersion, theirs.minVersion)
    const hi = Math.min(ours.maxVersion, theirs.maxVersion)
    return hi >= lo ? hi : undefined
  }

  /** True when both the broker and the codec support this version of the API. */
  supports(apiKey: number, version: number): boolean {
    const ours = API_DEFINITIONS[apiKey]?.request
    const theirs = this.brokerVersions.get(apiKey)
    if (ours === undefined || theirs === undefined) return false
    return (
      version >= Math.max(ours.minVersion, theirs.minVersion) && version <= Math.min(ours.maxVersion, theirs.maxVersion)
    )
  }

  /**
   * Sends a request and resolves with the decoded response body. `options.referenceRecords`: records (and other
   * bytes values of REFERENCE_FROM bytes or more) are written from where they are instead of copied into the frame;
   * only for a caller that owns them and keeps them unchanged until the request settles (the producer's batches),
   * since the socket may read them after this returns.
   */
  request<K extends ApiKeyNumber>(
    apiKey: K,
    version: number,
    body: RequestByApiKey[K],
    options: SendOptions = {},
  ): Promise<ResponseByApiKey[K]> {
    return this.sendRaw(apiKey, version, body, true, options) as Promise<ResponseByApiKey[K]>
  }

  /**
   * Sends a request the broker does not answer (Produce with acks=0); resolves once the bytes are handed to the
   * socket (written, with `referenceRecords`). Options as request's.
   */
  sendWithoutResponse<K extends ApiKeyNumber>(
    apiKey: K,
    version: number,
    body: RequestByApiKey[K],
    options: SendOptions = {},
  ): Promise<void> {
    return this.sendRaw(apiKey, version, body, false, options) as Promise<void>
  }

  /** Ends the connection; requests still waiting are rejected (with `err` as the cause, when given). */
  close(err?: Error): void {
    if (this.closedWith !== undefined) return
    this.closedWith = err ?? null
    clearTimeout(this.heldTimer)
    const reason =
      err === undefined
        ? new ConnectionClosedError(this.target, 'closed by the client')
        : err instanceof ConnectionClosedError
          ? err
          : new ConnectionClosedError(this.target, err.message, err)
    for (const p of this.pending.values()) {
      clearTimeout(p.timer)
      p.reject(reason)
    }
    this.pending.clear()
    for (const h of this.held) h.written?.(reason)
    this.held = []
    // end() lets bytes already written (an acks=0 produce) reach the broker; destroy() when failing.
    if (err === undefined) this.socket.end()
    else this.socket.destroy()
    this.options.onClose?.(this, err)
  }

  private fail(err: Error): void {
    if (this.closedWith !== undefined) return
    this.options.log.debug(
      { broker: formatHostPort(this.target), node: this.nodeId, err: err.message },
      'upstream connection failed',
    )
    this.close(err)
  }

  private sendRaw(
    apiKey: number,
    version: number,
    body: unknown,
    expectResponse: boolean,
    options: SendOptions = {},
  ): Promise<unknown> {
    if (this.closedWith instanceof ConnectionClosedError) return Promise.reject(this.closedWith)
    if (this.closedWith !== undefined) {
      const why = this.closedWith === null ? 'closed by the client' : this.closedWith.message
      return Promise.reject(new ConnectionClosedError(this.target, why, this.closedWith ?? undefined))
    }
    const correlationId = this.nextCorrelationId
    this.nextCorrelationId = correlationId === MAX_CORRELATION_ID ? 0 : correlationId + 1
    let frame: Buffer[]
    try {
      const header = {
        requestApiKey: apiKey,
        requestApiVersion: version,
        correlationId,
        clientId: this.options.clientId,
      }
      frame = options.referenceRecords
        ? encodeRequestPieces(header, body, REFERENCE_FROM)
        : [encodeRequest(header, body)]
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise((resolve, reject) => {
      if (!expectResponse) {
        this.write(frame, (err) => (err ? reject(err) : resolve(undefined)))
        return
      }
      const timeoutMs = this.options.requestTimeoutMs
      const timer = setTimeout(() => {
        const name = API_DEFINITIONS[apiKey]?.name ?? `api ${apiKey}`
        const err = new RequestTimeoutError(this.target, `${name} v${version}`, timeoutMs)
        this.pending.delete(correlationId)
        reject(err)
        this.fail(err)
      }, timeoutMs)
      timer.unref()
      this.pending.set(correlationId, { apiKey, apiVersion: version, resolve, reject, timer })
      this.write(frame)
    })
  }

  private write(frame: Buffer[], written?: (err?: Error | null) => void): void {
    if (this.held.length > 0 || Date.now() < this.throttledUntil) {
      this.held.push({ frame, ...(written && { written }) })
      if (this.heldTimer === undefined) {
        this.heldTimer = setTimeout(() => this.releaseHeld(), Math.max(0, this.throttledUntil - Date.now()))
        this.heldTimer.unref()
      }
      return
    }
    this.writeFrame(frame, written)
  }

  /** A frame of one piece, or of several written together (corked: one writev), `written` called after the last. */
  private writeFrame(frame: Buffer[], written?: (err?: Error | null) => void): void {
    if (frame.length === 1) {
      this.socket.write(frame[0]!, written)
      return
    }
    this.socket.cork()
    const last = frame.length - 1
    for (let i = 0; i < last; i++) this.socket.write(frame[i]!)
    this.socket.write(frame[last]!, written)
    this.socket.uncork()
  }

  private releaseHeld(): void {
    this.heldTimer = undefined
    const wait = this.throttledUntil - Date.now()
    if (wait > 0) {
      this.heldTimer = setTimeout(() => this.releaseHeld(), wait)
      this.heldTimer.unref()
      return
    }
    const held = this.held
    this.held = []
    this.socket.cork()
    for (const h of held) this.writeFrame(h.frame, h.written)
    this.socket.uncork()
  }

  private onData(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, (frame) => this.onFrame(frame))
    } catch (err) {
      this.fail(new UpstreamProtocolError(this.target, `an invalid frame (${(err as Error).message})`, err))
    }
  }

  private onFrame(frame: Buffer): void {
    if (this.closedWith !== undefined) return
    const correlationId = peekResponseCorrelationId(frame, 4)
    const p = this.pending.get(correlationId)
    if (p === undefined) throw new Error(`a response with correlation id ${correlationId}, which no request has`)
    this.pending.delete(correlationId)
    clearTimeout(p.timer)
    let body: { throttleTimeMs?: number }
    try {
      body = decodeResponse(frame, p.apiKey, responseVersion(frame, p.apiKey, p.apiVersion), 4).body as {
        throttleTimeMs?: number
      }
    } catch (err) {
      const name = API_DEFINITIONS[p.apiKey]?.name ?? `api ${p.apiKey}`
      const error = new UpstreamProtocolError(
        this.target,
        `a ${name} v${p.apiVersion} response that does not decode`,
        err,
      )
      p.reject(error)
      this.fail(error)
      return
    }
    const throttle = body.throttleTimeMs
    if (throttle !== undefined && throttle > 0)
      this.throttledUntil = Math.max(this.throttledUntil, Date.now() + throttle)
    p.resolve(body)
  }

  /**
   * ApiVersions with the newest version the codec knows. A broker that does not know it answers UNSUPPORTED_VERSION
   * with its own ApiVersions range in a v0 body (KIP-511), and the request is repeated at the highest common one.
   */
  private async negotiateVersions(): Promise<void> {
    const ours = API_DEFINITIONS[ApiKey.ApiVersions]!.request
    let version = ours.maxVersion
    const name = SOFTWARE_NAME
    const softwareVersion = SOFTWARE_TOKEN.test(this.options.softwareVersion) ? this.options.softwareVersion : 'unknown'
    for (;;) {
      // v5 may name the cluster and node the client means to reach; null and -1 say "not known" (the defaults).
      const body =
        version >= 3
          ? { clientSoftwareName: name, clientSoftwareVersion: softwareVersion, clusterId: null, nodeId: -1 }
          : {}
      const res = (await this.sendRaw(ApiKey.ApiVersions, version, body, true)) as ApiVersionsResponse
      if (res.errorCode === UNSUPPORTED_VERSION) {
        const theirs = res.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions)
        const next = theirs === undefined ? -1 : Math.min(theirs.maxVersion, ours.maxVersion)
        if (next >= version || next < ours.minVersion)
          throw new NoCommonVersionError(
            this.target,
            'ApiVersions',
            `broker ${theirs ? `${theirs.minVersion}-${theirs.maxVersion}` : 'none'}, codec ${ours.minVersion}-${ours.maxVersion}`,
          )
        version = next
        continue
      }
      if (res.errorCode !== 0)
        throw new KafkaResponseError(res.errorCode, `ApiVersions v${version} from ${formatHostPort(this.target)}`)
      this.brokerVersions = new Map(
        res.apiKeys.map((k) => [k.apiKey, { minVersion: k.minVersion, maxVersion: k.maxVersion }]),
      )
      return
    }
  }
}
