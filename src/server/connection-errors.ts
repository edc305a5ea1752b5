import { SidecarError } from '../errors.js'

/**
 * A TLS record header for a handshake: content type 22, protocol major version 3 (SSL 3.0 / TLS 1.x), then a
 * ClientHello (handshake type 1) at byte 5 (RFC 8446 section 5.1, RFC 5246 section 6.2.1). As a Kafka size prefix
 * these bytes are 0x1603xxxx, far above any sane frame, so no Kafka client can start like this.
 */
export function looksLikeTlsClientHello(chunk: Buffer): boolean {
  return (
    chunk.length >= 3 &&
    chunk[0] === 0x16 &&
    chunk[1] === 0x03 &&
    chunk[2]! <= 0x04 &&
    (chunk.length < 6 || chunk[5] === 0x01)
  )
}

export class ConnectionBufferLimitError extends SidecarError {
  constructor(size: number, limit: number) {
    super(
      'KSC_ERR_CONNECTION_BUFFER_LIMIT',
      `a request of ${size} bytes would have to be held whole, more than one connection may hold (limits.maxBufferedBytesPerConnection = ${limit}); raise the limit if this client is legitimate`,
    )
  }
}

export class RequestAssemblyTimeoutError extends SidecarError {
  constructor(timeout: number) {
    super(
      'KSC_ERR_REQUEST_ASSEMBLY_TIMEOUT',
      `a request took longer than ${timeout} ms to arrive (limits.requestAssemblyTimeoutMs): the client sends too slowly or has stalled`,
    )
  }
}

export class TlsOnPlaintextListenerError extends SidecarError {
  constructor() {
    super(
      'KSC_ERR_TLS_ON_PLAINTEXT',
      'the client started a TLS handshake on a plaintext listener: configure the client for PLAINTEXT, or enable TLS on this listener',
    )
  }
}
