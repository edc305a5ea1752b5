import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import net from 'node:net'
import { Worker } from 'node:worker_threads'
import type { Level, Logger } from 'pino'
import type { ListenTlsConfig } from '../../config/tls-sections.js'
import { SidecarError } from '../../errors.js'
import { logOncePerCause } from '../../logger.js'
import { workerEntry } from '../../runtime/worker-entry.js'
import type { BindableServer } from '../bind.js'
import type { ConnectionRefusals } from '../connection-refusals.js'
import type { AcceptedClient, ServerFactory } from '../listeners.js'
import type { SecureContextSource } from '../tls-listener.js'
import type { ErrorData, FromTlsThread, TlsThreadData, ToTlsThread } from './messages.js'
import { readRelayHeader } from './relay-header.js'

/**
 * TLS termination on a thread of its own (listen.tls.thread: worker). The TLS thread (tls-worker.ts) listens on the
 * client-facing ports, does the handshakes, the client-certificate checks and the record encryption, and relays
 * each established client as plaintext over a loopback connection to this thread's relay server, headed by the
 * listener, the client's address and its principal. Here the relayed socket goes to the listeners like any
 * accepted one, so limits, filters and statistics are unchanged.
 *
 * Why: a full handshake costs the server ~1-2 ms of CPU (an RSA signature, the client certificate's checks; bench/
 * handshake-cost.ts), and on one thread every one of them delays the records of every established client by as
 * much. Node cannot move a socket between threads, so the TLS thread keeps its clients' sockets and relays their
 * bytes: a loopback hop per direction, in exchange for handshakes and TLS records off the thread that runs filters.
 *
 * What crosses threads by message: listen and close requests, the certificate material (ReloadingTlsMaterial stays
 * here, so rotation, SIGHUP and the status work as before), the TLS thread's errors and refusals (counted and logged
 * here), its log lines, and its pending handshakes.
 */

/** How long a stopping TLS thread waits for its clients' connections to close (their last bytes to go out). */
export const TLS_THREAD_STOP_GRACE_MS = 2000

/** How long a connection to the relay port may take to send its header. */
const RELAY_HEADER_TIMEOUT_MS = 5000

export interface TlsThreadOptions {
  readonly config: ListenTlsConfig
  readonly contexts: SecureContextSource
  readonly log: Logger
  readonly report: (err: SidecarError) => void
  readonly refusals: ConnectionRefusals
}

/** An error from the TLS thread, with the class name, code and message it had there. */
export class TlsThreadReportedError extends SidecarError {
  constructor(data: ErrorData) {
    super(data.code, data.message)
    this.name = data.name
  }
}

export class TlsThreadFailedError extends SidecarError {
  constructor(err: Error) {
    super(
      'KSC_ERR_TLS_THREAD',
      `the TLS thread stopped (${err.message}): TLS listeners no longer accept; restart the sidecar`,
      { cause: err },
    )
  }
}

export class TlsThread {
  private readonly token = randomBytes(32).toString('hex')
  private readonly relay = net.createServer({ noDelay: true }, (socket) => this.relayed(socket))
  private worker: Worker | undefined
  private readonly listeners = new Map<number, RelayedListener>()
  private nextId = 1
  private pending = { sniffing: 0, queued: 0, handshaking: 0 }
  private closed = false
  private nextSync = 1
  private readonly syncs = new Map<number, () => void>()

  constructor(private readonly options: TlsThreadOptions) {
    options.contexts.onChange((contextOptions) => this.send({ t: 'context', options: contextOptions }))
  }

  /** Starts the relay server and the TLS thread; resolves once the thread is ready to listen. */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.relay.once('error', reject)
      this.relay.listen({ host: '127.0.0.1', port: 0 }, () => {
        this.relay.off('error', reject)
        resolve()
      })
    })
    const data: TlsThreadData = {
      config: this.options.config,
      contextOptions: this.options.contexts.contextOptions,
      relayPort: (this.relay.address() as net.AddressInfo).port,
      token: this.token,
    }
    const worker = new Worker(workerEntry(new URL('./tls-worker.js', import.meta.url)), {
      workerData: data,
      name: 'tls',
    })
    this.worker = worker
    worker.on('message', (m: FromTlsThread) => this.received(m))
    await new Promise<void>((resolve, reject) => {
      const onReady = (m: FromTlsThread) => {
        if (m.t !== 'ready') return
        worker.off('message', onReady)
        worker.off('error', reject)
        resolve()
      }
      worker.on('message', onReady)
      worker.once('error', reject)
    })
    worker.on('error', (err) => {
      if (this.closed) return
      const failed = new TlsThreadFailedError(err)
      logOncePerCause(this.options.log, failed.code, failed, { level: 'error' })
      for (const l of this.listeners.values()) l.failed(failed)
    })
    // The thread's timers are its own: it must not keep the process alive once the sidecar has closed.
    worker.unref()
  }

  /** Where the TLS thread hands established clients over (127.0.0.1, a port of the system's choosing). */
  get relayAddress(): net.AddressInfo | undefined {
    return (this.relay.address() as net.AddressInfo | null) ?? undefined
  }

  readonly serverFactory: ServerFactory = (onSocket) => {
    const id = this.nextId++
    const listener = new RelayedListener(id, onSocket, (m) => this.send(m))
    this.listeners.set(id, listener)
    listener.once('close', () => this.listeners.delete(id))
    return listener
  }

  /** Connections whose handshake has not finished, by phase, as the TLS thread last reported them. */
  pendingHandshakes(): { sniffing: number; queued: number; handshaking: number } {
    return this.pending
  }

  /**
   * Resolves once everything the TLS thread reported before now (errors, refusals, pending handshakes) has been
   * counted here: its reports cross threads, so a client may see its connection closed before the count moves.
   */
  sync(): Promise<void> {
    const id = this.nextSync++
    return new Promise((resolve) => {
      this.syncs.set(id, resolve)
      this.send({ t: 'sync', id })
    })
  }

  /**
   * Stops the TLS thread: for the end of a shutdown, once this thread has closed its side of every client. The
   * thread first gets up to `graceMs` to pass what it still holds on to its clients, encrypted, and close them.
   */
  async close(graceMs = TLS_THREAD_STOP_GRACE_MS): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.relay.close()
    const worker = this.worker
    if (worker !== undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs + 1000)
        const onStopped = (m: FromTlsThread) => {
          if (m.t !== 'stopped') return
          clearTimeout(timer)
          worker.off('message', onStopped)
          resolve()
        }
        worker.on('message', onStopped)
        worker.once('exit', resolve)
        this.send({ t: 'stop', graceMs })
      })
      await worker.terminate()
    }
    for (const resolve of this.syncs.values()) resolve()
    this.syncs.clear()
  }

  private send(message: ToTlsThread): void {
    this.worker?.postMessage(message)
  }

  private received(m: FromTlsThread): void {
    switch (m.t) {
      case 'listening':
      case 'listen-error':
      case 'closed':
        this.listeners.get(m.id)?.answer(m)
        return
      case 'report':
        this.options.report(new TlsThreadReportedError(m.error))
        return
      case 'refused':
        this.options.refusals.closedAtAccept(m.reason, new TlsThreadReportedError(m.error), this.options.log, m.key)
        return
      case 'pending':
        this.pending = { sniffing: m.sniffing, queued: m.queued, handshaking: m.handshaking }
        return
      case 'log':
        this.logLine(m.line)
        return
      case 'synced':
        this.syncs.get(m.id)?.()
        this.syncs.delete(m.id)
        return
    }
  }

  /** A pino line of the TLS thread's, written by this thread's logger at the level it had, if that is enabled. */
  private logLine(line: string): void {
    let record: { level?: number; msg?: string; [k: string]: unknown }
    try {
      record = JSON.parse(line) as typeof record
    } catch {
      return
    }
    const { level, msg, ...fields } = record
    const name = this.options.log.levels.labels[level ?? 30] as Level | undefined
    if (name === undefined || !this.options.log.isLevelEnabled(name)) return
    this.options.log[name]({ ...fields, thread: 'tls' }, msg ?? '')
  }

  /** A loopback connection from the TLS thread: its header says which listener's client it carries. */
  private relayed(socket: net.Socket): void {
    socket.on('error', () => {})
    let head = Buffer.alloc(0)
    // The TLS thread writes the header at once; anything else connected here gets a moment, not a held socket.
    const timer = setTimeout(() => socket.destroy(), RELAY_HEADER_TIMEOUT_MS)
    timer.unref()
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk])
      const read = readRelayHeader(head, this.token)
      if (read.kind === 'partial') return
      clearTimeout(timer)
      socket.off('data', onData)
      socket.pause()
      if (read.kind === 'invalid') {
        const err = new SidecarError(
          'KSC_ERR_TLS_RELAY_REFUSED',
          `a connection to the TLS thread's relay port from ${socket.remoteAddress}:${socket.remotePort} sent ${read.why}; closed (something on this host other than the sidecar connected to it)`,
        )
        logOncePerCause(this.options.log, err.code, err)
        socket.destroy()
        return
      }
      const { header, rest } = read
      const listener = this.listeners.get(header.listener)
      if (listener === undefined) {
        socket.destroy()
        return
      }
      if (rest.length > 0) socket.unshift(rest)
      socket.removeAllListeners('error')
      listener.accept(socket, {
        peer: header.peer,
        tls: true,
        // Read from the socket but not the client's: a relayed client that has sent nothing is still silent.
        relayHeaderBytes: head.length - rest.length,
        ...(header.principal !== undefined && { principal: header.principal }),
      })
      socket.resume()
    }
    socket.on('data', onData)
  }
}

/**
 * A client-facing listener whose socket the TLS thread holds, to the listeners what a net.Server is: listen() asks
 * the thread to bind (and fails as binding here would, with the same error), close() asks it to stop accepting.
 */
class RelayedListener extends EventEmitter implements BindableServer {
  private bound: net.AddressInfo | null = null
  private closing = false

  constructor(
    private readonly id: number,
    private readonly onSocket: (socket: net.Socket, client?: AcceptedClient) => void,
    private readonly send: (m: ToTlsThread) => void,
  ) {
    super()
  }

  get listening(): boolean {
    return this.bound !== null && !this.closing
  }

  listen(options: net.ListenOptions, listening: () => void): this {
    this.once('listening', listening)
    this.send({
      t: 'listen',
      id: this.id,
      host: options.host ?? '0.0.0.0',
      port: options.port ?? 0,
      reusePort: (options as { reusePort?: boolean }).reusePort === true,
    })
    return this
  }

  address(): net.AddressInfo | null {
    return this.bound
  }

  close(done?: (err?: Error) => void): this {
    if (done) this.once('close', () => done())
    if (!this.closing) {
      this.closing = true
      this.send({ t: 'close', id: this.id })
    }
    return this
  }

  /** The TLS thread's answer to listen() or close(). */
  answer(m: Extract<FromTlsThread, { id: number }>): void {
    if (m.t === 'listening') {
      this.bound = { address: m.address, family: m.family, port: m.port }
      this.emit('listening')
    } else if (m.t === 'listen-error') {
      // bind() wraps the cause in a ListenError naming the address, as for a net.Server.
      const cause = Object.assign(new Error(m.error.message), m.errno === undefined ? {} : { code: m.errno })
      this.emit('error', cause)
      this.emit('close')
    } else {
      this.bound = null
      this.emit('close')
    }
  }

  accept(socket: net.Socket, client: AcceptedClient): void {
    if (this.closing) {
      socket.destroy()
      return
    }
    this.onSocket(socket, client)
  }

  failed(err: SidecarError): void {
    if (this.bound === null) this.emit('error', err)
  }
}
