import { randomBytes } from 'node:crypto'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { RecordingRelay } from './recording-relay.js'

/** A target that answers every frame with the same frame reversed, and ends when the client ends. */
async function reversingTarget(): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    let pending = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = pending.readInt32BE(0)
        const payload = Buffer.from(pending.subarray(4, 4 + size)).reverse()
        const frame = Buffer.alloc(4 + size)
        frame.writeInt32BE(size)
        payload.copy(frame, 4)
        // Two writes per frame: the relay must not care where chunks are cut.
        socket.write(frame.subarray(0, 3))
        socket.write(frame.subarray(3))
        pending = pending.subarray(4 + size)
      }
    })
    socket.on('end', () => socket.end())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as { port: number }).port }
}

function frame(payload: Buffer): Buffer {
  const out = Buffer.alloc(4 + payload.length)
  out.writeInt32BE(payload.length)
  payload.copy(out, 4)
  return out
}

let cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
})

describe('RecordingRelay', () => {
  it('relays bytes unchanged both ways, records them per connection and re-cuts them into frames', async () => {
    const target = await reversingTarget()
    cleanup.push(() => new Promise((resolve) => target.server.close(() => resolve())))
    const relay = await RecordingRelay.start({ target: { host: '127.0.0.1', port: target.port } })
    cleanup.push(() => relay.close())

    const frames = [frame(randomBytes(1)), frame(randomBytes(70_000)), frame(Buffer.alloc(0)), frame(randomBytes(9))]
    const sent = Buffer.concat(frames)
    const client: Socket = connect({ host: relay.host, port: relay.port })
    const received: Buffer[] = []
    client.on('data', (chunk: Buffer) => received.push(chunk))
    await new Promise<void>((resolve) => client.once('connect', resolve))
    // Cut the request stream at awkward places: inside a size prefix, inside a payload.
    let from = 0
    for (const cut of [2, 9, 40_000, sent.length]) {
      client.write(sent.subarray(from, cut))
      from = cut
    }
    client.end()
    await new Promise<void>((resolve) => client.once('close', () => resolve()))
    expect(await relay.idle(5_000)).toBe(true)

    const expected = Buffer.concat(frames.map((f) => frame(Buffer.from(f.subarray(4)).reverse())))
    expect(Buffer.concat(received).equals(expected)).toBe(true)
    expect(relay.connections).toHaveLength(1)
    const [connection] = relay.connections
    expect(connection!.closed).toBe(true)
    expect(connection!.error).toBeUndefined()
    expect(Buffer.concat(connection!.chunks('upstream')).equals(sent)).toBe(true)
    expect(Buffer.concat(connection!.chunks('downstream')).equals(expected)).toBe(true)
    const upstream = connection!.frames('upstream')
    expect(upstream.incompleteBytes).toBe(0)
    expect(upstream.frames.map((f) => f.toString('hex'))).toEqual(frames.map((f) => f.toString('hex')))
    expect(connection!.frames('downstream').frames).toHaveLength(frames.length)
  })

  it('reports a cut-off frame, records a target that refuses, and close() ends open connections', async () => {
    const target = await reversingTarget()
    cleanup.push(() => new Promise((resolve) => target.server.close(() => resolve())))
    const relay = await RecordingRelay.start({ target: { host: '127.0.0.1', port: target.port } })

    const client = connect({ host: relay.host, port: relay.port })
    client.on('error', () => {})
    await new Promise<void>((resolve) => client.once('connect', resolve))
    // Half a frame, then the relay shuts down under it.
    client.write(frame(randomBytes(10)).subarray(0, 8))
    while (relay.connections[0]?.bytes('upstream') !== 8) await new Promise((resolve) => setTimeout(resolve, 5))
    const closedByRelay = new Promise<void>((resolve) => client.once('close', () => resolve()))
    await relay.close()
    await closedByRelay
    expect(relay.connections[0]!.closed).toBe(true)
    expect(relay.connections[0]!.frames('upstream')).toEqual({ frames: [], incompleteBytes: 8 })

    // Nothing listens on the target port any more: the client is disconnected and the error recorded.
    await new Promise<void>((resolve) => target.server.close(() => resolve()))
    cleanup = []
    const refused = await RecordingRelay.start({ target: { host: '127.0.0.1', port: target.port } })
    cleanup.push(() => refused.close())
    const lonely = connect({ host: refused.host, port: refused.port })
    lonely.on('error', () => {})
    await new Promise<void>((resolve) => lonely.once('close', () => resolve()))
    expect(await refused.idle(5_000)).toBe(true)
    expect(refused.connections[0]!.error).toMatch(/^target: .*ECONNREFUSED/)
  })
})
