import net from 'node:net'
import { FrameDecoder } from '../../codec/frame-decoder.js'
import { peekRequestHeader } from '../../codec/header.js'
import { encodeResponse } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { ProduceResponse } from '../../codec/messages/generated/produce-response.js'
import { peekProduceAcks } from '../../codec/messages/peek.js'

/**
 * A stand-in broker for tests of what the sidecar forwards: a plain TCP server that records every frame it
 * receives, byte for byte, and answers Produce (acks != 0) with success at offset 7. Real brokers are in the
 * passthrough tests; this one shows exactly what arrived and when, and can stop reading to make the sidecar's
 * writes back up.
 */
export interface RecordingBroker {
  readonly address: string
  /** Bytes received so far, over all connections. */
  received(): number
  /** Whole frames received, as the bytes that arrived. */
  readonly frames: Buffer[]
  /** Stops (true) or resumes (false) reading on every connection: the sidecar's writes to it back up. */
  stall(stalled: boolean): void
  close(): Promise<void>
}

export async function startRecordingBroker(): Promise<RecordingBroker> {
  let bytes = 0
  const frames: Buffer[] = []
  const sockets = new Set<net.Socket>()
  let paused = false
  const server = net.createServer((socket) => {
    sockets.add(socket)
    if (paused) socket.pause()
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    const decoder = new FrameDecoder()
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      decoder.push(chunk, (frame) => {
        frames.push(Buffer.from(frame))
        const { apiKey, apiVersion, correlationId } = peekRequestHeader(frame, 4)
        // Only Produce is answered, and not with acks=0 (as a broker does); the sidecar's own metadata requests go
        // unanswered (not needed here).
        if (apiKey !== ApiKey.Produce || peekProduceAcks(frame, 4) === 0) return
        const body: ProduceResponse = {
          throttleTimeMs: 0,
          responses: [
            {
              name: 't',
              partitionResponses: [
                {
                  index: 0,
                  errorCode: 0,
                  baseOffset: 7n,
                  logAppendTimeMs: -1n,
                  logStartOffset: 0n,
                  recordErrors: [],
                  errorMessage: null,
                },
              ],
            },
          ],
        }
        socket.write(encodeResponse(ApiKey.Produce, apiVersion, { correlationId }, body))
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    received: () => bytes,
    frames,
    stall: (stalled) => {
      paused = stalled
      for (const s of sockets) stalled ? s.pause() : s.resume()
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
