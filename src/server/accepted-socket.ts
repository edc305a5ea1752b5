import net from 'node:net'
import { ReusedReadBuffer } from './reused-read-buffer.js'

/**
 * The TCP handle an accepted socket wraps, as far as adopting it needs: Node's TCPWrap. `useUserBuffer` is what
 * net.Socket calls for its `onread` option (lib/net.js initSocketHandle); `readStop` proves it is a stream handle.
 */
interface AdoptableHandle {
  useUserBuffer(buffer: Uint8Array): void
  readStop(): number
}

/** net.Socket's handle field: underscore-named, undocumented, but the one place the accepted handle lives. */
interface WithHandle {
  _handle: unknown
}

function isAdoptable(handle: unknown): handle is AdoptableHandle {
  const h = handle as Partial<AdoptableHandle> | null
  return typeof h?.useUserBuffer === 'function' && typeof h.readStop === 'function'
}

/**
 * An accepted client connection re-wrapped so that it reads into `reads` (net.Socket's `onread` option) instead
 * of a new 64 KiB buffer per read. net.Server has no `onread` option (lib/net.js onconnection builds the accepted
 * socket from `{ handle, allowHalfOpen, pauseOnCreate, readable, writable }` and, in newer releases, high water
 * marks), but the net.Socket constructor, the one place `onread` is accepted (nodejs/node#53792), takes an
 * existing handle together with `onread`: this hands it the accepted socket's handle. The server must be created with `pauseOnConnect: true`, so that Node has not
 * started reading into buffers of its own. The accepted socket, emptied of its handle, is destroyed: that only
 * settles the server's connection count (lib/net.js Socket._destroy decrements `server._connections` whether or not
 * a handle is left), so server.close() does not wait for sockets it no longer owns; the sidecar drains its
 * connections itself.
 *
 * Why it matters: on produce every byte arrives from the client, and those per-read buffers are what V8 reclaims
 * only with full mark-compacts once enough of them add up (external memory); measured with --trace-gc on the
 * sidecar under kafka-producer-perf-test, 88 mark-compacts in 4 rounds of 500 MB, each 20-50 ms of marking.
 *
 * Returns undefined when the socket is not a plain TCP socket with such a handle (a TLS socket, a future Node
 * that changed its internals): the caller then keeps the accepted socket and its 'data' events, which work the
 * same, only at a higher CPU cost.
 */
export function adoptWithReusedReads(accepted: net.Socket, reads: ReusedReadBuffer): net.Socket | undefined {
  const holder = accepted as unknown as WithHandle
  const handle = holder._handle
  if (!isAdoptable(handle) || accepted.destroyed) return undefined
  let adopted: net.Socket
  try {
    // `handle` is accepted by the constructor (lib/net.js) but not in @types/node's SocketConstructorOpts.
    const options = { handle, onread: reads.onread, readable: true, writable: true }
    adopted = new net.Socket(options as net.SocketConstructorOpts)
  } catch {
    return undefined
  }
  holder._handle = null
  accepted.destroy()
  return adopted
}

/**
 * A plain TCP server whose connections each read into a ReusedReadBuffer of `readBytes` (see adoptWithReusedReads),
 * falling back to ordinary sockets, and `reads` undefined, where adoption is not possible.
 */
export function reusedReadServer(
  readBytes: number,
  onSocket: (socket: net.Socket, reads: ReusedReadBuffer | undefined) => void,
): net.Server {
  return net.createServer({ noDelay: true, pauseOnConnect: true }, (accepted) => {
    const reads = new ReusedReadBuffer(readBytes)
    const adopted = adoptWithReusedReads(accepted, reads)
    if (adopted !== undefined) {
      onSocket(adopted, reads)
      return
    }
    // Not adoptable: read as usual. pauseOnConnect stopped the reading Node would have started; resume it.
    accepted.resume()
    onSocket(accepted, undefined)
  })
}
