import type net from 'node:net'
import type { HostPort } from '../config/host-port.js'
import { ReusedReadBuffer, UPSTREAM_READ_BUFFER_BYTES } from './reused-read-buffer.js'
import type { UpstreamConnector } from './upstream-connector.js'

/** A broker connection made for a client connection, with the buffer it reads into (plain TCP) if any. */
export interface DialedUpstream {
  readonly socket: net.Socket
  readonly target: HostPort
  /** Plain connections read into one reused buffer (ReusedReadBuffer); TLS ones emit 'data'. */
  readonly reads: ReusedReadBuffer | undefined
}

/**
 * Connects to the broker a client connection stands for, trying each candidate address in turn (a bootstrap
 * connection: every bootstrap server, starting from a different one per connection; a node's listener: that node).
 * Resolves with the first that answers; rejects with the last failure when none does. `cancelled` is asked after each
 * attempt: a client that went away meanwhile gets no broker connection (one that was made is closed again).
 */
export async function dialUpstream(
  connector: UpstreamConnector,
  candidates: () => Promise<readonly HostPort[]>,
  cancelled: () => boolean,
): Promise<DialedUpstream | undefined> {
  let lastError: unknown = new Error('no upstream broker address is known for this listener')
  for (const target of await candidates()) {
    if (cancelled()) return undefined
    try {
      const reads = connector.usesTls ? undefined : new ReusedReadBuffer(UPSTREAM_READ_BUFFER_BYTES)
      const socket = await connector.connect(target, reads?.onread)
      if (cancelled()) {
        socket.destroy()
        return undefined
      }
      return { socket, target, reads }
    } catch (err) {
      lastError = err
    }
  }
  throw lastError
}
