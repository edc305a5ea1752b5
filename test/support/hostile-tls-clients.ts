import net from 'node:net'
import tls from 'node:tls'
import {
  flagOf,
  type HostileOutcome,
  HostileSocket,
  holdUnlessAllClosed,
  outcomeOf,
  sleep,
  splitAddress,
} from './hostile-clients.js'

/**
 * Clients that misbehave on a TLS listener (issue 21), shared by bench/hostile-tls.ts and the tests: handshake
 * floods (full handshakes, closed at once), idle connections that completed a handshake and stay silent, and
 * connections that stop in the middle of a handshake. Each reports, from the client's side, what the sidecar did.
 */

export interface TlsHostileOutcome extends HostileOutcome {
  /** Handshakes the client saw complete (secureConnect). */
  readonly handshakesCompleted: number
  /** Connections that ended before the client saw its handshake complete (an alert, a close, a reset). */
  readonly handshakesFailed: number
  /** How long each completed handshake took from the connect call, in ms. */
  readonly handshakeMs: readonly number[]
}

/** A TLS client connection that records when its handshake completed and whether the other side closed it. */
export class HostileTlsSocket {
  readonly socket: tls.TLSSocket
  readonly startedAt = Date.now()
  securedAt: number | undefined
  closedByPeerAt: number | undefined
  connectError: Error | undefined
  private tcpUp = false
  private ownClose = false
  /** Resolves when the handshake completed (true) or the connection ended first (false). */
  readonly secured: Promise<boolean>
  readonly closed: Promise<void>

  constructor(address: string, options: tls.ConnectionOptions) {
    const { host, port } = splitAddress(address)
    this.socket = tls.connect({ host, port, ...options })
    this.socket.once('connect', () => {
      this.tcpUp = true
    })
    this.secured = new Promise((resolve) => {
      this.socket.once('secureConnect', () => {
        this.securedAt = Date.now()
        resolve(true)
      })
      this.socket.once('close', () => resolve(false))
    })
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()))
    const peerClosed = (): void => {
      if (!this.ownClose && this.closedByPeerAt === undefined) this.closedByPeerAt = Date.now()
    }
    this.socket.on('data', () => {})
    this.socket.on('end', peerClosed)
    this.socket.on('error', (err) => {
      if (!this.tcpUp) this.connectError = err
      else peerClosed()
    })
    this.socket.on('close', () => {
      if (this.tcpUp) peerClosed()
    })
  }

  get open(): boolean {
    return this.closedByPeerAt === undefined && this.connectError === undefined && !this.socket.destroyed
  }

  destroy(): Promise<void> {
    if (!this.socket.destroyed) {
      this.ownClose = this.closedByPeerAt === undefined
      this.socket.destroy()
    }
    return this.closed
  }
}

/** Tallies TLS sockets once a pattern is done with them (before the survivors are destroyed). */
export function tlsOutcomeOf(sockets: readonly HostileTlsSocket[]): TlsHostileOutcome {
  const closed = sockets.filter((s) => s.closedByPeerAt !== undefined)
  const secured = sockets.filter((s) => s.securedAt !== undefined)
  return {
    attempted: sockets.length,
    closedBySidecar: closed.length,
    failedToConnect: sockets.filter((s) => s.connectError !== undefined).length,
    stillOpen: sockets.filter((s) => s.open).length,
    bytesWritten: sockets.reduce((n, s) => n + s.socket.bytesWritten, 0),
    closedAfterMs: closed.map((s) => s.closedByPeerAt! - s.startedAt),
    handshakesCompleted: secured.length,
    handshakesFailed: sockets.filter((s) => s.securedAt === undefined && s.connectError === undefined).length,
    handshakeMs: secured.map((s) => s.securedAt! - s.startedAt),
  }
}

export interface HandshakeFloodOptions {
  readonly address: string
  /** The client side of each handshake: CA, and a client certificate or none. */
  readonly tls: tls.ConnectionOptions
  /** New connections per second. */
  readonly perSecond: number
  readonly durationMs: number
  /**
   * How long a connection whose handshake completed waits for the sidecar to close it (a certificate the sidecar
   * verifies after the handshake and refuses) before the client closes it itself. Default 100 ms.
   */
  readonly lingerMs?: number
  /** Connections the flood keeps unfinished at most; it opens no more while this many are (default 500). */
  readonly maxInFlight?: number
  /** Ends the flood early. */
  readonly until?: Promise<unknown>
}

/**
 * Opens TLS connections at `perSecond` for `durationMs`, each a full handshake (no session resumption), closed
 * by the client `lingerMs` after it completes, or as soon as the sidecar ends it.
 */
export async function handshakeFlood(o: HandshakeFloodOptions): Promise<TlsHostileOutcome> {
  const sockets: HostileTlsSocket[] = []
  const lingerMs = o.lingerMs ?? 100
  const maxInFlight = o.maxInFlight ?? 500
  const tickMs = 20
  const started = Date.now()
  const stop = flagOf(o.until)
  const pending = new Set<Promise<void>>()
  let opened = 0
  while (Date.now() - started < o.durationMs && !stop.set) {
    const due = Math.floor(((Date.now() - started) / 1000) * o.perSecond)
    while (opened < due && pending.size < maxInFlight) {
      const s = new HostileTlsSocket(o.address, o.tls)
      sockets.push(s)
      opened++
      const done: Promise<void> = s.secured
        .then(async (ok) => {
          if (ok) await Promise.race([s.closed, sleep(lingerMs)])
          await s.destroy()
        })
        .finally(() => pending.delete(done))
      pending.add(done)
    }
    // Behind schedule because in-flight connections were at the cap: the missed ones are not made up.
    if (opened < due) opened = due
    await sleep(tickMs)
  }
  await Promise.all(pending)
  return tlsOutcomeOf(sockets)
}

export interface IdleTlsOptions {
  readonly address: string
  readonly tls: tls.ConnectionOptions
  /** Handshakes to complete: connections the sidecar refused are tried again until this many got through. */
  readonly connections: number
  readonly holdMs: number
  /** Handshakes started at a time. Default 100. */
  readonly batch?: number
  /** Gives up opening more after this long (default 10 minutes). */
  readonly openWithinMs?: number
  /** Called once `connections` handshakes have completed (or opening gave up), before the hold. */
  readonly onOpen?: () => void
  /** Ends the opening and the hold early. */
  readonly until?: Promise<unknown>
}

/**
 * Opens TLS connections that complete their handshake and then never send a byte, trying again for those the
 * sidecar refused, until `connections` handshakes have completed; holds what is still open, then closes it all.
 */
export async function idleTlsConnections(o: IdleTlsOptions): Promise<TlsHostileOutcome> {
  const sockets: HostileTlsSocket[] = []
  const batch = o.batch ?? 100
  const deadline = Date.now() + (o.openWithinMs ?? 600_000)
  const stop = flagOf(o.until)
  let completed = 0
  while (completed < o.connections && Date.now() < deadline && !stop.set) {
    const group = Array.from(
      { length: Math.min(batch, o.connections - completed) },
      () => new HostileTlsSocket(o.address, o.tls),
    )
    sockets.push(...group)
    const secured = await Promise.all(group.map((s) => s.secured))
    completed += secured.filter(Boolean).length
  }
  o.onOpen?.()
  await holdUnlessAllClosed(sockets, o.holdMs, o.until)
  const outcome = tlsOutcomeOf(sockets)
  await Promise.all(sockets.map((s) => s.destroy()))
  return outcome
}

export interface StalledHandshakeOptions {
  readonly address: string
  /** What each connection sends before it stops: a ClientHello, whole or in part (captureClientHello). */
  readonly bytes: Buffer
  /** Connections kept stalled at once: each one the sidecar closes is replaced by a new one until `until`. */
  readonly connections: number
  /** Connections opened at a time while filling up. Default 200. */
  readonly batch?: number
  /** Called once the first `connections` are open (or have failed). */
  readonly onOpen?: () => void
  readonly durationMs: number
  readonly until?: Promise<unknown>
}

/**
 * Clients that stop mid-handshake: each connection sends `bytes` (part of a ClientHello, or all of it) and then
 * nothing, neither finishing the handshake nor closing. The pattern keeps `connections` of them at once: when the
 * sidecar closes one (its handshake timeout), a new one takes its place.
 */
export async function stalledHandshakes(o: StalledHandshakeOptions): Promise<HostileOutcome> {
  const sockets: HostileSocket[] = []
  const stop = flagOf(o.until)
  const started = Date.now()
  const running = (): boolean => !stop.set && Date.now() - started < o.durationMs
  const replacements = new Set<Promise<void>>()
  const open = (): HostileSocket => {
    const s = new HostileSocket(o.address)
    sockets.push(s)
    void s.connected.then((up) => {
      if (up) void s.write(o.bytes)
    })
    // Replaced when the sidecar (not this pattern) closes it.
    const replaced: Promise<void> = s.closed
      .then(async () => {
        if (s.closedByPeerAt === undefined && s.connectError === undefined) return
        // One refused, or closed within a second, is replaced after a second, as a client backing off would: the
        // pattern is clients stalled mid-handshake, not a connection flood (handshakeFlood is that).
        if (s.connectError !== undefined || Date.now() - s.startedAt < 1000) await sleep(1000)
        if (running()) open()
      })
      .finally(() => replacements.delete(replaced))
    replacements.add(replaced)
    return s
  }
  const batch = o.batch ?? 200
  for (let i = 0; i < o.connections && running(); i += batch) {
    const group = Array.from({ length: Math.min(batch, o.connections - i) }, open)
    await Promise.all(group.map((s) => s.connected))
  }
  o.onOpen?.()
  while (running()) await sleep(100)
  const outcome = outcomeOf(sockets)
  await Promise.all(sockets.map((s) => s.destroy()))
  await Promise.all(replacements)
  return outcome
}

/**
 * The first handshake record a Node TLS client sends with `options` (its ClientHello): caught by a TCP server on
 * 127.0.0.1 that reads one whole TLS record and closes.
 */
export async function captureClientHello(options: tls.ConnectionOptions = {}): Promise<Buffer> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  try {
    const hello = new Promise<Buffer>((resolve, reject) => {
      server.once('connection', (s) => {
        let got = Buffer.alloc(0)
        s.on('data', (d: Buffer) => {
          got = Buffer.concat([got, d])
          // A TLS record: type (1), version (2), length (2), then the fragment (RFC 8446 section 5.1).
          if (got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) {
            s.destroy()
            resolve(got.subarray(0, 5 + got.readUInt16BE(3)))
          }
        })
        s.on('error', reject)
      })
    })
    const client = tls.connect({ ...options, host: '127.0.0.1', port, rejectUnauthorized: false })
    client.on('error', () => {})
    const record = await hello
    client.destroy()
    return record
  } finally {
    server.close()
  }
}
