import net from 'node:net'
import type tls from 'node:tls'
import { parentPort, workerData } from 'node:worker_threads'
import pino from 'pino'
import type { SidecarError } from '../../errors.js'
import { bind, type ListenError } from '../bind.js'
import type { AcceptedClient } from '../listeners.js'
import { type SecureContextSource, TlsTermination } from '../tls-listener.js'
import type { ErrorData, FromTlsThread, TlsThreadData, ToTlsThread } from './messages.js'
import { encodeRelayHeader } from './relay-header.js'

/**
 * The TLS thread (tls-thread.ts starts it): runs the client-facing TLS listeners, handshakes and record encryption
 * (TlsTermination, as on the main thread otherwise), and hands every established client to the main thread as
 * plaintext over a loopback connection of its own, headed by who the client is (relay-header.ts). So a handshake
 * flood's CPU (an RSA signature and more per handshake, the refusals) is spent beside the thread that moves
 * established clients' records instead of on it.
 */

const port = parentPort!
const data = workerData as TlsThreadData
const post = (message: FromTlsThread): void => port.postMessage(message)
const errorData = (err: SidecarError): ErrorData => ({ name: err.name, code: err.code, message: err.message })

/** Lines go to the main thread, whose logger (level, format, destination) writes them. Debug: it filters. */
const log = pino(
  { level: 'debug', base: undefined, timestamp: false },
  {
    write: (line: string) => post({ t: 'log', line }),
  },
)

class MessageContexts implements SecureContextSource {
  private readonly listeners: Array<(options: tls.SecureContextOptions) => void> = []
  constructor(public contextOptions: tls.SecureContextOptions) {}
  onChange(listener: (options: tls.SecureContextOptions) => void): void {
    this.listeners.push(listener)
  }
  set(options: tls.SecureContextOptions): void {
    this.contextOptions = options
    for (const l of this.listeners) l(options)
  }
}

const contexts = new MessageContexts(data.contextOptions)
const termination = new TlsTermination({
  config: data.config,
  contexts,
  log,
  report: (err) => post({ t: 'report', error: errorData(err) }),
  refusals: {
    // Counted before the client can see the close (TlsTermination reports its errors first too).
    refuse: (socket, reason, err, _log, key) => {
      post({ t: 'refused', reason, key, error: errorData(err) })
      socket.destroy()
    },
    closedAtAccept: (reason, err, _log, key) => post({ t: 'refused', reason, key, error: errorData(err) }),
  },
})

const fronts = new Map<number, net.Server>()
/** Established clients being relayed: a stop waits for them, so that their last bytes reach them encrypted. */
const relayed = new Set<net.Socket>()

/** Set by a stop: answers it once the last relayed client has closed. */
let stopped: (() => void) | undefined

function stop(graceMs: number): void {
  for (const front of fronts.values()) front.close()
  fronts.clear()
  termination.close()
  const timer = setTimeout(() => stopped?.(), graceMs)
  stopped = () => {
    stopped = undefined
    clearTimeout(timer)
    post({ t: 'stopped', open: relayed.size })
  }
  if (relayed.size === 0) stopped()
}

port.on('message', (message: ToTlsThread) => {
  switch (message.t) {
    case 'listen': {
      const front = termination.serverFactory((socket, client) => relay(message.id, socket, client)) as net.Server
      fronts.set(message.id, front)
      bind(front, { host: message.host, port: message.port }, { reusePort: message.reusePort }).then(
        (address) => {
          const a = front.address() as net.AddressInfo
          post({ t: 'listening', id: message.id, address: address.host, family: a.family, port: address.port })
        },
        (err: ListenError) => {
          fronts.delete(message.id)
          // The main thread's bind() words it (ListenError) from the cause, as for a listener of its own.
          const cause = (err.cause ?? err) as Error & { code?: string }
          post({
            t: 'listen-error',
            id: message.id,
            error: { name: cause.name, code: err.code, message: cause.message },
            ...(cause.code !== undefined && { errno: cause.code }),
          })
        },
      )
      return
    }
    case 'close': {
      const front = fronts.get(message.id)
      fronts.delete(message.id)
      front?.close()
      post({ t: 'closed', id: message.id })
      return
    }
    case 'context':
      contexts.set(message.options)
      return
    case 'stop':
      stop(message.graceMs)
      return
    case 'sync':
      postPending(true)
      post({ t: 'synced', id: message.id })
      return
  }
})

// The main thread reads the pending handshakes for its gauge and status: sent when they change, within 50 ms
// (twenty small messages a second at most, through a flood).
let lastPending = ''
const postPending = (always = false): void => {
  const c = termination.pendingHandshakes()
  const key = `${c.sniffing}/${c.queued}/${c.handshaking}`
  if (key === lastPending && !always) return
  lastPending = key
  post({ t: 'pending', ...c })
}
setInterval(postPending, 50).unref()

/**
 * Splices an established TLS client to a new loopback connection to the main thread: the header first, then both
 * directions piped with backpressure. A reset on either side resets the other (the main thread resets a client
 * whose broker is unreachable, as a dead broker would; a client's reset reaches the broker connection the same
 * way); an end is passed on as an end.
 */
function relay(listener: number, client: net.Socket, accepted: AcceptedClient | undefined): void {
  const tlsClient = client as tls.TLSSocket
  relayed.add(tlsClient)
  tlsClient.once('close', () => {
    relayed.delete(tlsClient)
    if (relayed.size === 0) stopped?.()
  })
  const peer = { address: client.remoteAddress ?? '?', port: client.remotePort ?? 0 }
  const toMain = net.connect({ host: '127.0.0.1', port: data.relayPort, noDelay: true })
  toMain.write(
    encodeRelayHeader({
      token: data.token,
      listener,
      peer,
      ...(accepted?.principal !== undefined && { principal: accepted.principal }),
    }),
  )
  tlsClient.pipe(toMain)
  toMain.pipe(tlsClient)
  const resetOrDestroy = (socket: net.Socket, err: Error & { code?: string }) => {
    if (err.code === 'ECONNRESET') socket.resetAndDestroy()
    else socket.destroy()
  }
  tlsClient.on('error', (err) => resetOrDestroy(toMain, err))
  toMain.on('error', (err) => resetOrDestroy(tlsClient, err))
  // Gone without an error: whatever the other side still has to write gets a second, as the main thread's close does.
  const follow = (gone: net.Socket, other: net.Socket) =>
    gone.once('close', () => {
      if (other.destroyed) return
      other.end()
      setTimeout(() => other.destroy(), 1000).unref()
    })
  follow(tlsClient, toMain)
  follow(toMain, tlsClient)
}

post({ t: 'ready' })
