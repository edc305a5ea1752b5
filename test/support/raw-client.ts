import net from 'node:net'
import { FrameDecoder } from '../../codec/frame-decoder.js'
import { decodeResponse, encodeRequest } from '../../codec/messages/frames.js'

/**
 * A bare Kafka client built on our codec, for tests that need exact control over requests (timing, versions)
 * that real clients do not give. Real client behaviour is tested with real clients.
 */
export class RawKafkaClient {
  private nextCorrelationId = 1
  private readonly pending = new Map<
    number,
    { apiKey: number; apiVersion: number; resolve: (b: unknown) => void; reject: (e: Error) => void }
  >()
  private closedError: Error | undefined
  readonly closed: Promise<void>
  /** Correlation ids of the responses, in the order they arrived. */
  readonly arrivals: number[] = []

  private constructor(private readonly socket: net.Socket) {
    const decoder = new FrameDecoder()
    socket.on('data', (chunk: Buffer) =>
      decoder.push(chunk, (frame) => {
        const id = frame.readInt32BE(4)
        this.arrivals.push(id)
        const p = this.pending.get(id)
        if (!p) return
        this.pending.delete(id)
        try {
          p.resolve(decodeResponse(frame, p.apiKey, p.apiVersion, 4).body)
        } catch (err) {
          p.reject(err as Error)
        }
      }),
    )
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.closedError = new Error('connection closed')
        for (const p of this.pending.values()) p.reject(this.closedError)
        this.pending.clear()
        resolve()
      }),
    )
    socket.on('error', () => {})
  }

  static connect(address: string): Promise<RawKafkaClient> {
    const i = address.lastIndexOf(':')
    const socket = net.connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) })
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(new RawKafkaClient(socket)))
      socket.once('error', reject)
    })
  }

  /** Send every request in chunks of this many bytes, a tick apart (exercises frames split across reads). */
  dribble = 0
  private writes: Promise<void> = Promise.resolve()

  request<T = unknown>(apiKey: number, apiVersion: number, body: unknown, clientId = 'raw-test-client'): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError)
    const correlationId = this.nextCorrelationId++
    const frame = encodeRequest({ requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId }, body)
    return new Promise<T>((resolve, reject) => {
      this.pending.set(correlationId, { apiKey, apiVersion, resolve: resolve as (b: unknown) => void, reject })
      if (this.dribble <= 0) this.socket.write(frame)
      else this.writes = this.writes.then(() => this.writeDribbled(frame)) // one frame at a time, never interleaved
    })
  }

  private async writeDribbled(frame: Buffer): Promise<void> {
    for (let i = 0; i < frame.length; i += this.dribble) {
      this.socket.write(frame.subarray(i, i + this.dribble))
      await new Promise((r) => setTimeout(r, 1))
    }
  }

  close(): void {
    this.socket.destroy()
  }
}

/**
 * A plain socket to `address` whose incoming bytes are cut into whole frames (copies, size prefix included), for
 * tests that compare bytes exactly or control reading themselves (pause/resume the socket).
 */
export function connectFrameReader(
  address: string,
  maxFrameBytes?: number,
): Promise<{ socket: net.Socket; frames: Buffer[] }> {
  const i = address.lastIndexOf(':')
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) }, () => {
      const frames: Buffer[] = []
      const decoder = new FrameDecoder(maxFrameBytes)
      socket.on('data', (chunk: Buffer) => decoder.push(chunk, (f) => frames.push(Buffer.from(f))))
      resolve({ socket, frames })
    })
    socket.once('error', reject)
  })
}
