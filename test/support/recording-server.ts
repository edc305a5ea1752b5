import net from 'node:net'
import type { ServerFactory } from '../../src/server/listeners.js'

/**
 * A ServerFactory for the in-process test sidecar that records every byte the sidecar writes to its clients,
 * on every listener (bootstrap and per node), so a test can scan all of it for leaked broker addresses.
 */
export function recordingServerFactory(): { factory: ServerFactory; sent: Buffer[] } {
  const sent: Buffer[] = []
  const factory: ServerFactory = (onSocket) =>
    net.createServer({ noDelay: true }, (socket) => {
      const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean
      socket.write = ((chunk: unknown, ...rest: unknown[]) => {
        if (Buffer.isBuffer(chunk)) sent.push(Buffer.from(chunk))
        return write(chunk, ...rest)
      }) as typeof socket.write
      onSocket(socket)
    })
  return { factory, sent }
}
