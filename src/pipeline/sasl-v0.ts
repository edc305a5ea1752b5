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
