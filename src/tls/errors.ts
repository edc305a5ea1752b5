import { SidecarError } from '../errors.js'

/**
 * TLS failures, each with its own stable code. Client-side rejections are reported through the sidecar's error path
 * (ConnectionObserver.error, logOncePerCause), so every rejection is counted and the first of each kind is logged.
 */

/** One problem with a TLS file: which one (`cert`, `key`, `ca`) and what is wrong with it. */
export interface TlsFileProblem {
  readonly key: 'cert' | 'key' | 'ca' | 'ciphers' | 'minVersion'
  readonly message: string
}

/** Certificate, key or CA files that cannot be used (unreadable, not PEM, key does not match, expired). */
export class TlsMaterialError extends SidecarError {
  readonly problems: readonly TlsFileProblem[]
  constructor(section: string, problems: readonly TlsFileProblem[]) {
    super('KSC_ERR_TLS_MATERIAL', `${section}: ${problems.map((p) => `${p.key}: ${p.message}`).join('; ')}`)
    this.problems = problems
  }
}

/** The listener wants a client certificate and the client sent none. */
export class NoClientCertificateError extends SidecarError {
  constructor(peer: string) {
    super(
      'KSC_ERR_TLS_NO_CLIENT_CERT',
      `client ${peer} sent no certificate, but this listener requires one (listen.tls.requireClientCert): configure the client's certificate and key (librdkafka ssl.certificate.location/ssl.key.location, Java ssl.keystore.*)`,
    )
  }
}

/** The client's certificate was not issued by the configured client CA (or its chain is incomplete). */
export class UnknownClientCaError extends SidecarError {
  constructor(peer: string, subject: string | undefined, reason: string) {
    super(
      'KSC_ERR_TLS_UNKNOWN_CA',
      `client ${peer} presented a certificate${subject ? ` (${subject})` : ''} that listen.tls.ca does not trust (${reason}): issue it from that CA, or add its issuer to the CA file`,
    )
  }
}

export class ClientCertificateExpiredError extends SidecarError {
  constructor(peer: string, subject: string | undefined, validTo: string | undefined) {
    const details = [subject, validTo === undefined ? undefined : `valid until ${validTo}`].filter(Boolean)
    super(
      'KSC_ERR_TLS_CERT_EXPIRED',
      `client ${peer} presented an expired certificate${details.length > 0 ? ` (${details.join(', ')})` : ''}: renew it`,
    )
  }
}

export class ClientCertificateNotYetValidError extends SidecarError {
  constructor(peer: string, subject: string | undefined) {
    super(
      'KSC_ERR_TLS_CERT_NOT_YET_VALID',
      `client ${peer} presented a certificate${subject ? ` (${subject})` : ''} that is not valid yet: check the clocks of the issuer and this host`,
    )
  }
}

/** Any other verification failure of a client certificate (revoked, wrong purpose, bad signature, ...). */
export class ClientCertificateRejectedError extends SidecarError {
  constructor(peer: string, subject: string | undefined, reason: string) {
    super(
      'KSC_ERR_TLS_CERT_REJECTED',
      `client ${peer} presented a certificate${subject ? ` (${subject})` : ''} that failed verification (${reason})`,
    )
  }
}

/** A plaintext client (a Kafka request, or anything that is not a TLS handshake) on a TLS listener. */
export class PlaintextOnTlsListenerError extends SidecarError {
  constructor(peer: string, kafka: boolean, firstBytes: Buffer) {
    super(
      'KSC_ERR_TLS_PLAINTEXT_ON_TLS',
      kafka
        ? `client ${peer} sent a plaintext Kafka request to a TLS listener: configure the client for TLS (librdkafka/Java security.protocol=SSL, kafkajs ssl: {...})`
        : `client ${peer} did not start a TLS handshake on a TLS listener (first bytes ${firstBytes.subarray(0, 8).toString('hex')}): configure the client for TLS`,
    )
  }
}

export class TlsHandshakeTimeoutError extends SidecarError {
  constructor(peer: string, timeoutMs: number) {
    super(
      'KSC_ERR_TLS_HANDSHAKE_TIMEOUT',
      `client ${peer} did not complete the TLS handshake within ${timeoutMs} ms (listen.tls.handshakeTimeoutMs)`,
    )
  }
}

/** Every other handshake failure: no common protocol version or cipher, the client distrusting us, a reset. */
export class TlsHandshakeError extends SidecarError {
  constructor(peer: string, why: string, cause?: unknown) {
    super('KSC_ERR_TLS_HANDSHAKE', `TLS handshake with client ${peer} failed: ${why}`, { cause })
  }
}

/** The client's certificate is trusted, but none of listen.tls.principal.from is in it: no principal. */
export class NoPrincipalError extends SidecarError {
  constructor(peer: string, subject: string | undefined, from: readonly string[]) {
    super(
      'KSC_ERR_TLS_NO_PRINCIPAL',
      `client ${peer} has a trusted certificate${subject ? ` (${subject})` : ''} without any of ${from.join(', ')} (listen.tls.principal.from): the connection has no principal`,
    )
  }
}

/** A new TLS connection refused at accept: listen.tls.maxPendingHandshakes are in progress, none stalled long enough. */
export class TlsHandshakesFullError extends SidecarError {
  constructor(max: number) {
    super(
      'KSC_ERR_TLS_HANDSHAKES_FULL',
      `${max} TLS handshakes are in progress (listen.tls.maxPendingHandshakes): new connections are closed at accept until some finish; a client opens many connections at once, or holds them mid-handshake`,
    )
  }
}

/** A connection that had not finished its handshake, closed to make room for a new one. */
export class TlsHandshakeEvictedError extends SidecarError {
  constructor(peer: string, max: number, pendingMs: number) {
    super(
      'KSC_ERR_TLS_HANDSHAKE_EVICTED',
      `client ${peer} had not finished its TLS handshake after ${Math.round(pendingMs)} ms and ${max} handshakes were in progress (listen.tls.maxPendingHandshakes): closed it to admit a new connection; something opens connections and stops mid-handshake`,
    )
  }
}

/** A TLS connection refused because handshakes arrive faster than listen.tls.maxHandshakesPerSecond. */
export class TlsHandshakeRateError extends SidecarError {
  constructor(peer: string, perSecond: number) {
    super(
      'KSC_ERR_TLS_HANDSHAKE_RATE',
      `client ${peer} was refused: TLS handshakes arrive faster than listen.tls.maxHandshakesPerSecond (${perSecond}) and a second's worth are already waiting; something opens connections in a loop, or the limit is too low for this many clients reconnecting at once`,
    )
  }
}
