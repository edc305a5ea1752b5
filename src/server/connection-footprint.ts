import type net from 'node:net'
import type { TLSSocket } from 'node:tls'

/**
 * What an established client connection costs the sidecar's memory while it idles, by kind, as held against
 * limits.memoryBudgetBytes from accept to close (MemoryBudget.holdConnection). Estimates from measurements of the
 * whole process (RSS, BENCHMARKS.md), its broker connection included:
 * - TLS: 10,000 idle mTLS connections took the sidecar from 89 to 689 MB (60 KB each): OpenSSL's record buffers
 *   most of it, which Node keeps for the connection's life (it does not set SSL_MODE_RELEASE_BUFFERS).
 * - plain: 10 KiB without a broker connection, 15-18 KiB with one (900 and 5,000 idle connections).
 * Rounded up, so that the budget errs on the side of refusing.
 */
export const TLS_CONNECTION_BYTES = 64 * 1024
export const PLAIN_CONNECTION_BYTES = 16 * 1024

/**
 * The footprint of an accepted client socket: a TLS one once its handshake is done, or a plain one. `tls`: the
 * client's TLS is terminated elsewhere in this process (the TLS thread, whose state it holds); undefined: whether
 * the socket itself is a TLS socket.
 */
export function connectionFootprint(socket: net.Socket, tls?: boolean): number {
  const encrypted = tls ?? (socket as TLSSocket).encrypted === true
  return encrypted ? TLS_CONNECTION_BYTES : PLAIN_CONNECTION_BYTES
}
