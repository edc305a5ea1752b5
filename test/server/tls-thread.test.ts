import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import tls from 'node:tls'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ListenTlsConfig } from '../../src/config/tls-sections.js'
import type { SidecarError } from '../../src/errors.js'
import { bind, ListenError } from '../../src/server/bind.js'
import { ConnectionRefusals } from '../../src/server/connection-refusals.js'
import type { AcceptedClient } from '../../src/server/listeners.js'
import { encodeRelayHeader, MAX_RELAY_HEADER_BYTES, readRelayHeader } from '../../src/server/tls-thread/relay-header.js'
import { TlsThread } from '../../src/server/tls-thread/tls-thread.js'
import { waitFor } from '../harness/wait-for.js'
import { createCa, issue, type Pem, type TestCa } from '../support/openssl-pki.js'

/**
 * TLS on its own thread (listen.tls.thread: worker): the TLS thread terminates the client's TLS and relays it to
 * this thread over loopback. What the listeners and filters then see is covered by the TLS listener and client
 * tests, which run in both modes; here, the relay itself.
 */

/** Resolves when `socket` has closed, whatever errors came first (events.once would reject on an 'error'). */
const closedOf = (socket: net.Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()))

describe('relay header', () => {
  const token = 'a'.repeat(64)
  const header = { token, listener: 3, peer: { address: '10.0.0.7', port: 51234 }, principal: 'team-a/orders' }

  it('reads back what was written, with the bytes after it', () => {
    const bytes = Buffer.concat([encodeRelayHeader(header), Buffer.from('kafka')])
    const read = readRelayHeader(bytes, token)
    expect(read).toEqual({ kind: 'header', header, rest: Buffer.from('kafka') })
  })

  it('waits for the rest of a header cut anywhere', () => {
    const bytes = encodeRelayHeader(header)
    for (const cut of [0, 3, 4, bytes.length - 1]) {
      expect(readRelayHeader(bytes.subarray(0, cut), token)).toEqual({ kind: 'partial' })
    }
  })

  it('refuses a wrong token, a header that is not JSON, one without a peer, and one too long to be ours', () => {
    expect(readRelayHeader(encodeRelayHeader({ ...header, token: 'b'.repeat(64) }), token)).toEqual({
      kind: 'invalid',
      why: 'a wrong token',
    })
    const notJson = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{x}')])
    expect(readRelayHeader(notJson, token)).toMatchObject({ kind: 'invalid', why: 'a header that is not JSON' })
    const noPeer = Buffer.from(JSON.stringify({ token, listener: 1 }))
    const framed = Buffer.concat([Buffer.alloc(4), noPeer])
    framed.writeUInt32BE(noPeer.length, 0)
    expect(readRelayHeader(framed, token)).toMatchObject({ kind: 'invalid' })
    const long = Buffer.alloc(4)
    long.writeUInt32BE(MAX_RELAY_HEADER_BYTES + 1, 0)
    expect(readRelayHeader(long, token)).toMatchObject({ kind: 'invalid' })
  })
})

describe('the TLS thread', () => {
  let dir: string
  let ca: TestCa
  let server: Pem
  let client: Pem
  let thread: TlsThread | undefined
  const lines: Array<{ code?: string; msg: string }> = []
  const reported: SidecarError[] = []

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ksc-tls-thread-'))
    ca = createCa(join(dir, 'ca'), 'test-ca')
    server = issue(ca, { cn: 'sidecar', san: ['127.0.0.1', 'localhost'], usage: 'server' })
    client = issue(ca, { cn: 'orders' })
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  afterEach(async () => {
    await thread?.close()
    thread = undefined
    lines.length = 0
    reported.length = 0
  })

  const start = async () => {
    const config: ListenTlsConfig = {
      cert: server.cert,
      key: server.key,
      ca: ca.cert,
      requireClientCert: true,
      minVersion: 'TLSv1.2',
      handshakeTimeoutMs: 5000,
      maxHandshakesPerSecond: 50,
      maxPendingHandshakes: 256,
      thread: 'worker',
      principal: { from: ['cn'], rules: [] },
    }
    const log = pino(
      { level: 'debug' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(JSON.parse(String(chunk)))
          done()
        },
      }),
    )
    const t = new TlsThread({
      config,
      contexts: {
        contextOptions: { cert: readFileSync(server.cert), key: readFileSync(server.key), ca: readFileSync(ca.cert) },
        onChange: () => {},
      },
      log,
      report: (err) => reported.push(err),
      refusals: new ConnectionRefusals(),
    })
    thread = t
    await t.start()
    const accepted: Array<{ socket: net.Socket; client: AcceptedClient | undefined }> = []
    const listener = t.serverFactory((socket, c) => accepted.push({ socket, client: c }))
    const address = await bind(listener, { host: '127.0.0.1', port: 0 })
    return { t, listener, address, accepted }
  }
  const connect = (port: number) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(ca.cert),
      cert: readFileSync(client.cert),
      key: readFileSync(client.key),
    })
    socket.on('error', () => {})
    return socket
  }

  it('relays an mTLS client: its principal and address come with it, bytes flow both ways', async () => {
    const { address, accepted } = await start()
    const c = connect(address.port)
    await once(c, 'secureConnect')
    await waitFor('the relayed client', () => accepted.length === 1, { timeoutMs: 5000, intervalMs: 10 })
    const { socket, client: info } = accepted[0]!
    expect(info).toEqual({
      principal: 'orders',
      tls: true,
      peer: { address: '127.0.0.1', port: c.localPort },
      relayHeaderBytes: socket.bytesRead,
    })
    // A megabyte each way, checked byte for byte: the relay keeps order and loses nothing.
    const up = Buffer.alloc(1 << 20, 0x61)
    const down = Buffer.alloc(1 << 20, 0x62)
    const got: Buffer[] = []
    socket.on('data', (d: Buffer) => got.push(d))
    const back: Buffer[] = []
    c.on('data', (d: Buffer) => back.push(d))
    c.write(up)
    socket.write(down)
    await waitFor(
      'both megabytes through',
      () => Buffer.concat(got).length === up.length && Buffer.concat(back).length === down.length,
      {
        timeoutMs: 10_000,
        intervalMs: 20,
      },
    )
    expect(Buffer.concat(got).equals(up)).toBe(true)
    expect(Buffer.concat(back).equals(down)).toBe(true)
    // An end from this side reaches the client as an end.
    const ended = once(c, 'end')
    socket.end()
    await ended
  })

  it('a reset from this side resets the TLS client, as a dead broker would', async () => {
    const { address, accepted } = await start()
    const c = connect(address.port)
    await once(c, 'secureConnect')
    await waitFor('the relayed client', () => accepted.length === 1, { timeoutMs: 5000, intervalMs: 10 })
    const errors: Array<Error & { code?: string }> = []
    c.on('error', (err) => errors.push(err))
    const closed = closedOf(c)
    accepted[0]!.socket.resetAndDestroy()
    await closed
    expect(errors.map((e) => e.code)).toEqual(['ECONNRESET'])
  })

  it('a connection to the relay port that does not carry the token gives no client, and is logged', async () => {
    const { t, accepted } = await start()
    const forged = net.connect({ host: '127.0.0.1', port: t.relayAddress!.port })
    forged.on('error', () => {})
    forged.write(
      encodeRelayHeader({
        token: 'f'.repeat(64),
        listener: 1,
        peer: { address: '10.0.0.1', port: 1 },
        principal: 'admin',
      }),
    )
    await closedOf(forged)
    expect(accepted).toEqual([])
    const refused = lines.filter((l) => l.code === 'KSC_ERR_TLS_RELAY_REFUSED')
    expect(refused).toHaveLength(1)
    expect(refused[0]!.msg).toMatch(/sent a wrong token; closed/)
  })

  it('a connection to the relay port that sends nothing is closed within seconds', async () => {
    const { t } = await start()
    const silent = net.connect({ host: '127.0.0.1', port: t.relayAddress!.port })
    silent.on('error', () => {})
    const started = Date.now()
    await closedOf(silent)
    expect(Date.now() - started).toBeLessThan(7000)
  })

  it("a listener whose address is taken fails as the main thread's own would (KSC_ERR_LISTEN, address in use)", async () => {
    const taken = net.createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
    try {
      const { t } = await start()
      const second = t.serverFactory(() => {})
      const port = (taken.address() as net.AddressInfo).port
      const err = await bind(second, { host: '127.0.0.1', port }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ListenError)
      expect((err as ListenError).code).toBe('KSC_ERR_LISTEN')
      expect((err as ListenError).message).toBe(
        `cannot listen on 127.0.0.1:${port}: the address is already in use (another sidecar or service? choose another port; for a handover between two sidecars on one port, set listen.reusePort in both)`,
      )
    } finally {
      taken.close()
    }
  })

  it('a client the TLS thread refuses is reported on this thread; a closed listener accepts no more', async () => {
    const { t, listener, address } = await start()
    const plain = net.connect({ host: '127.0.0.1', port: address.port })
    plain.on('error', () => {})
    plain.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'))
    await closedOf(plain)
    await t.sync()
    expect(reported.map((e) => e.code)).toEqual(['KSC_ERR_TLS_PLAINTEXT_ON_TLS'])
    await new Promise<void>((resolve) => listener.close(() => resolve()))
    expect(listener.listening).toBe(false)
    const late = net.connect({ host: '127.0.0.1', port: address.port })
    const [err] = (await once(late, 'error')) as [Error & { code?: string }]
    expect(err.code).toBe('ECONNREFUSED')
  })
})
