/**
 * SaslHandshake v0 (KIP-43): after the handshake the SASL tokens are exchanged as bare size-prefixed frames,
 * with no Kafka request or response header; v1 clients wrap them in SaslAuthenticate requests instead
 * (KIP-152), which need nothing special. To pass v0 through, the proxy counts the bare frames each side sends
 * for the mechanism chosen: PLAIN is one token and one (empty) answer (RFC 4616); SCRAM is client-first /
 * server-first, then client-final / server-final (RFC 5802 section 3); OAUTHBEARER one of each (RFC 7628).
 * For any other mechanism (GSSAPI's round count depends on Kerberos) the connection stays a raw byte pipe.
 */
export function saslOpaqueExchanges(mechanism: string): number {
  switch (mechanism.toUpperCase()) {
    case 'PLAIN':
    case 'OAUTHBEARER':
      return 1
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-512':
      return 2
    default:
      return Number.POSITIVE_INFINITY
  }
}

/**
 * The bare-token phase of one connection: armed by a SaslHandshake v0 request naming a mechanism, started when the
 * request goes to the broker (the client's tokens follow it), and confirmed by a successful handshake response
 * (the broker's tokens follow that). Each side's bare frames are counted down as they pass.
 */
export class SaslV0Framing {
  /** Bare frames still expected from the client, and from the broker. */
  private fromClient = 0
  private fromUpstream = 0
  /** Tokens each side will send, from the handshake request, until its response is seen. */
  private armed = 0

  /** True while any bare frame may still pass, or a handshake awaits its answer: no other request may interleave. */
  get active(): boolean {
    return this.fromClient > 0 || this.fromUpstream > 0 || this.armed > 0
  }

  /** The next client frame is a bare token (consumed by this call when true). */
  takeClientToken(): boolean {
    if (this.fromClient === 0) return false
    this.fromClient--
    return true
  }

  /** The next broker frame is a bare token (consumed by this call when true). */
  takeUpstreamToken(): boolean {
    if (this.fromUpstream === 0) return false
    this.fromUpstream--
    return true
  }

  /** Whether a client frame would be a bare token, without taking it (cut-through must not stream one). */
  get clientTokenNext(): boolean {
    return this.fromClient > 0
  }

  get upstreamTokenNext(): boolean {
    return this.fromUpstream > 0
  }

  /** A SaslHandshake v0 request naming `mechanism` was decoded. */
  handshakeRequested(mechanism: string): void {
    this.armed = saslOpaqueExchanges(mechanism)
  }

  /** The handshake went to the broker: the client's tokens come next. */
  handshakeSent(): void {
    if (this.armed > 0) this.fromClient = this.armed
  }

  /** The broker answered the v0 handshake (`head`: the frame's first 10 bytes; the error code is the first body field). */
  handshakeAnswered(head: Buffer): void {
    if (this.armed === 0) return
    if (head.length >= 10 && head.readInt16BE(8) === 0) this.fromUpstream = this.armed
    else this.fromClient = 0
    this.armed = 0
  }
}
