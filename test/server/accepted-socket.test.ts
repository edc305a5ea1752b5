import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { adoptWithReusedReads, reusedReadServer } from '../../src/server/accepted-socket.js'
import { ReusedReadBuffer } from '../../src/server/reused-read-buffer.js'
import { waitFor } from '../harness/wait-for.js'

/**
 * Accepted client sockets re-wrapped to read into a reused buffer (src/server/accepted-socket.ts). This leans on
 * Node internals (the accepted socket's handle), so these tests pin down everything the sidecar relies on from
 * such a socket on the Node that runs them: reads land in the one buffer, writes, pause and resume, the peer's
 * address, 'end' and 'close', and a server that closes without waiting for sockets it handed over.
 */

interface Accepted {
  socket: net.Socket
  reads: ReusedReadBuffer | undefined
}

async function startServer(readBytes = 64): Promise<{ server: net.Server; port: number; accepted: Accepted[] }> {
  const accepted: Accepted[] = []
  const server = reusedReadServer(readBytes, (socket, reads) => accepted.push({ socket, reads }))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as net.AddressInfo).port, accepted }
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s))
    s.once('error', reject)
  })
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms))
const until = (what: string, done: () => boolean) => waitFor(what, done, { timeoutMs: 5_000, intervalMs: 5 })

describe('accepted sockets reading into a reused buffer', () => {
  const cleanup: (() => void)[] = []
  afterEach(() => {
    for (const c of cleanup.splice(0)) c()
  })

  it('reads every byte into the same buffer until the sink keeps one, then into another', async () => {
    const { server, port, accepted } = await startServer(64)
    cleanup.push(() => server.close())
    const client = await connect(port)
    cleanup.push(() => client.destroy())
    await until('the connection', () => accepted.length === 1)
    const { socket, reads } = accepted[0]!
    expect(reads).toBeDefined()
    const buffers = new Set<ArrayBufferLike>()
    const received: Buffer[] = []
    let keepNext = false
    reads!.attach((chunk) => {
      buffers.add(chunk.buffer)
      received.push(Buffer.from(chunk))
      const keep = keepNext
      keepNext = false
      return keep
    })
    // Reads are at most the buffer's size: 64 bytes each here.
    for (let i = 0; i < 5; i++) {
      client.write(Buffer.alloc(40, 0x61 + i))
      await until(`write ${i}`, () => Buffer.concat(received).length === 40 * (i + 1))
    }
    expect(buffers.size).toBe(1)
    keepNext = true
    client.write(Buffer.alloc(10, 0x7a))
    await until('the kept read', () => Buffer.concat(received).length === 210)
    client.write(Buffer.alloc(10, 0x79))
    await until('the read after it', () => Buffer.concat(received).length === 220)
    expect(buffers.size).toBe(2)
    const all = Buffer.concat(received)
    for (let i = 0; i < 5; i++) expect(all.subarray(40 * i, 40 * (i + 1)).every((b) => b === 0x61 + i)).toBe(true)
    expect(all.subarray(200, 210).every((b) => b === 0x7a)).toBe(true)
    // It is a working socket otherwise: the peer's address, writes, and no 'data' events.
    expect(socket.remoteAddress).toBe('127.0.0.1')
    expect(socket.remotePort).toBe(client.localPort)
    let dataEvents = 0
    socket.on('data', () => dataEvents++)
    const echoed = new Promise<Buffer>((resolve) => client.once('data', resolve))
    socket.write('pong')
    expect((await echoed).toString()).toBe('pong')
    client.write('more')
    await until('one more read', () => Buffer.concat(received).length === 224)
    expect(dataEvents).toBe(0)
  })

  it('stops reading while paused and delivers what waited on resume', async () => {
    const { server, port, accepted } = await startServer(1024)
    cleanup.push(() => server.close())
    const client = await connect(port)
    cleanup.push(() => client.destroy())
    await until('the connection', () => accepted.length === 1)
    const { socket, reads } = accepted[0]!
    let got = 0
    reads!.attach((chunk) => {
      got += chunk.length
      return false
    })
    socket.pause()
    client.write(Buffer.alloc(500))
    await delay(100)
    expect(got).toBe(0)
    socket.resume()
    await until('the waiting bytes', () => got === 500)
  })

  it("emits 'end' and 'close' when the client goes, and the server closes without waiting for it", async () => {
    const { server, port, accepted } = await startServer()
    const client = await connect(port)
    await until('the connection', () => accepted.length === 1)
    const { socket, reads } = accepted[0]!
    reads!.attach(() => false)
    const events: string[] = []
    socket.on('end', () => events.push('end'))
    socket.on('close', () => events.push('close'))
    // The server no longer counts the handed-over socket: close() calls back while it is still open.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    await closed
    expect(socket.destroyed).toBe(false)
    client.end()
    await until("'end' and 'close'", () => events.includes('close'))
    expect(events).toEqual(['end', 'close'])
  })

  it('is refused for a socket with no stream handle, which then keeps its own reads', () => {
    const unconnected = new net.Socket()
    expect(adoptWithReusedReads(unconnected, new ReusedReadBuffer(64))).toBeUndefined()
    unconnected.destroy()
  })
})
