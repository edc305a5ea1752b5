import net from 'node:net'
import tls from 'node:tls'
import type { Logger } from 'pino'
import { API_DEFINITIONS } from '../../codec/messages/generated/apis.js'
import { formatHostPort } from '../config/host-port.js'
import type { ListenTlsConfig } from '../config/tls-sections.js'
import type { SidecarError } from '../errors.js'
import { tlsAlertCode } from '../tls/alert-codes.js'
import {
  ClientCertificateExpiredError,
  ClientCertificateNotYetValidError,
  ClientCertificateRejectedError,
  NoClientCertificateError,
  NoPrincipalError,
  PlaintextOnTlsListenerError,
  TlsHandshakeError,
  TlsHandshakeEvictedError,
  TlsHandshakeRateError,
  TlsHandshakesFullError,
  TlsHandshakeTimeoutError,
  UnknownClientCaError,
} from '../tls/errors.js'
import { certificateIdentity, describeName, PrincipalMapper } from '../tls/principal.js'
import type { ConnectionRefusals } from './connection-refusals.js'
import type { AcceptedClient, ServerFactory } from './listeners.js'
import { HANDSHAKE_EVICT_AFTER_MS, HandshakeGate } from './tls-handshake-gate.js'

/**
 * TLS termination for the client-facing listeners (listen.tls): a ServerFactory whose servers hand a socket to the
 * sidecar only after the handshake and the client-certificate checks have passed, together with the principal
 * taken from the certificate (principal.ts).
 *
 * Each listener is a plain net.Server in front of a tls.Server that never listens (the "engine"): the front server
 * reads the first bytes of every connection, so a plaintext client is told apart from a TLS one at once (a Kafka
 * request starts with a 4-byte size, 0x00..., a TLS connection with a handshake record, 0x16: RFC 8446 section 5.1),
 * then gives the socket with those bytes put back to the engine. Node's TLSSocket feeds data already buffered on a
 * wrapped socket into the TLS layer (lib/_tls_wrap.js initRead), and from then on TLS runs on the native handle.
 * The engine keeps what tls.Server does well: handshake timeout, client verification, setSecureContext for rotation.
 *
 * Every rejection is reported (counted by the ConnectionObserver, the first of each kind logged) with its own code:
 * no certificate, unknown CA, expired, not yet valid, other verification failures, plaintext, timeout, handshake.
 *
 * Handshakes themselves are bounded by a HandshakeGate shared by all listeners (tls-handshake-gate.ts): how many may
 * be in progress (listen.tls.maxPendingHandshakes) and how many start a second (listen.tls.maxHandshakesPerSecond).
 * Connections it turns away are refusals (kafka_sidecar_connections_refused_total{reason}): tls_handshakes_full,
 * tls_handshake_evicted, tls_handshake_rate. While the gate's queue is full (a flood), the front servers close new
 * connections as they are accepted, before Node makes a socket of them (net.Server maxConnections; lib/net.js
 * onconnection closes the handle and emits 'drop'): each would be refused for the rate once its ClientHello was in,
 * and reading it first costs a socket, a timer and the refusal's garbage on the thread that moves established
 * clients' records, for each of hundreds a second. They are counted as tls_handshake_rate all the same.
 */

/** TLS record content type 22, handshake (RFC 8446 section 5.1, RFC 5246 section 6.2.1). */
const TLS_HANDSHAKE_RECORD = 0x16
/** The largest fragment a TLS record may carry (TLSCiphertext, RFC 5246 section 6.2.3). */
const MAX_TLS_RECORD_FRAGMENT = 2 ** 14 + 2048

/**
 * The certificate material new connections get (listen.tls, read and watched by ReloadingTlsMaterial), as options
 * for tls.createSecureContext: where the TLS listeners run on a thread of their own (tls-thread.ts), they reach it
 * by message.
 */
export interface SecureContextSource {
  readonly contextOptions: tls.SecureContextOptions
  /** Calls `listener` with the new options each time the files are rotated. */
  onChange(listener: (options: tls.SecureContextOptions) => void): void
}

export interface TlsTerminationOptions {
  readonly config: ListenTlsConfig
  readonly contexts: SecureContextSource
  readonly log: Logger
  /** The sidecar's error path: counts (ConnectionObserver.error) and logs once per cause. */
  readonly report: (err: SidecarError) => void
  /** Where connections the handshake gate turns away are counted and logged. */
  readonly refusals: Pick<ConnectionRefusals, 'refuse' | 'closedAtAccept'>
}

export class TlsTermination {
  private readonly mapper: PrincipalMapper
  private readonly engines = new Set<tls.Server>()
  /** The listening front servers, whose accepts the gate's saturation turns into closes. */
  private readonly fronts = new Set<net.Server>()
  /** Peer address by raw socket, read at accept: Node no longer knows it once a rejected TLS socket is destroyed. */
  private readonly peers = new WeakMap<net.Socket, string>()
  private readonly gate: HandshakeGate
  /** Raw sockets the gate closed mid-handshake: counted as refusals already, not again as handshake failures. */
  private readonly refused = new WeakSet<net.Socket>()

  constructor(private readonly options: TlsTerminationOptions) {
    const c = options.config
    this.mapper = new PrincipalMapper(c.principal)
    this.gate = new HandshakeGate({
      maxPerSecond: c.maxHandshakesPerSecond,
      maxPending: c.maxPendingHandshakes,
      evictAfterMs: HANDSHAKE_EVICT_AFTER_MS,
    })
    this.gate.onSaturation((saturated) => {
      for (const front of this.fronts) closeAtAccept(front, saturated)
    })
    // New connections get the new material; established ones keep the context they were made with.
    options.contexts.onChange((contextOptions) => {
      for (const engine of this.engines) engine.setSecureContext(contextOptions)
    })
  }

  close(): void {
    this.gate.close()
  }

  /** Connections whose handshake has not finished, by phase (sniffing, queued, handshaking). */
  pendingHandshakes(): ReturnType<HandshakeGate['counts']> {
    return this.gate.counts()
  }

  readonly serverFactory: ServerFactory = (onSocket) => {
    const c = this.options.config
    const engine = tls.createServer({
      ...this.options.contexts.contextOptions,
      requestCert: c.ca !== undefined,
      // Required: OpenSSL itself refuses a client without a certificate, with an alert the client can show
      // ("certificate required"). A certificate that does not verify passes the handshake and is refused by Node
      // right after it (lib/_tls_wrap.js onServerSocketSecure), which surfaces as tlsClientError with the
      // socket's authorizationError set. Optional: both checks are made in secured().
      rejectUnauthorized: c.requireClientCert,
      handshakeTimeout: c.handshakeTimeoutMs,
    })
    engine.on('secureConnection', (socket: tls.TLSSocket) => this.secured(socket, onSocket))
    engine.on('tlsClientError', (err, socket) => this.failed(err, socket))
    this.engines.add(engine)
    const front = net.createServer({ noDelay: true }, (raw) => this.sniff(raw, engine))
    front.on('drop', (dropped) => this.droppedAtAccept(dropped))
    front.on('close', () => {
      this.engines.delete(engine)
      this.fronts.delete(front)
    })
    this.fronts.add(front)
    closeAtAccept(front, this.gate.isSaturated())
    return front
  }

  /** A connection the front server closed as it was accepted, the gate being saturated. */
  private droppedAtAccept(dropped: net.DropArgument | undefined): void {
    const peer = formatHostPort({ host: dropped?.remoteAddress ?? '?', port: dropped?.remotePort ?? 0 })
    const err = new TlsHandshakeRateError(peer, this.options.config.maxHandshakesPerSecond)
    this.options.refusals.closedAtAccept('tls_handshake_rate', err, this.options.log, 'tls handshakes')
  }

  /**
   * A new connection: admitted by the gate (or refused, or admitted in place of a stalled one), then its first bytes
   * are read: anything but TLS is refused at once; a TLS connection's first record (its ClientHello) is read whole
   * and then goes on to the engine when the gate gives it its turn. listen.tls.handshakeTimeoutMs runs from accept
   * until the engine takes over (which then times the rest of the handshake).
   */
  private sniff(raw: net.Socket, engine: tls.Server): void {
    const peer = formatHostPort({ host: raw.remoteAddress ?? '?', port: raw.remotePort ?? 0 })
    this.peers.set(raw, peer)
    if (!this.admit(raw)) return
    const { handshakeTimeoutMs: timeoutMs, maxHandshakesPerSecond } = this.options.config
    // Closed at any point (by the client, a refusal, an eviction, the engine): no longer pending, no timer left.
    raw.once('close', () => {
      clearTimeout(timer)
      this.gate.done(raw)
    })
    const cleanup = (): void => {
      clearTimeout(timer)
      raw.off('readable', onReadable)
      raw.off('end', onGone)
      raw.off('error', onGone)
    }
    const timer = setTimeout(() => {
      cleanup()
      if (raw.destroyed) return
      if (this.gate.phaseOf(raw) === 'queued') {
        this.gate.done(raw)
        this.refuse(raw, 'tls_handshake_rate', new TlsHandshakeRateError(peer, maxHandshakesPerSecond))
        return
      }
      this.options.report(new TlsHandshakeTimeoutError(peer, timeoutMs))
      raw.destroy()
    }, timeoutMs)
    // Connected and gone without a byte (a TCP health probe, a port scan): nothing to report.
    const onGone = (): void => {
      cleanup()
      raw.destroy()
    }
    let head: Buffer | undefined
    const onReadable = (): void => {
      const chunk = raw.read() as Buffer | null
      if (chunk === null) return
      if (head === undefined && chunk[0] !== TLS_HANDSHAKE_RECORD) {
        cleanup()
        this.options.report(new PlaintextOnTlsListenerError(peer, looksLikeKafkaRequest(chunk), chunk))
        raw.destroy()
        return
      }
      head = head === undefined ? chunk : Buffer.concat([head, chunk])
      // Until the first record (the ClientHello) is whole, the client is still sending: no turn is taken, no TLS
      // state is made, so a client that stops within it costs a socket and these bytes.
      if (!wholeFirstRecord(head)) return
      raw.off('readable', onReadable)
      // Put back for the engine; nothing more is read until it takes the socket.
      raw.unshift(head)
      const decision = this.gate.requestStart(raw, () => {
        cleanup()
        engine.emit('connection', raw)
      })
      if (decision === 'refused') {
        cleanup()
        this.refuse(raw, 'tls_handshake_rate', new TlsHandshakeRateError(peer, maxHandshakesPerSecond))
      }
    }
    raw.on('readable', onReadable)
    raw.once('end', onGone)
    raw.once('error', onGone)
  }

  /** Takes `raw` into the gate; false when it was refused (closed and counted). */
  private admit(raw: net.Socket): boolean {
    const max = this.options.config.maxPendingHandshakes
    const admission = this.gate.admit(raw)
    if (admission.kind === 'full') {
      this.refuse(raw, 'tls_handshakes_full', new TlsHandshakesFullError(max))
      return false
    }
    if (admission.kind === 'evict') {
      const { socket, pendingMs } = admission
      const victimPeer = this.peers.get(socket) ?? '?'
      this.refuse(socket, 'tls_handshake_evicted', new TlsHandshakeEvictedError(victimPeer, max, pendingMs))
    }
    return true
  }

  private refuse(raw: net.Socket, reason: string, err: SidecarError): void {
    this.refused.add(raw)
    this.options.refusals.refuse(raw, reason, err, this.options.log, 'tls handshakes')
  }

  private secured(socket: tls.TLSSocket, onSocket: (socket: net.Socket, client?: AcceptedClient) => void): void {
    const c = this.options.config
    const parent = parentOf(socket)
    if (parent !== undefined) this.gate.done(parent)
    const peer = this.peerOf(socket)
    let client: AcceptedClient = {}
    let identity: ReturnType<typeof certificateIdentity> | undefined
    let source: string | undefined
    if (c.ca !== undefined) {
      const cert = socket.getPeerCertificate()
      const present = cert !== null && cert !== undefined && Object.keys(cert).length > 0
      if (!present) {
        if (c.requireClientCert) {
          this.reject(socket, new NoClientCertificateError(peer))
          return
        }
      } else if (!socket.authorized) {
        const reason = String(socket.authorizationError ?? 'unknown')
        this.reject(socket, verificationError(reason, peer, describeName(cert.subject), cert.valid_to))
        return
      } else {
        identity = certificateIdentity(cert)
        const mapped = this.mapper.map(identity)
        if (mapped === undefined) this.options.report(new NoPrincipalError(peer, identity.subject, c.principal.from))
        else {
          client = { principal: mapped.principal }
          source = mapped.source
        }
      }
    }
    this.options.log.debug(
      {
        peer,
        principal: client.principal,
        from: source,
        subject: identity?.subject,
        protocol: socket.getProtocol(),
        cipher: socket.getCipher()?.name,
        servername: socket.servername || undefined,
      },
      'TLS handshake done',
    )
    allowReset(socket)
    onSocket(socket, client)
  }

  private failed(err: Error & { code?: string }, socket: tls.TLSSocket): void {
    const parent = parentOf(socket)
    if (parent !== undefined) {
      this.gate.done(parent)
      // Closed by the gate to make room: counted as that refusal, not as a failure of the client's.
      if (this.refused.has(parent)) {
        socket.destroy()
        return
      }
    }
    const peer = this.peerOf(socket)
    const authorizationError = socket.authorizationError as unknown as string | null | undefined
    let reported: SidecarError
    if (err.code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') reported = new NoClientCertificateError(peer)
    else if (authorizationError) reported = verificationError(String(authorizationError), peer, undefined, undefined)
    else if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT')
      reported = new TlsHandshakeTimeoutError(peer, this.options.config.handshakeTimeoutMs)
    else reported = new TlsHandshakeError(peer, describeHandshakeFailure(err, this.options.config), err)
    this.reject(socket, reported)
  }

  private reject(socket: tls.TLSSocket, err: SidecarError): void {
    this.options.report(err)
    socket.destroy()
  }

  private peerOf(socket: tls.TLSSocket): string {
    const parent = parentOf(socket)
    const known = parent === undefined ? undefined : this.peers.get(parent)
    return known ?? formatHostPort({ host: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 })
  }
}

/**
 * Whether `head` holds the whole first TLS record: type (1 byte), version (2), length (2), then `length` bytes (RFC
 * 8446 section 5.1). A length over the protocol's maximum (2^14 + 2048, RFC 5246 section 6.2.3) is OpenSSL's to
 * refuse: handed over as soon as the header is in.
 */
function wholeFirstRecord(head: Buffer): boolean {
  if (head.length < 5) return false
  const length = head.readUInt16BE(3)
  return length > MAX_TLS_RECORD_FRAGMENT || head.length >= 5 + length
}

/**
 * Makes `front` close every new connection as it is accepted (or stop doing so). net.Server closes a new handle
 * without making a socket when it holds maxConnections already (lib/net.js onconnection, which then emits 'drop');
 * 1 is the lowest limit that means the same on Node 20 (where 0 means none) and on later Node lines. A front
 * holding no connection at all still takes one in, which the gate then refuses the usual way.
 */
function closeAtAccept(front: net.Server, close: boolean): void {
  front.maxConnections = close ? 1 : (undefined as unknown as number)
}

/** The raw socket a TLS socket wraps (lib/_tls_wrap.js sets _parent for a wrapped net.Socket). */
function parentOf(socket: tls.TLSSocket): net.Socket | undefined {
  return (socket as unknown as { _parent?: net.Socket })._parent
}

/** A client certificate that did not verify, by OpenSSL's X509_V_ERR name (as Node reports it). */
function verificationError(
  reason: string,
  peer: string,
  subject: string | undefined,
  validTo: string | undefined,
): SidecarError {
  switch (reason) {
    case 'CERT_HAS_EXPIRED':
      return new ClientCertificateExpiredError(peer, subject, validTo)
    case 'CERT_NOT_YET_VALID':
      return new ClientCertificateNotYetValidError(peer, subject)
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'CERT_UNTRUSTED':
      return new UnknownClientCaError(peer, subject, reason)
    default:
      return new ClientCertificateRejectedError(peer, subject, reason)
  }
}

export function describeHandshakeFailure(err: Error & { code?: string }, config: ListenTlsConfig): string {
  switch (tlsAlertCode(err.code)) {
    case 'ERR_SSL_NO_SHARED_CIPHER':
      return 'no cipher in common with the client (listen.tls.ciphers)'
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
    case 'ERR_SSL_NO_PROTOCOLS_AVAILABLE':
    case 'ERR_SSL_VERSION_TOO_LOW':
      return `the client offers only TLS versions below listen.tls.minVersion (${config.minVersion})`
    case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA':
    case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE':
    case 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN':
      return `the client does not accept the sidecar's certificate (${err.code}): give the client the CA that issued listen.tls.cert, and make the certificate name the host the client connects to`
    case 'ECONNRESET':
      return "the client closed the connection during the handshake (often: it does not trust the sidecar's certificate or its host name; see the client's log)"
    default:
      return `${err.code ?? 'error'}: ${err.message.split('\n')[0]}`
  }
}

/** The bytes of a Kafka request: a positive size, then a known API key (KIP-482 headers keep these offsets). */
function looksLikeKafkaRequest(chunk: Buffer): boolean {
  return chunk.length >= 8 && chunk.readInt32BE(0) > 0 && API_DEFINITIONS[chunk.readInt16BE(4)] !== undefined
}

/**
 * net.Socket#resetAndDestroy() throws ERR_INVALID_HANDLE_TYPE on a TLS socket, whose handle is a TLSWrap rather than
 * a TCP handle (lib/net.js). The client connection resets clients whose broker is unreachable, as a dead broker
 * would: for TLS, reset the TCP connection underneath and drop the TLS state with it.
 */
function allowReset(socket: tls.TLSSocket): void {
  const parent = parentOf(socket)
  socket.resetAndDestroy = function (this: tls.TLSSocket) {
    if (parent !== undefined && !parent.destroyed) {
      try {
        parent.resetAndDestroy()
      } catch {
        // Already closing: destroying the TLS socket is enough.
      }
    }
    this.destroy()
    return this
  }
}
