import { timingSafeEqual } from 'node:crypto'

/**
 * What the TLS thread tells the main thread about a client it relays, ahead of the client's bytes on the loopback
 * connection that carries them: a 4-byte big-endian length, then this as JSON.
 */
export interface RelayHeader {
  /** Proves the connection comes from the TLS thread: the relay port is on loopback, where any process of the pod
   *  could connect to it and claim a principal. 32 random bytes, hex, made by the main thread for this process. */
  readonly token: string
  /** Which listener accepted the client (the id the main thread gave it). */
  readonly listener: number
  readonly peer: { readonly address: string; readonly port: number }
  /** From the client certificate; absent without one or without a match. */
  readonly principal?: string
}

/** A header longer than this is not one the TLS thread wrote. */
export const MAX_RELAY_HEADER_BYTES = 16 * 1024

export function encodeRelayHeader(header: RelayHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const out = Buffer.allocUnsafe(4 + json.length)
  out.writeUInt32BE(json.length, 0)
  json.copy(out, 4)
  return out
}

export type RelayHeaderRead =
  | { readonly kind: 'partial' }
  | { readonly kind: 'header'; readonly header: RelayHeader; readonly rest: Buffer }
  | { readonly kind: 'invalid'; readonly why: string }

/** Reads a header from the bytes received so far; `token` is the one the connection must carry. */
export function readRelayHeader(bytes: Buffer, token: string): RelayHeaderRead {
  if (bytes.length < 4) return { kind: 'partial' }
  const length = bytes.readUInt32BE(0)
  if (length > MAX_RELAY_HEADER_BYTES) return { kind: 'invalid', why: `a header of ${length} bytes` }
  if (bytes.length < 4 + length) return { kind: 'partial' }
  let parsed: Partial<RelayHeader>
  try {
    parsed = JSON.parse(bytes.subarray(4, 4 + length).toString('utf8')) as Partial<RelayHeader>
  } catch {
    return { kind: 'invalid', why: 'a header that is not JSON' }
  }
  if (typeof parsed.token !== 'string' || !sameToken(parsed.token, token))
    return { kind: 'invalid', why: 'a wrong token' }
  if (typeof parsed.listener !== 'number' || typeof parsed.peer?.address !== 'string') {
    return { kind: 'invalid', why: 'a header without listener or peer' }
  }
  return { kind: 'header', header: parsed as RelayHeader, rest: bytes.subarray(4 + length) }
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
