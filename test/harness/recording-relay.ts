import { connect, createServer, type Server, type Socket } from 'node:net'
import { FrameDecoder } from '../../codec/frame-decoder.js'

/**
 * Which way bytes travelled through the relay: 'upstream' is client -> target (Kafka requests),
 * 'downstream' is target -> client (Kafka responses).
 */
export type RelayDirection = 'upstream' | 'downstream'

export interface RecordingRelayOptions {
  /** Where every accepted connection is relayed to. */
  target: { host: string; port: number }
  /** Address to listen on. Default 127.0.0.1. */
  host?: string
  /** Port to listen on. Default 0: a free port, read it from `port` once started. */
  port?: number
}

export interface RelayFrames {
  /** Whole frames in arrival order, each with its 4-byte size prefix (FrameDecoder's output). */
  frames: Buffer[]
  /** Bytes after the last whole frame: a frame cut off when the connection closed (0 normally). */
  incompleteBytes: number
}

/** One accepted client connection and everything that crossed it, both ways, byte for byte. */
export class RelayedConnection {
  /** 1-based, in accept order. */
  readonly id: number
  /** The client's ip:port as seen by the relay. */
  readonly clientAddress: string
  readonly openedAt = Date.now()
  #closedAt: number | undefined
  #error: string | undefined
  readonly #chunks: Record<RelayDirection, Buffer[]> = { upstream: [], downstream: [] }
  readonly #bytes: Record<RelayDirection, number> = { upstream: 0, downstream: 0 }

  constructor(id: number, clientAddress: string) {
    this.id = id
    this.clientAddress = clientAddress
  }

  /** True once both sockets are closed. */
  get closed(): boolean {
    return this.#closedAt !== undefined
  }

  get closedAt(): number | undefined {
    return this.#closedAt
  }

  /** The first socket error on either side (connect failures to the target included), if any. */
  get error(): string | undefined {
    return this.#error
  }

  /** The chunks as the sockets delivered them; their concatenation is exactly what was relayed. */
  chunks(direction: RelayDirection): readonly Buffer[] {
    return this.#chunks[direction]
  }

  bytes(direction: RelayDirection): number {
    return this.#bytes[direction]
  }

  /** The captured bytes re-cut into Kafka frames (size-prefixed), as a fresh FrameDecoder sees them. */
  frames(direction: RelayDirection): RelayFrames {
    const decoder = new FrameDecoder()
    const frames: Buffer[] = []
    for (const chunk of this.#chunks[direction]) decoder.push(chunk, (frame) => frames.push(frame))
    return { frames, incompleteBytes: decoder.buffered }
  }

  /** @internal */
  record(direction: RelayDirection, chunk: Buffer): void {
    this.#chunks[direction].push(chunk)
    this.#bytes[direction] += chunk.length
  }

  /** @internal */
  fail(message: string): void {
    this.#error ??= message
  }

  /** @internal */
  markClosed(): void {
    this.#closedAt ??= Date.now()
  }
}

/**
 * A TCP relay for tests: each accepted connection gets its own connection to the target, bytes are forwarded
 * unchanged in both directions (no parsing on the forwarding path, backpressure respected, half-close
 * propagated), and every chunk is kept so a test can inspect the exact traffic afterwards.
 *
 * To capture all of a Kafka client's traffic, not just its bootstrap connection, the broker must advertise the
 * relay's address (advertised.listeners), since clients connect to whatever Metadata tells them.
 */
export class RecordingRelay {
  readonly host: string
  readonly port: number
  readonly target: { host: string; port: number }
  readonly #server: Server
  readonly #connections: RelayedConnection[] = []
  readonly #sockets = new Set<Socket>()
  readonly #open = new Set<Promise<void>>()
  #closing: Promise<void> | undefined

  private constructor(server: Server, host: string, port: number, target: { host: string; port: number }) {
    this.#server = server
    this.host = host
    this.port = port
    this.target = { ...target }
  }

  static async start(options: RecordingRelayOptions): Promise<RecordingRelay> {
    const host = options.host ?? '127.0.0.1'
    // allowHalfOpen: a client that shuts down its sending side may still be owed responses.
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host, port: options.port ?? 0, exclusive: true }, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error(`cannot read the port bound on ${host}`)
    const relay = new RecordingRelay(server, host, address.port, options.target)
    server.on('connection', (client) => relay.#accept(client))
    return relay
  }

  /** host:port for clients (and for the broker's advertised.listeners). */
  get address(): string {
    return `${this.host}:${this.port}`
  }

  /** Every connection accepted so far, in accept order, open or closed. */
  get connections(): readonly RelayedConnection[] {
    return this.#connections
  }

  /** Resolves once every connection accepted so far has closed on both sides, or after `timeoutMs`. */
  async idle(timeoutMs = 10_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, false)
    })
    try {
      return await Promise.race([Promise.all([...this.#open]).then(() => true as const), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Stops accepting, destroys the connections still open and resolves when all sockets are gone. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
      for (const socket of this.#sockets) socket.destroy()
      await Promise.all([serverClosed, ...this.#open])
    })()
    return this.#closing
  }

  #accept(client: Socket): void {
    const connection = new RelayedConnection(
      this.#connections.length + 1,
      `${client.remoteAddress ?? '?'}:${client.remotePort ?? '?'}`,
    )
    this.#connections.push(connection)
    if (this.#closing) {
      connection.fail('relay closing')
      connection.markClosed()
      client.destroy()
      return
    }
    const upstream = connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true })
    this.#sockets.add(client)
    this.#sockets.add(upstream)
    client.setNoDelay(true)
    upstream.setNoDelay(true)

    const closed = (socket: Socket): Promise<void> =>
      new Promise((resolve) => {
        socket.once('close', () => {
          this.#sockets.delete(socket)
          resolve()
        })
      })
    const done = Promise.all([closed(client), closed(upstream)]).then(() => connection.markClosed())
    this.#open.add(done)
    done.then(() => this.#open.delete(done))

    const onError = (side: string) => (err: Error) => {
      connection.fail(`${side}: ${err.message}`)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', onError('client'))
    upstream.on('error', onError('target'))

    upstream.once('connect', () => {
      pump(client, upstream, (chunk) => connection.record('upstream', chunk))
      pump(upstream, client, (chunk) => connection.record('downstream', chunk))
      // Accepted paused (pauseOnConnect) so nothing the client sends early is read before the target is there.
      client.resume()
    })
  }
}

/**
 * Forwards `from` to `to` chunk by chunk, recording each chunk before writing it. Socket chunks are fresh
 * buffers that Node never reuses, so keeping references is safe and costs no copy.
 */
function pump(from: Socket, to: Socket, record: (chunk: Buffer) => void): void {
  from.on('data', (chunk: Buffer) => {
    record(chunk)
    if (!to.write(chunk)) {
      from.pause()
      to.once('drain', () => from.resume())
    }
  })
  from.once('end', () => to.end())
  // A side that closes without a FIN (reset, destroy) takes the other side with it, as a broker or client would.
  from.once('close', (hadError) => {
    if (hadError) to.destroy()
  })
}
